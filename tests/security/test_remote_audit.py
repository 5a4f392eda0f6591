"""A remote auditor with no credentials checks the log over HTTP, trusting none of our code.

Everything is fetched from the real app on a real socket (/checkpoint, /tile/…, GraphQL
`ledger { checkpoint inclusionProof consistencyProof }`) and checked with RFC 6962 / RFC 9162
written out below with hashlib alone (and the note's Ed25519 signature with `cryptography`),
not with ledger.integrity. Each check is also shown to fail when one hash is flipped.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from jixiao.app import create_app
from ledger.integrity.checkpoint import init_key_file
from ledger.integrity.service import checkpoint_now, checkpoints, load_key
from ledger.sample.loader import load_sample
from ledger.store import Database
from tests.browser.conftest import ServerThread
from tests.e2e.conftest import bearer, issue_token
from tests.security.conftest import Served, assert_public_annex_intact
from tests.security.ledger_edits import mutate

ORIGIN = "jixiao.test/remote-audit"
PROOFS = """query($position: Int!, $old: Int!) { ledger {
    checkpoint { size root note }
    old: checkpoint(size: $old) { size root note }
    inclusionProof(position: $position) { position leafIndex leafHash treeSize root hashes
                                          checkpoint }
    consistencyProof(from: $old) { fromSize toSize fromRoot toRoot hashes } } }"""


# ------------------------------------------------- RFC 6962 / RFC 9162, written from the RFCs


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(entry: bytes) -> bytes:
    return sha256(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def split(n: int) -> int:
    """The largest power of two smaller than n (RFC 6962 §2.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of leaf hashes (RFC 6962 §2.1)."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 6962 §2.1.1): the audit path, leaf to root."""
    if len(leaves) <= 1:
        return []
    k = split(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def inclusion_holds(index: int, size: int, leaf: bytes, proof: list[bytes],
                    root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def consistency_holds(first: int, second: int, first_root: bytes, second_root: bytes,
                      proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2 (0 < first < second)."""
    if not 0 < first < second or not proof:
        return False
    if first & (first - 1) == 0:  # an exact power of two: the old root starts the path
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def flipped(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x01]) + value[1:]


# ----------------------------------------------------- C2SP signed note and tlog-tiles


@dataclass(frozen=True)
class Note:
    origin: str
    size: int
    root: bytes


def open_note(text: str, key: str) -> Note:
    """Check the note's Ed25519 signature by `key` (name+hexid+base64(0x01||key)); parse it."""
    name, key_id, blob = key.strip().split("+", 2)
    raw = base64.b64decode(blob)
    assert raw[0] == 1 and len(raw) == 33
    assert sha256(name.encode() + b"\n" + raw)[:4].hex() == key_id
    body, _, signatures = text.rpartition("\n\n")
    body += "\n"
    for line in signatures.splitlines():
        signer, _, signature = line.removeprefix("\u2014 ").partition(" ")
        sig = base64.b64decode(signature)
        if signer == name and sig[:4].hex() == key_id:
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[4:], body.encode())
            origin, size, root, *_ = body.splitlines()
            return Note(origin, int(size), base64.b64decode(root))
    raise AssertionError("the note carries no signature by the published key")


def tile_path(level: int | str, index: int, width: int = 256) -> str:
    groups = f"{index:03d}" if index < 1000 else None
    assert groups is not None  # the sample's log is small: one group
    return f"/tile/{level}/{groups}" + ("" if width == 256 else f".p/{width}")


def fetch_leaves(url: str, size: int) -> list[bytes]:
    """Every leaf hash of the tree of `size` from its level-0 tiles (full, then partial)."""
    leaves: list[bytes] = []
    for index in range(size // 256 + (1 if size % 256 else 0)):
        width = min(256, size - index * 256)
        got = httpx.get(url + tile_path(0, index, width), timeout=30)
        assert got.status_code == 200, got.text
        assert len(got.content) == 32 * width
        leaves += [got.content[i:i + 32] for i in range(0, len(got.content), 32)]
    return leaves


def entries_of(bundle: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(bundle):
        length = int.from_bytes(bundle[at:at + 2], "big")
        out.append(bundle[at + 2:at + 2 + length])
        at += 2 + length
    assert at == len(bundle)
    return out


# --------------------------------------------------------------------------------- the test


@pytest.fixture
def audited(database: Database, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The published sample, signed by a key the app holds from the start, served."""
    key_path = tmp_path / "keys" / "signing.key"
    key_path.parent.mkdir()
    init_key_file(key_path, ORIGIN)
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key_path))
    monkeypatch.setenv("JIXIAO_ORIGIN", ORIGIN)
    app = create_app(database, rate_limit=None)
    load_sample(app.state.services.ledger, publish=True)
    with ServerThread(app) as url:
        yield Served(url=url, app=app, db=database, bureau=bearer(issue_token(database)))


def test_an_anonymous_auditor_verifies_the_log_over_http_with_its_own_code(
        audited: Served) -> None:
    url, db = audited.url, audited.db
    # Signed so far: only the checkpoint the sample's disclosures cite (every disclosure
    # cites one once a key is configured), just before them.
    [cited] = checkpoints(db)
    assert httpx.get(url + "/checkpoint", timeout=30).text == cited.note
    assert cited.size < int(audited.ledger.recorder.max_notification_id() or 0)
    old = checkpoint_now(db, audited.ledger, load_key(db))
    mutate(audited, "registerUnit", {"code": "XS-AUDIT-1", "name": "审计测试单位",
                                     "kind": "DEPARTMENT"}, audited.bureau)
    assert httpx.get(url + tile_path(0, 1, old.size - 256 + 1), timeout=30).status_code == 404
    new = checkpoint_now(db, audited.ledger, load_key(db))
    assert new.size > old.size > 256
    key = httpx.get(url + "/portal/public.key", timeout=30).text

    # The checkpoint: a C2SP signed note that verifies with the published key.
    got = httpx.get(url + "/checkpoint", timeout=30)
    assert got.status_code == 200 and "immutable" not in got.headers["cache-control"]
    note = open_note(got.text, key)
    assert (note.origin, note.size) == (ORIGIN, new.size)
    with pytest.raises(InvalidSignature):
        open_note(got.text.replace(base64.b64encode(note.root).decode(),
                                   base64.b64encode(flipped(note.root)).decode()), key)

    # The hash tiles, anonymously: they rebuild the signed root, and only a flip breaks it.
    leaves = fetch_leaves(url, note.size)
    assert mth(leaves) == note.root
    assert mth([flipped(leaves[7]), *leaves[1:]]) != note.root
    level1 = httpx.get(url + tile_path(1, 0, 1), timeout=30)
    assert level1.status_code == 200 and level1.content == mth(leaves[:256])
    full = httpx.get(url + tile_path(0, 0), timeout=30)
    assert "immutable" in full.headers["cache-control"]
    partial = httpx.get(url + tile_path(0, 1, note.size - 256), timeout=30)
    assert "immutable" not in partial.headers["cache-control"]
    beyond = httpx.get(url + tile_path(0, 1, note.size - 256 + 1), timeout=30)
    assert beyond.status_code == 404  # not covered by a signed checkpoint
    for bad in ("/tile/0/0", "/tile/00/000", "/tile/0/000.p/0", "/tile/0/000.p/256",
                "/tile/0/x000/000"):
        assert httpx.get(url + bad, timeout=30).status_code == 404, bad

    # The old checkpoint's root, from the partial tile of its width (what a tile client does).
    body = audited.graphql(PROOFS, {"position": 100, "old": old.size}).json()
    assert "errors" not in body, body
    answer = body["data"]["ledger"]
    old_note = open_note(answer["old"]["note"], key)
    assert mth(leaves[:old_note.size]) == old_note.root

    # Inclusion: the GraphQL proof is RFC 6962's PATH over the tiles, and it verifies.
    proof = answer["inclusionProof"]
    index, leaf = proof["leafIndex"], base64.b64decode(proof["leafHash"])
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    assert open_note(proof["checkpoint"], key) == note and proof["treeSize"] == note.size
    assert leaves[index] == leaf and hashes == path(index, leaves)
    assert inclusion_holds(index, note.size, leaf, hashes, note.root)
    assert not inclusion_holds(index, note.size, flipped(leaf), hashes, note.root)
    assert not inclusion_holds(index, note.size, leaf, [hashes[0], flipped(hashes[1]),
                                                        *hashes[2:]], note.root)

    # Consistency between the two signed checkpoints.
    consistency = answer["consistencyProof"]
    assert (consistency["fromSize"], consistency["toSize"]) == (old_note.size, note.size)
    hashes = [base64.b64decode(h) for h in consistency["hashes"]]
    assert consistency_holds(old_note.size, note.size, old_note.root, note.root, hashes)
    assert not consistency_holds(old_note.size, note.size, old_note.root, note.root,
                                 [*hashes[:-1], flipped(hashes[-1])])
    assert not consistency_holds(old_note.size, note.size, flipped(old_note.root), note.root,
                                 hashes)

    # Entry bundles hold every event: auditors' tokens only; their entries hash to the leaves.
    assert httpx.get(url + "/tile/entries/000", timeout=30).status_code == 403
    bundle = httpx.get(url + "/tile/entries/000", headers=audited.bureau, timeout=30)
    assert bundle.status_code == 200 and "private" in bundle.headers["cache-control"]
    assert [leaf_hash(e) for e in entries_of(bundle.content)] == leaves[:256]
    assert_public_annex_intact(url)
