"""C2SP tlog checkpoints in C2SP signed notes, and sumdb-style note keys."""

from __future__ import annotations

import base64
import datetime as dt
import stat
from pathlib import Path

import pytest

from ledger.integrity.checkpoint import (
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    init_key_file,
    load_signer,
    open_note,
    sign_note,
    verify_note,
)
from ledger.integrity.merkle import EMPTY_ROOT, leaf_hash

# Known keys and signed note from golang.org/x/mod/sumdb/note (BSD-3-Clause):
# note_test.go TestNewSigner / TestSign / TestOpen and the package documentation.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VERIFIER = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
    "otpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWL"
    "ox33WWd1RvMc+QQ=\n"
)
# Example checkpoint body from C2SP tlog-checkpoint.md.
C2SP_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

ORIGIN = "jixiao.example/xiangshan/2022"
ROOT = leaf_hash("相山区".encode())
MADE_AT = dt.datetime(2022, 9, 30, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


@pytest.fixture(scope="module")
def checkpoint() -> Checkpoint:
    return Checkpoint.create(ORIGIN, 1234, ROOT, position=98765, made_at=MADE_AT)


# ------------------------------------------------------------ Go interoperability


def test_go_signer_and_verifier_keys() -> None:
    signer = NoteSigner.from_text(GO_SIGNER)
    assert signer.name == "PeterNeumann"
    assert signer.key_id == 0xC74F20A3
    assert signer.text() == GO_SIGNER
    assert signer.verifier().text() == GO_VERIFIER
    assert NoteVerifier.from_text(GO_VERIFIER) == signer.verifier()
    assert NoteVerifier.from_text(GO_VERIFIER).text() == GO_VERIFIER


def test_go_known_signed_note_is_reproduced_and_verified() -> None:
    signer = NoteSigner.from_text(GO_SIGNER)
    assert sign_note(GO_TEXT, signer) == GO_TEXT + "\n" + PETER_SIG
    peter = NoteVerifier.from_text(GO_VERIFIER)
    enoch = NoteVerifier.from_text(ENOCH_VERIFIER)
    both = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert verify_note(both, peter) == GO_TEXT  # Enoch's signature is ignored
    assert verify_note(both, enoch) == GO_TEXT
    broken = GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError, match="invalid signature"):
        verify_note(broken, peter)


@pytest.mark.parametrize("key", [GO_VERIFIER, GO_SIGNER])
def test_mangled_keys_are_rejected(key: str) -> None:
    parse = NoteVerifier.from_text if key == GO_VERIFIER else NoteSigner.from_text
    for i in range(len(key)):
        for j in range(i + 1, len(key) + 1):
            if (i, j) != (0, len(key)):
                with pytest.raises(NoteError):
                    parse(key[i:j])
        bumped = key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :]
        with pytest.raises(NoteError):
            parse(bumped)


def test_other_key_forms_rejected() -> None:
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # algorithm
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        GO_SIGNER,  # a private key is not a verifier key
    ]:
        with pytest.raises(NoteError):
            NoteVerifier.from_text(bad)
    with pytest.raises(NoteError):
        NoteSigner.from_text(GO_VERIFIER)


# ------------------------------------------------------------------- checkpoints


def test_checkpoint_body_format(checkpoint: Checkpoint) -> None:
    root64 = base64.b64encode(ROOT).decode()
    assert checkpoint.body() == (
        f"{ORIGIN}\n1234\n{root64}\nposition 98765\ntime 2022-09-30T10:00:00Z\n"
    )
    assert checkpoint.last_position == 98765
    assert checkpoint.made_at == MADE_AT
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


def test_c2sp_example_body_round_trips() -> None:
    cp = Checkpoint.parse(C2SP_BODY)
    assert (cp.origin, cp.size, cp.extensions) == ("example.com/behind-the-sofa", 20852163, ())
    assert cp.body() == C2SP_BODY
    assert cp.last_position is None and cp.made_at is None


def test_empty_tree_checkpoint_and_microsecond_time() -> None:
    at = dt.datetime(2024, 2, 29, 23, 59, 59, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    cp = Checkpoint.create(ORIGIN, 0, EMPTY_ROOT, made_at=at)
    assert cp.body().split("\n")[1] == "0"
    assert cp.extensions == ("time 2024-02-29T15:59:59.000005Z",)
    assert Checkpoint.parse(cp.body()).made_at == at


@pytest.mark.parametrize(
    "body",
    [
        "",
        "origin\n1\n",
        f"origin\n1\n{base64.b64encode(ROOT).decode()}",  # no final newline
        f"\n1\n{base64.b64encode(ROOT).decode()}\n",  # empty origin
        f"origin\n01\n{base64.b64encode(ROOT).decode()}\n",  # leading zero
        f"origin\n-1\n{base64.b64encode(ROOT).decode()}\n",
        f"origin\n+1\n{base64.b64encode(ROOT).decode()}\n",
        f"origin\n 1\n{base64.b64encode(ROOT).decode()}\n",
        f"origin\n1\n{base64.b64encode(ROOT[:31]).decode()}\n",  # short root
        f"origin\n1\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",  # unpadded
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",  # non-canonical bits
        f"origin\n1\n{base64.b64encode(ROOT).decode()}\n\n",  # empty extension line
    ],
)
def test_malformed_checkpoint_bodies_rejected(body: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(body)


def test_checkpoint_field_validation() -> None:
    for args in [
        ("", 1, ROOT),
        ("a\nb", 1, ROOT),
        (ORIGIN, -1, ROOT),
        (ORIGIN, True, ROOT),
        (ORIGIN, 1, ROOT[:31]),
    ]:
        with pytest.raises(NoteError):
            Checkpoint(*args)
    with pytest.raises(NoteError):
        Checkpoint(ORIGIN, 1, ROOT, ("",))
    with pytest.raises(NoteError):
        Checkpoint(ORIGIN, 1, ROOT, ("two\nlines",))
    with pytest.raises(NoteError):
        Checkpoint.create(ORIGIN, 1, ROOT, made_at=dt.datetime(2022, 1, 1))  # naive


@pytest.mark.parametrize(
    "extensions",
    [
        ("position 1", "position 2"),
        ("position 01",),
        ("position -1",),
        ("time 2022-09-30T10:00:00",),
        ("time 2022-09-30 10:00:00Z",),
        ("time 2022-02-30T10:00:00Z",),
        ("time 2022-09-30T10:00:00.1234567Z",),
        ("time ٢٠٢٢-09-30T10:00:00Z",),  # non-ASCII digits
    ],
)
def test_bad_extension_values_rejected(extensions: tuple[str, ...]) -> None:
    cp = Checkpoint(ORIGIN, 1, ROOT, extensions)
    with pytest.raises(NoteError):
        _ = (cp.last_position, cp.made_at)


# -------------------------------------------------------------------- signed notes


def test_sign_and_open_round_trip(signer: NoteSigner, checkpoint: Checkpoint) -> None:
    note = sign_note(checkpoint.body(), signer)
    assert note.startswith(checkpoint.body() + "\n— " + ORIGIN + " ")
    assert note.endswith("\n")
    raw = base64.b64decode(note.rsplit(" ", 1)[1])
    assert len(raw) == 4 + 64 and int.from_bytes(raw[:4], "big") == signer.key_id
    verifier = NoteVerifier.from_text(signer.verifier().text())
    assert open_note(note, verifier) == checkpoint
    assert open_note(note, verifier, origin=ORIGIN) == checkpoint
    with pytest.raises(NoteError, match="origin"):
        open_note(note, verifier, origin="jixiao.example/other")


def test_tampered_body_fails(signer: NoteSigner, checkpoint: Checkpoint) -> None:
    note = sign_note(checkpoint.body(), signer)
    root64 = base64.b64encode(ROOT).decode()
    for tampered in [
        note.replace("\n1234\n", "\n1235\n", 1),
        note.replace(root64, base64.b64encode(EMPTY_ROOT).decode(), 1),
        note.replace("position 98765", "position 98764", 1),
        note.replace("time 2022-09-30T10:00:00Z\n", "", 1),  # dropped extension line
        note.replace("time 2022-09-30T10:00:00Z\n", "time 2022-09-30T10:00:00Z\nx\n", 1),
    ]:
        assert tampered != note
        with pytest.raises(NoteError, match="invalid signature"):
            open_note(tampered, signer.verifier())


def test_tampered_signature_fails(signer: NoteSigner, checkpoint: Checkpoint) -> None:
    note = sign_note(checkpoint.body(), signer)
    head, blob = note[:-1].rsplit(" ", 1)
    raw = base64.b64decode(blob)
    for i in range(4, len(raw)):
        bad = raw[:i] + bytes([raw[i] ^ 0x40]) + raw[i + 1 :]
        with pytest.raises(NoteError, match="invalid signature"):
            open_note(f"{head} {base64.b64encode(bad).decode()}\n", signer.verifier())
    truncated = base64.b64encode(raw[:-1]).decode()
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(f"{head} {truncated}\n", signer.verifier())


def test_unknown_keys_and_names_fail(signer: NoteSigner, checkpoint: Checkpoint) -> None:
    note = sign_note(checkpoint.body(), signer)
    other = NoteSigner.generate(ORIGIN)  # same name, different key (and key id)
    with pytest.raises(NoteError, match="not signed by"):
        open_note(note, other.verifier())
    renamed = note.replace("— " + ORIGIN, "— jixiao.example/impostor", 1)
    with pytest.raises(NoteError, match="not signed by"):
        open_note(renamed, signer.verifier())
    # an extra signature by an unknown key is ignored; a bad one by ours is not
    cosigned = note + sign_note(checkpoint.body(), other).split("\n\n")[-1]
    assert open_note(cosigned, signer.verifier()) == checkpoint
    forged_id = NoteVerifier(ORIGIN, other.verifier().public_key)
    assert forged_id.key_id != signer.key_id


def test_key_id_collision_still_needs_valid_signature(
    signer: NoteSigner, checkpoint: Checkpoint
) -> None:
    # A signature line carrying our name and key id but made by another key.
    other = NoteSigner.generate(ORIGIN)
    sig = other.sign(checkpoint.body().encode())
    blob = base64.b64encode(signer.key_id.to_bytes(4, "big") + sig).decode()
    forged = f"{checkpoint.body()}\n— {ORIGIN} {blob}\n"
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(forged, signer.verifier())


def test_malformed_notes_rejected(signer: NoteSigner, checkpoint: Checkpoint) -> None:
    note = sign_note(checkpoint.body(), signer)
    body, sig_line = note.split("\n\n")
    for bad in [
        body,  # no signatures
        body + "\n",
        body + "\n\n",
        note[:-1],  # signature block without final newline
        "\x01" + note,  # control character
        note.replace("\n", "\r\n"),
        body + "\n\n" + sig_line.replace("— ", "- ", 1),  # not an em dash
        body + "\n\n" + sig_line.replace(" ", "  ", 1),
        body + "\n\n" + sig_line[:-1] + "!\n",  # bad base64
        body + "\n\n" + sig_line + "Unexpected line.\n",
        body + "\n\n" + sig_line * 101,  # too many signatures
        body + "\n\n" + "— " + ORIGIN + " AAAA\n",  # too short
        body + "\n\n" + sig_line + "\n",  # trailing blank line
    ]:
        with pytest.raises(NoteError):
            open_note(bad, signer.verifier())


def test_sign_note_requires_final_newline(signer: NoteSigner) -> None:
    with pytest.raises(NoteError):
        sign_note("origin\n1\nroot", signer)
    with pytest.raises(NoteError):
        sign_note("origin\x07\n", signer)


def test_open_note_on_non_checkpoint_fails() -> None:
    with pytest.raises(NoteError):
        open_note(GO_TEXT + "\n" + PETER_SIG, NoteVerifier.from_text(GO_VERIFIER))


# ------------------------------------------------------------------------ key files


def test_init_key_file_creates_private_file(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    verifier = init_key_file(path, ORIGIN)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith(f"PRIVATE+KEY+{ORIGIN}+{verifier.key_id:08x}+")
    assert text.endswith("\n") and text.count("\n") == 1
    signer = load_signer(path)
    assert signer.verifier() == verifier
    assert verifier.text().startswith(f"{ORIGIN}+{verifier.key_id:08x}+")
    note = sign_note(Checkpoint(ORIGIN, 0, EMPTY_ROOT).body(), signer)
    assert open_note(note, NoteVerifier.from_text(verifier.text())).size == 0


def test_init_key_file_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    init_key_file(path, ORIGIN)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        init_key_file(path, ORIGIN)
    assert path.read_bytes() == before
    other = tmp_path / "other.key"
    other.write_text("precious\n")
    with pytest.raises(FileExistsError):
        init_key_file(other, ORIGIN)
    assert other.read_text() == "precious\n"


def test_load_signer_reads_go_key_file(tmp_path: Path) -> None:
    path = tmp_path / "go.key"
    path.write_text(GO_SIGNER + "\n")
    assert load_signer(path).verifier().text() == GO_VERIFIER


def test_invalid_key_names_refused(tmp_path: Path) -> None:
    for name in ["", "has space", "plus+sign", "tab\tname", "nb\u00a0sp", "bell\x07"]:
        with pytest.raises(NoteError):
            init_key_file(tmp_path / "x.key", name)
        assert not (tmp_path / "x.key").exists()


def test_signer_repr_hides_secret() -> None:
    signer = NoteSigner.from_text(GO_SIGNER)
    seed64 = GO_SIGNER.rsplit("+", 1)[1]
    assert seed64 not in repr(signer) and "c74f20a3" in repr(signer)
