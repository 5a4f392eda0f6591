"""The auditor's bundle: everything needed to check the log offline, and nothing to trust.

Layout of the directory written by `export_bundle`:

* ``events.jsonl`` — one canonical record (RFC 8785 JSON) per line, in position order:
  exactly the bytes whose RFC 6962 leaf hashes make the tree;
* ``leaf-hashes.txt`` — the sealed leaf hash of each line, hex, line for line; only used to
  name the first edited line once the signed roots vouch for these hashes;
* ``checkpoints/<size>.note`` — every signed checkpoint up to the exported one;
* ``public.key`` — the verifier key (compare it with one obtained independently);
* ``README.txt`` — how to verify.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.integrity.checkpoint import NoteVerifier
from ledger.integrity.merkle import leaf_hash
from ledger.integrity.sealer import record_bytes
from ledger.integrity.service import CheckpointInfo, checkpoints, get_checkpoint
from ledger.store import Database, fetchall

EVENTS_FILE = "events.jsonl"
LEAVES_FILE = "leaf-hashes.txt"
CHECKPOINT_DIR = "checkpoints"
PUBLIC_KEY_FILE = "public.key"
README = """Jixiao audit bundle
===================

events.jsonl      one canonical (RFC 8785) event record per line, in global position order;
                  leaf hash = SHA-256(0x00 || line without its newline) (RFC 6962)
leaf-hashes.txt   the sealed leaf hash (hex) of each line, to locate an edited line
checkpoints/      C2SP signed-note checkpoints (origin, tree size, base64 root, position, time)
public.key        the log's Ed25519 verifier key (note format); obtain it independently too

Verify offline:   jixiao audit verify THIS_DIR --key KEY_TEXT_OR_FILE [--known OLD.note]
                  (no database needed; --known: a checkpoint you saw before)
"""


class ExportError(RuntimeError):
    """The store no longer matches its sealed log, or there is nothing to export."""


@dataclass(frozen=True)
class BundleInfo:
    path: Path
    events: int
    checkpoints: int
    checkpoint: CheckpointInfo


def checkpoint_file(size: int) -> str:
    return f"{size:012d}.note"


def _leaves(db: Database, conn: Any, size: int, chunk: int = 20_000) -> Iterator[
        tuple[int, bytes]]:
    for start in range(0, size, chunk):
        rows = fetchall(db, conn, "SELECT position, leaf_hash FROM integrity_leaves WHERE "
                        "leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index",
                        (start, min(size, start + chunk)))
        for position, digest in rows:
            yield int(position), bytes(digest)


def export_bundle(db: Database, ledger: Ledger, out: Path, verifier: NoteVerifier,
                  until: int | None = None) -> BundleInfo:
    """Write the bundle for the checkpoint of tree size `until` (default: the latest).

    Every record is re-derived from the event store and checked against its sealed leaf, so
    a store changed behind the log is refused here rather than shipped to an auditor.
    """
    target = get_checkpoint(db, until)
    out = Path(out)
    (out / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
    if any((out / CHECKPOINT_DIR).iterdir()) or (out / EVENTS_FILE).exists():
        raise ExportError(f"{out} already holds a bundle; export into an empty directory")
    conn = db.connect()
    written = 0
    try:
        leaves = _leaves(db, conn, target.size)
        with open(out / EVENTS_FILE, "wb") as events, open(out / LEAVES_FILE, "w") as hashes:
            start = 1
            while written < target.size:
                notes = ledger.recorder.select_notifications(
                    start=start, limit=2000, stop=target.last_position)
                if not notes:
                    break
                for n in notes:
                    position, sealed = next(leaves, (None, b""))
                    line = record_bytes(ledger, n)
                    if position != int(n.id) or leaf_hash(line) != sealed:
                        raise ExportError(f"position {n.id}: the event store no longer matches "
                                          "the sealed log; run `jixiao verify`")
                    events.write(line + b"\n")
                    hashes.write(sealed.hex() + "\n")
                    written += 1
                start = int(notes[-1].id) + 1
            events.flush()
            os.fsync(events.fileno())
    finally:
        conn.close()
    if written != target.size:
        raise ExportError(f"found {written} events for checkpoint {target.size}; the store "
                          "lost events behind the sealed log: run `jixiao verify`")
    included = checkpoints(db, until=target.size)
    for info in included:
        (out / CHECKPOINT_DIR / checkpoint_file(info.size)).write_text(info.note,
                                                                       encoding="utf-8")
    (out / PUBLIC_KEY_FILE).write_text(verifier.text() + "\n", encoding="ascii")
    (out / "README.txt").write_text(README, encoding="utf-8")
    return BundleInfo(path=out, events=written, checkpoints=len(included), checkpoint=target)
