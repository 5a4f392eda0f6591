"""Checkpoints and proofs over the sealed log: plain functions, (db) in, frozen dataclasses out.

These are what the CLI, the disclosure flow and the GraphQL layer call. Hashes leave as
standard base64 (as in checkpoint notes), so a client can check a proof with any RFC 6962
library against the signed note that comes with it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ledger.application import Ledger
from ledger.errors import NotFound, RuleViolation
from ledger.integrity.checkpoint import Checkpoint, NoteSigner, sign_note
from ledger.integrity.event_macs import BAD_MAC, MAC_TABLE, note_mac, stored_macs
from ledger.integrity.keys import KEY_FILE_NAME as KEY_FILE_NAME  # re-exported: callers
from ledger.integrity.keys import KEY_SETTING as KEY_SETTING  # have imported them from here
from ledger.integrity.keys import events_key
from ledger.integrity.keys import key_file as key_file
from ledger.integrity.keys import load_key as load_key
from ledger.integrity.merkle import (
    ProofError,
    SubtreeCache,
    consistency_proof,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from ledger.integrity.sealer import Sealer, UnauthenticatedEvent, load_state
from ledger.store import Database, bulk_insert, fetchall, fetchone, transaction

ORIGIN_SETTING = "JIXIAO_ORIGIN"
DEFAULT_ORIGIN = "jixiao.local/ledger"
CHECKPOINT_COLUMNS = "tree_size, last_position, root_hash, origin, made_at, note"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def origin_setting() -> str:
    """The log's origin line: JIXIAO_ORIGIN, else jixiao.local/ledger."""
    return os.environ.get(ORIGIN_SETTING) or DEFAULT_ORIGIN


@dataclass(frozen=True)
class CheckpointInfo:
    """One signed checkpoint: what the log looked like at `size` leaves."""

    origin: str
    size: int
    root: str  # base64 of the 32-byte root hash
    last_position: int  # event-store position of the last sealed record
    made_at: dt.datetime
    note: str  # the signed note text, verifiable with the public key

    def for_disclosure(self) -> dict[str, Any]:
        """What a disclosure package's manifest names as the checkpoint proving it."""
        return {"origin": self.origin, "size": self.size, "root": self.root,
                "last_position": self.last_position}

    def citation(self) -> dict[str, Any]:
        """The `checkpoint` a record cites (record_disclosure, close_fiscal_year): the same,
        with the signed note the ledger checks it by (ledger.integrity.citation)."""
        return {**self.for_disclosure(), "note": self.note}


def _info(row: Any) -> CheckpointInfo:
    size, position, root, origin, made_at, note = row
    return CheckpointInfo(origin=str(origin), size=int(size), root=b64(bytes(root)),
                          last_position=int(position),
                          made_at=dt.datetime.fromisoformat(str(made_at)), note=str(note))


def checkpoints(db: Database, *, until: int | None = None) -> list[CheckpointInfo]:
    """Every checkpoint in size order (up to tree size `until`, if given)."""
    conn = db.connect()
    try:
        sql = f"SELECT {CHECKPOINT_COLUMNS} FROM integrity_checkpoints"
        params: tuple[Any, ...] = ()
        if until is not None:
            sql, params = sql + " WHERE tree_size <= ?", (until,)
        return [_info(r) for r in fetchall(db, conn, sql + " ORDER BY tree_size", params)]
    finally:
        conn.close()


def latest_checkpoint(db: Database) -> CheckpointInfo | None:
    """The largest checkpoint, or None before the first one."""
    conn = db.connect()
    try:
        row = fetchone(db, conn, f"SELECT {CHECKPOINT_COLUMNS} FROM integrity_checkpoints "
                       "ORDER BY tree_size DESC LIMIT 1")
        return None if row is None else _info(row)
    finally:
        conn.close()


def earliest_checkpoint_covering(db: Database, position: int) -> CheckpointInfo | None:
    """The first checkpoint whose log reaches `position` (its last sealed record is at or
    after it), or None while none does.

    Once there it stays the first: checkpoints are append-only (migration 003's triggers)
    and signed in tree-size order (`_sign`), so no smaller one can come later. Exports of a
    pinned position cite it, and so never change once they cite one (docs/domain.md). Found
    through the sealed leaves: the covering checkpoints are those larger than the index of
    the first leaf at or after `position` (two index lookups, however many checkpoints).
    """
    conn = db.connect()
    try:
        row = fetchone(db, conn, f"SELECT {CHECKPOINT_COLUMNS} FROM integrity_checkpoints "
                       "WHERE tree_size > (SELECT leaf_index FROM integrity_leaves WHERE "
                       "position >= ? ORDER BY position LIMIT 1) ORDER BY tree_size LIMIT 1",
                       (position,))
        return None if row is None else _info(row)
    finally:
        conn.close()


def get_checkpoint(db: Database, size: int | None = None) -> CheckpointInfo:
    """The checkpoint of tree size `size` (default: the latest); NotFound if there is none."""
    if size is None:
        found = latest_checkpoint(db)
        if found is None:
            raise NotFound("checkpoint", "latest", field="checkpoint")
        return found
    conn = db.connect()
    try:
        row = fetchone(db, conn, f"SELECT {CHECKPOINT_COLUMNS} FROM integrity_checkpoints "
                       "WHERE tree_size = ?", (size,))
    finally:
        conn.close()
    if row is None:
        raise NotFound("checkpoint", str(size), field="checkpoint")
    return _info(row)


def checkpoint_now(db: Database, ledger: Ledger, signer: NoteSigner, *,
                   origin: str | None = None) -> CheckpointInfo:
    """Seal every pending event, then sign and store a checkpoint of the sealed log.

    If nothing was appended since the latest checkpoint, that checkpoint is returned rather
    than a second one of the same size. Call it before recording a disclosure and pass
    `.citation()` as the disclosure's checkpoint.

    Only events the application authenticated are sealed (ledger.integrity.event_macs): at
    the first other one, the events before it are sealed and signed, then
    UnauthenticatedEvent names it.
    """
    try:
        Sealer(db, ledger, events_key=events_key(signer)).seal()
    except UnauthenticatedEvent:
        _sign(db, signer, origin or origin_setting())
        raise
    return _sign(db, signer, origin or origin_setting())


def _sign(db: Database, signer: NoteSigner, origin: str) -> CheckpointInfo:
    """A signed checkpoint of the log as sealed now (the existing one if nothing is new).

    The sealed state is read and the checkpoint stored in one transaction that holds the
    write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: the state row, FOR UPDATE), so two
    signers never store their checkpoints out of order: a smaller checkpoint never appears
    after a larger one, and the earliest checkpoint covering a position, once there, stays
    the earliest (`earliest_checkpoint_covering`).
    """
    conn = db.connect()
    try:
        with transaction(db, conn):
            state = load_state(db, conn, lock=True)
            row = fetchone(db, conn, f"SELECT {CHECKPOINT_COLUMNS} FROM integrity_checkpoints "
                           "WHERE tree_size = ?", (state.size,))
            if row is not None:
                return _info(row)
            made_at = dt.datetime.now(dt.UTC)
            body = Checkpoint.create(origin, state.size, state.root, position=state.position,
                                     made_at=made_at).body()
            note = sign_note(body, signer)
            conn.execute(db.sql(f"INSERT INTO integrity_checkpoints ({CHECKPOINT_COLUMNS}) "
                                "VALUES (?, ?, ?, ?, ?, ?)"),
                         (state.size, state.position, state.root, origin,
                          made_at.isoformat(), note))
        return CheckpointInfo(origin=origin, size=state.size, root=b64(state.root),
                              last_position=state.position, made_at=made_at, note=note)
    finally:
        conn.close()


def adopt_events(db: Database, ledger: Ledger, signer: NoteSigner,
                 positions: Iterable[int]) -> list[int]:
    """Vouch for events appended without a MAC (by a process that lacked the key): the
    operator's explicit word, after looking at them, that they are genuine. Returns the
    positions newly authenticated; an event whose MAC no longer matches is refused (it was
    changed: restore it instead)."""
    key, adopted = events_key(signer), []
    conn = db.connect()
    try:
        for position in sorted(set(positions)):
            found = ledger.recorder.select_notifications(start=position, limit=1)
            if not found or int(found[0].id) != position:
                raise NotFound("event", str(position), field="adopt")
            mac = note_mac(key, found[0])
            stored = stored_macs(db, conn, position, position).get(position)
            if stored is None:
                adopted.append((position, mac))
            elif not hmac.compare_digest(stored, mac):
                raise RuleViolation("EVENT_CHANGED", f"position {position}: {BAD_MAC}",
                                    field="adopt", rule="only unchanged events are adopted")
        with transaction(db, conn):
            bulk_insert(db, conn, MAC_TABLE, ("position", "mac"), adopted)
    finally:
        conn.close()
    return [position for position, _ in adopted]


# -------------------------------------------------------------------------- proofs


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 inclusion proof of the event at `position` in the checkpoint of `tree_size`."""

    position: int
    leaf_index: int
    leaf_hash: str  # base64 SHA-256(0x00 || canonical record bytes)
    tree_size: int
    root: str  # base64, equal to the checkpoint's root
    hashes: tuple[str, ...]  # base64 audit path, leaf to root
    checkpoint: str  # the signed note the proof leads to


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 consistency proof that checkpoint `from_size` is a prefix of `to_size`."""

    from_size: int
    to_size: int
    from_root: str
    to_root: str
    hashes: tuple[str, ...]
    from_checkpoint: str
    to_checkpoint: str


class StoredLeaves:
    """LeafSource over the integrity_leaves table."""

    def __init__(self, db: Database, conn: Any) -> None:
        self.db, self.conn = db, conn

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        rows = fetchall(self.db, self.conn, "SELECT leaf_hash FROM integrity_leaves WHERE "
                        "leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index", (start, end))
        return [bytes(r[0]) for r in rows]


# Complete aligned subtrees never change in an append-only log: one memo per database
# makes every proof after the first cost O(log n) small reads. Every proof is checked
# against its signed root before it leaves, and a failing check drops the memo (a database
# recreated at the same URL) and recomputes from the stored leaves.
_CACHES: dict[str, SubtreeCache] = {}
_CACHE_LOCK = threading.Lock()


def subtree_cache(db: Database, *, fresh: bool = False) -> SubtreeCache:
    with _CACHE_LOCK:
        if fresh:
            _CACHES[db.url] = {}
        return _CACHES.setdefault(db.url, {})


def prove_inclusion(db: Database, position: int,
                    checkpoint_size: int | None = None) -> InclusionProof:
    """Inclusion proof of the event at `position` in a checkpoint (default: the latest)."""
    checkpoint = get_checkpoint(db, checkpoint_size)
    conn = db.connect()
    try:
        row = fetchone(db, conn, "SELECT leaf_index, leaf_hash FROM integrity_leaves WHERE "
                       "position = ?", (position,))
        if row is None:
            raise NotFound("sealed_event", str(position), field="position")
        index = int(row[0])
        if index >= checkpoint.size:
            raise RuleViolation("NOT_IN_CHECKPOINT", f"position {position} is leaf {index}, "
                                f"after checkpoint {checkpoint.size}; make a newer checkpoint",
                                field="position", rule="proofs lead to a signed checkpoint")
        leaves, digest = StoredLeaves(db, conn), bytes(row[1])
        root = base64.b64decode(checkpoint.root)
        path = inclusion_proof(index, checkpoint.size, leaves, subtree_cache(db))
        try:
            verify_inclusion(digest, index, checkpoint.size, path, root)
        except ProofError:
            path = inclusion_proof(index, checkpoint.size, leaves, subtree_cache(db, fresh=True))
            verify_inclusion(digest, index, checkpoint.size, path, root)  # else: tampered
    finally:
        conn.close()
    return InclusionProof(position=position, leaf_index=index, leaf_hash=b64(bytes(row[1])),
                          tree_size=checkpoint.size, root=checkpoint.root,
                          hashes=tuple(b64(h) for h in path), checkpoint=checkpoint.note)


def prove_consistency(db: Database, from_size: int, to_size: int) -> ConsistencyProof:
    """Consistency proof between two checkpoints, named by their tree sizes."""
    if from_size > to_size:
        raise RuleViolation("SIZES_REVERSED", f"from {from_size} is larger than to {to_size}",
                            field="from", rule="from_size <= to_size")
    old, new = get_checkpoint(db, from_size), get_checkpoint(db, to_size)
    path: list[bytes] = []
    if 0 < from_size < to_size:
        conn = db.connect()
        leaves = StoredLeaves(db, conn)
        roots = base64.b64decode(old.root), base64.b64decode(new.root)
        try:
            path = consistency_proof(from_size, to_size, leaves, subtree_cache(db))
            try:
                verify_consistency(from_size, to_size, *roots, path)
            except ProofError:
                path = consistency_proof(from_size, to_size, leaves, subtree_cache(db, fresh=True))
                verify_consistency(from_size, to_size, *roots, path)  # else: tampered
        finally:
            conn.close()
    return ConsistencyProof(from_size=from_size, to_size=to_size, from_root=old.root,
                            to_root=new.root, hashes=tuple(b64(h) for h in path),
                            from_checkpoint=old.note, to_checkpoint=new.note)
