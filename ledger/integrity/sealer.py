"""The sealer: folds every stored event into the Merkle log, and re-checks the log later.

Like a projector, it tracks the last position it applied and moves that position, the new
leaves and the CompactRange frontier in one transaction per batch, so a crash (even SIGKILL)
mid-batch leaves no half-applied batch behind, and the next run resumes exactly after the
last committed one. Positions may have gaps; the tree is over the records in position order.

`verify_store` is the operator's tamper check: it recomputes every sealed record's leaf from
the event store as it is now and compares it with the sealed leaves and the checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.application import Ledger
from ledger.integrity import event_macs
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.checkpoint import NoteError, NoteVerifier, open_note
from ledger.integrity.event_macs import Unauthenticated
from ledger.integrity.merkle import CompactRange, leaf_hash
from ledger.log import to_record
from ledger.store import Database, bulk_insert, fetchall, fetchone, transaction

BATCH = 2000
LEAF_COLUMNS = ("leaf_index", "position", "leaf_hash")


class ConcurrentSealer(RuntimeError):
    """Another process sealed the same batch first; ours was rolled back."""


@dataclass(frozen=True)
class SealState:
    """How far the log is sealed: last position, number of leaves, and the frontier."""

    position: int
    frontier: CompactRange = field(compare=False)

    @property
    def size(self) -> int:
        return self.frontier.size

    @property
    def root(self) -> bytes:
        return self.frontier.root()


def record_bytes(ledger: Ledger, notification: Any) -> bytes:
    """The canonical bytes of one stored event: exactly what its leaf hash covers."""
    event = ledger.mapper.to_domain_event(notification)
    return canonical_bytes(to_record(int(notification.id), event).as_json())


def load_state(db: Database, conn: Any, *, lock: bool = False) -> SealState:
    """`lock`: on PostgreSQL, hold the state row until the transaction ends (a sealer's
    compare-and-set then waits); SQLite's BEGIN IMMEDIATE already holds the write lock."""
    locked = " FOR UPDATE" if lock and db.backend == "postgres" else ""
    row = fetchone(db, conn, "SELECT position, tree_size, frontier FROM integrity_state "
                   f"WHERE id = 1{locked}")
    if row is None:
        raise RuntimeError("integrity tables are missing: run `jixiao migrate`")
    frontier = CompactRange.from_json(str(row[2]))
    if frontier.size != int(row[1]):
        raise RuntimeError(f"sealer state is inconsistent: size {row[1]}, frontier "
                           f"{frontier.size}")
    return SealState(position=int(row[0]), frontier=frontier)


class UnauthenticatedEvent(RuntimeError):
    """The sealer stopped before an event the application cannot vouch for."""

    def __init__(self, found: Unauthenticated) -> None:
        super().__init__(f"{found}; it is not sealed, nor is anything after it. Remove it, "
                         f"or if it is genuine vouch for it: jixiao checkpoint --adopt "
                         f"{found.position}")
        self.position = found.position
        self.reason = found.reason


class Sealer:
    """Appends a leaf per new event, batch by batch; safe against a second sealer.

    Given the events key (ledger.integrity.keys.events_key), it seals only authenticated
    events (ledger.integrity.event_macs) and stops before the first other one, raising
    UnauthenticatedEvent once the events before it are sealed.
    """

    def __init__(self, db: Database, ledger: Ledger, batch: int = BATCH,
                 events_key: bytes | None = None) -> None:
        self.db = db
        self.ledger = ledger
        self.batch = batch
        self.events_key = events_key

    def seal(self, *, limit: int | None = None,
             progress: Callable[[int], None] | None = None) -> SealState:
        """Seal every pending event (or about `limit` of them); returns the sealed state."""
        conn = self.db.connect()
        try:
            sealed = 0
            state = load_state(self.db, conn)
            if self.events_key is not None and state.size == 0:
                self._adopt_keyless(conn)
            while limit is None or sealed < limit:
                size = self.batch if limit is None else min(self.batch, limit - sealed)
                notes = self.ledger.recorder.select_notifications(
                    start=state.position + 1, limit=size)
                refused = self._refused(conn, notes)
                if refused is not None:
                    notes = [n for n in notes if int(n.id) < refused.position]
                if notes:
                    try:
                        state = self._apply(conn, state, notes)
                    except ConcurrentSealer:
                        state = load_state(self.db, conn)  # someone else sealed it: carry on
                        continue
                if refused is not None:
                    raise UnauthenticatedEvent(refused)
                if not notes:
                    break
                sealed += len(notes)
                if progress is not None:
                    progress(len(notes))
            return state
        finally:
            conn.close()

    def _adopt_keyless(self, conn: Any) -> None:
        """Before the first seal: MAC the events from before the ledger had a key (those that
        precede every authenticated one), all in one transaction, so that a seal interrupted
        half-way resumes over authenticated events only."""
        assert self.events_key is not None
        below = event_macs.trusted_below(self.db, conn, 0)
        rows = [(int(n.id), event_macs.note_mac(self.events_key, n))
                for n in _notifications(self.ledger) if int(n.id) < below]
        if not rows:
            return
        with transaction(self.db, conn):
            conn.cursor().executemany(self.db.sql(f"INSERT INTO {event_macs.MAC_TABLE} "
                                                  "(position, mac) VALUES (?, ?) ON CONFLICT "
                                                  "(position) DO NOTHING"), rows)

    def _refused(self, conn: Any, notes: Sequence[Any]) -> Unauthenticated | None:
        """The first of `notes` that is not authenticated (None without an events key)."""
        if self.events_key is None or not notes:
            return None
        macs = event_macs.stored_macs(self.db, conn, int(notes[0].id), int(notes[-1].id))
        for _, problem in event_macs.check(self.events_key, notes, macs, 0):
            if problem is not None:
                return problem
        return None

    def _apply(self, conn: Any, state: SealState, notes: Sequence[Any]) -> SealState:
        frontier = CompactRange.from_json(state.frontier.to_json())  # keep `state` intact
        rows = []
        for n in notes:
            digest = leaf_hash(record_bytes(self.ledger, n))
            rows.append((frontier.size, int(n.id), digest))
            frontier.append(digest)
        last = int(notes[-1].id)
        with transaction(self.db, conn):
            # Compare-and-set first: a concurrent sealer makes this touch no row.
            cur = conn.execute(self.db.sql(
                "UPDATE integrity_state SET position = ?, tree_size = ?, frontier = ? "
                "WHERE id = 1 AND position = ? AND tree_size = ?"),
                (last, frontier.size, frontier.to_json(), state.position, state.size))
            if cur.rowcount != 1:
                raise ConcurrentSealer(f"the log moved past position {state.position}")
            bulk_insert(self.db, conn, "integrity_leaves", LEAF_COLUMNS, rows)
        return SealState(position=last, frontier=frontier)


# --------------------------------------------------------------------- tamper check


@dataclass(frozen=True)
class StoreReport:
    """What `jixiao verify` found; `first_position` names the first record that differs."""

    sealed: int
    sealed_position: int
    unsealed: int
    checkpoints: int
    signatures_checked: bool
    problems: tuple[str, ...]
    first_position: int | None
    authenticated: bool = False  # unsealed events were checked against their MACs

    @property
    def ok(self) -> bool:
        return not self.problems


def _leaves(db: Database, conn: Any, chunk: int = 20_000) -> Iterator[tuple[int, int, bytes]]:
    start = 0
    while True:
        rows = fetchall(db, conn, "SELECT leaf_index, position, leaf_hash FROM integrity_leaves "
                        "WHERE leaf_index >= ? ORDER BY leaf_index LIMIT ?", (start, chunk))
        for index, position, digest in rows:
            yield int(index), int(position), bytes(digest)
        if len(rows) < chunk:
            return
        start = int(rows[-1][0]) + 1


def _notifications(ledger: Ledger, chunk: int = 5000) -> Iterator[Any]:
    start = 1
    while True:
        notes = ledger.recorder.select_notifications(start=start, limit=chunk)
        yield from notes
        if not notes:
            return
        start = int(notes[-1].id) + 1


def verify_store(db: Database, ledger: Ledger, verifier: NoteVerifier | None = None,
                 *, max_problems: int = 20, events_key: bytes | None = None) -> StoreReport:
    """Recompute the sealed log from the event store as it is now.

    Every sealed record's canonical bytes must hash to its stored leaf, at the same position,
    with no event inserted or removed in between; the stored leaves must reproduce every
    checkpoint's root (and, given the public key, every checkpoint's signature must hold).
    Given the events key, every event not sealed yet must be authenticated (event_macs).
    """
    conn = db.connect()
    try:
        state = load_state(db, conn)
        checkpoints = fetchall(db, conn, "SELECT tree_size, root_hash, note FROM "
                               "integrity_checkpoints ORDER BY tree_size")
        problems: list[str] = []
        first: list[int] = []

        def problem(position: int | None, text: str) -> None:
            if len(problems) < max_problems:
                problems.append(text)
            if position is not None and not first:
                first.append(position)

        notes = _notifications(ledger)
        frontier = CompactRange()
        wanted = {int(size): (bytes(root), str(note)) for size, root, note in checkpoints}
        expected_index = 0
        note: Any = next(notes, None)
        for index, position, stored in _leaves(db, conn):
            if index != expected_index:
                problem(position, f"leaf {expected_index} is missing from the sealed leaves")
                expected_index = index
            while note is not None and int(note.id) < position:
                problem(int(note.id), f"position {note.id}: event is not in the sealed log "
                        "(inserted behind the sealer)")
                note = next(notes, None)
            if note is None or int(note.id) > position:
                problem(position, f"position {position}: sealed event is missing from the "
                        "event store (deleted)")
            else:
                try:
                    digest = leaf_hash(record_bytes(ledger, note))
                except Exception as exc:  # a tampered record may not even decode
                    problem(position, f"position {position}: stored record no longer decodes "
                            f"({type(exc).__name__}: {exc})")
                else:
                    if digest != stored:
                        problem(position, f"position {position}: stored record no longer "
                                "matches its sealed leaf hash")
                note = next(notes, None)
            frontier.append(stored)
            expected_index += 1
            _check_checkpoint(frontier, wanted, verifier, problem)
        for size in sorted(s for s in wanted if s > frontier.size):
            problem(None, f"checkpoint {size} is beyond the {frontier.size} sealed leaves")
        if frontier.size != state.size or frontier.root() != state.root:
            problem(None, f"sealer state (size {state.size}) does not match the stored leaves "
                    f"(size {frontier.size})")
        if 0 in wanted:
            _check_checkpoint(CompactRange(), wanted, verifier, problem)
        unsealed: list[Any] = []
        while note is not None:
            unsealed.append(note)
            note = next(notes, None)
        if events_key is not None:
            _check_unsealed(db, conn, events_key, state, unsealed, problem)
        return StoreReport(sealed=frontier.size, sealed_position=state.position,
                           unsealed=len(unsealed), checkpoints=len(checkpoints),
                           signatures_checked=verifier is not None, problems=tuple(problems),
                           first_position=first[0] if first else None,
                           authenticated=events_key is not None)
    finally:
        conn.close()


def _check_unsealed(db: Database, conn: Any, key: bytes, state: SealState,
                    unsealed: Sequence[Any], problem: Callable[[int | None, str], None]) -> None:
    """Name each event after the sealed log that the application did not append, and each
    authenticated one that has gone (deleted before a checkpoint sealed it)."""
    below = event_macs.trusted_below(db, conn, state.size)
    for start in range(0, len(unsealed), 5000):
        chunk = unsealed[start:start + 5000]
        macs = event_macs.stored_macs(db, conn, int(chunk[0].id), int(chunk[-1].id))
        for _, found in event_macs.check(key, chunk, macs, below):
            if found is not None:
                problem(found.position, f"{found}; `jixiao checkpoint` will not seal it")
    present = {int(n.id) for n in unsealed}
    for (position,) in fetchall(db, conn, f"SELECT position FROM {event_macs.MAC_TABLE} "
                                "WHERE position > ? ORDER BY position", (state.position,)):
        if int(position) not in present:
            problem(int(position), f"position {position}: an authenticated event is missing "
                    "from the event store (deleted before a checkpoint sealed it)")


def _check_checkpoint(frontier: CompactRange, wanted: dict[int, tuple[bytes, str]],
                      verifier: NoteVerifier | None,
                      problem: Callable[[int | None, str], None]) -> None:
    found = wanted.get(frontier.size)
    if found is None:
        return
    root, note = found
    if frontier.root() != root:
        problem(None, f"checkpoint {frontier.size}: the sealed leaves no longer reproduce its "
                "root (leaves were rewritten)")
    if verifier is None:
        return
    try:
        signed = open_note(note, verifier)
    except NoteError as exc:
        problem(None, f"checkpoint {frontier.size}: {exc}")
        return
    if signed.size != frontier.size or signed.root != root:
        problem(None, f"checkpoint {frontier.size}: the signed note names size {signed.size} "
                "and another root than the stored row")
