"""The views against a replay of the sealed log: what `jixiao verify` and the server's watch run.

The views are derived data, and an operator with SQL can change them (`UPDATE subject_rows SET
name = …`) without touching the log: every answer, and every export citing a signed checkpoint,
would then carry the change. A replay of the log into a scratch store outside the database (a
private temporary SQLite file, so the same SQL cannot reach it) must give the same rows at the
same position; each difference is named by view, key and column. Views hash alike on both
stores (projections.hashing), so a PostgreSQL ledger is checked against a SQLite replay.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ledger.application import Ledger
from ledger.integrity.sealer import load_state
from ledger.migrate import migrate
from ledger.store import Database
from projections.feed import Feed
from projections.hashing import VIEW_QUERIES, all_hashes
from projections.projector import BATCH, Runner

VIEW_KEYS = {"event_index": "position", "subjects": "subject_id", "disclosures": "position"}
LABELS = {"subjects": "code", "disclosures": "disclosure_id"}  # said next to the key
MAX_DIFFERENCES = 20


@dataclass(frozen=True)
class Difference:
    """One row where a view and the replay disagree."""

    view: str
    key: str  # e.g. "subject_id=3d57…", with the code for people
    detail: str  # which columns differ and how, or which side lacks the row

    def __str__(self) -> str:
        return f"view {self.view}, {self.key}: {self.detail}"


@dataclass(frozen=True)
class ViewStatus:
    """The last check of the views; `checked_at` None: not checked yet."""

    position: int = 0  # the position the views were compared at
    sealed: bool = False  # that position was the sealed log's (else the log's, unsealed)
    differences: tuple[Difference, ...] = ()
    checked_at: datetime | None = None
    error: str | None = None  # the check itself failed

    @property
    def differ(self) -> bool:
        return bool(self.differences)


@dataclass
class IntegrityStatus:
    """What a server knows of its own trustworthiness; its watch (jixiao.watch) updates it.
    While the views differ from the replay, no answer from them cites a checkpoint."""

    views: ViewStatus = field(default_factory=ViewStatus)
    sealing_error: str | None = None  # the last checkpoint attempt's refusal, if any
    sealed_at: datetime | None = None  # when the watch last signed (or found) a checkpoint
    # Checks that found the views differing: anything kept from what they answered before
    # (e.g. a rendered export) may hold the changed rows, so it is keyed by this count.
    views_found_differing: int = 0


class SealedFeed(Feed):
    """The live log, read no further than `until` (the sealed position)."""

    until = 0

    def head(self) -> int:
        return min(super().head(), self.until)


class Replay:
    """The views rebuilt from the log in a private scratch store, caught up incrementally."""

    def __init__(self, db: Database, ledger: Ledger) -> None:
        self.directory = tempfile.mkdtemp(prefix="jixiao-replay-")  # mode 0700
        self.scratch = Database.from_url(f"sqlite:///{self.directory}/replay.db")
        migrate(self.scratch)
        self.runner = Runner(self.scratch, ledger)
        self.runner.feed.close()
        self.feed = SealedFeed(db, ledger, BATCH)
        self.runner.feed = self.feed

    def catch_up(self, position: int) -> int:
        self.feed.until = position
        return self.runner.catch_up()

    def close(self) -> None:
        self.runner.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _rows(db: Database, conn: Any, view: str, position: int) -> tuple[list[str], list[Any]]:
    sql, arity = VIEW_QUERIES[view]
    cur = conn.execute(db.sql(sql), (position,) * arity)
    return [str(d[0]) for d in cur.description], cur.fetchall()


def _plain(value: Any) -> Any:
    return bytes(value).hex() if isinstance(value, bytes | memoryview) else value


def differences(live: Database, live_conn: Any, replay: Database, replay_conn: Any,
                view: str, position: int, limit: int = MAX_DIFFERENCES) -> list[Difference]:
    """Row by row: what the live view holds at `position` that the replay does not, and back."""
    columns, live_rows = _rows(live, live_conn, view, position)
    _, replay_rows = _rows(replay, replay_conn, view, position)
    key = columns.index(VIEW_KEYS[view])
    label = columns.index(LABELS[view]) if view in LABELS else None
    mine = {str(r[key]): r for r in live_rows}
    theirs = {str(r[key]): r for r in replay_rows}
    found: list[Difference] = []

    def named(k: str, row: Any) -> str:
        return f"{VIEW_KEYS[view]}={k}" + ("" if label is None else f" ({row[label]})")

    for k in sorted(mine.keys() | theirs.keys()):
        a, b = mine.get(k), theirs.get(k)
        if a is None:
            found.append(Difference(view, named(k, b), "missing from the live view"))
        elif b is None:
            found.append(Difference(view, named(k, a), "not in the replay of the log"))
        else:
            changed = [f"{c} is {_plain(x)!r}, the log says {_plain(y)!r}"
                       for c, x, y in zip(columns, a, b, strict=True)
                       if str(_plain(x)) != str(_plain(y))]
            if changed:
                found.append(Difference(view, named(k, b), "; ".join(changed)))
        if len(found) >= limit:
            break
    return found


def compare(db: Database, replay: Replay, position: int) -> list[Difference]:
    """Replay to `position`, then name what differs (hashes first: cheap when all agree)."""
    replay.catch_up(position)
    live_conn = db.connect()
    try:
        live = all_hashes(db, live_conn, position)
        mirrored = all_hashes(replay.scratch, replay.runner.conn, position)
        found: list[Difference] = []
        for view in (v for v in VIEW_QUERIES if live[v] != mirrored[v]):
            rows = differences(db, live_conn, replay.scratch, replay.runner.conn, view, position)
            found += rows or [Difference(view, "(whole view)", "its hash differs from the "
                                         "replay's, though no row does (a duplicated row?)")]
        return found
    finally:
        live_conn.close()


def comparison_position(db: Database, views_position: int) -> tuple[int, bool]:
    """Where to compare: the sealed position (no further than the views have come), or, with
    nothing sealed yet, the views' own position against a replay of the log as it is."""
    conn = db.connect()
    try:
        sealed = load_state(db, conn).position
    finally:
        conn.close()
    if sealed <= 0:
        return views_position, False
    return min(sealed, views_position), True


class ViewCheck:
    """Checks one ledger's views, keeping its replay between checks (only new events cost)."""

    def __init__(self, db: Database, ledger: Ledger) -> None:
        self.db = db
        self.ledger = ledger
        self.replay: Replay | None = None
        self.lock = threading.Lock()

    def run(self, views_position: int) -> ViewStatus:
        with self.lock:
            position, sealed = comparison_position(self.db, views_position)
            if self.replay is None:
                self.replay = Replay(self.db, self.ledger)
            found = compare(self.db, self.replay, position)
            return ViewStatus(position=position, sealed=sealed, differences=tuple(found),
                              checked_at=datetime.now(UTC))

    def close(self) -> None:
        with self.lock:
            if self.replay is not None:
                self.replay.close()
                self.replay = None


def describe(status: ViewStatus) -> Sequence[str]:
    """Lines for people: what was compared and what differs."""
    against = "the sealed log" if status.sealed else "the log (nothing sealed yet)"
    if status.error is not None:
        return [f"views: the check failed ({status.error})"]
    if not status.differ:
        return [f"views: every view matches a replay of {against} at position "
                f"{status.position}"]
    return [f"views: {len(status.differences)} rows differ from a replay of {against} at "
            f"position {status.position}", *(f"  {d}" for d in status.differences)]
