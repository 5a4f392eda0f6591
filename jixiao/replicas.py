"""Queries from PostgreSQL hot standbys, commands to the primary, read-your-writes by position.

A standby is a physical copy: its event log and its projection tables are replayed from the
primary's WAL, where the projector wrote them. So a standby can answer a query that carries a
position token (the position a command returned) once its *projected* position
(projection_tracking) has reached that token — its event log alone is not enough, the views
could still be behind. The router waits a bounded time for a standby to get there, and
otherwise answers from the primary, which projects on demand. Nothing here ever writes to a
standby: no projector runs against one.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from jixiao.regions import RegionDatabase
from ledger.application import Ledger
from ledger.store import Database, fetchone
from projections.views import ReadModel

RETRY_AFTER = 5.0  # seconds a standby that failed is left alone before it is tried again
POLL = 0.02  # seconds between position polls while a read waits for a standby


class StandbyReadModel(ReadModel):
    """A ReadModel over a hot standby: projection tables are read-only replicated copies, so
    catching up means reading how far replay has brought them, never projecting."""

    def catch_up(self) -> int:
        return self.runner.position()  # takes the runner's lock itself


@dataclass(frozen=True)
class StandbyStatus:
    server: str
    reachable: bool
    projected: int | None = None  # projection_tracking, as replayed so far
    logged: int | None = None  # the event log's last position, as replayed so far
    replay_paused: bool | None = None
    error: str | None = None


class Standby:
    """One standby: its read model (opened lazily) and whether it is usable right now."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.lock = threading.Lock()
        self.model: StandbyReadModel | None = None
        self.down_until = 0.0

    def read_model(self) -> StandbyReadModel:
        with self.lock:
            if self.model is None:
                self.db.connect().close()  # fails fast; a Ledger would wait for its pool
                # The standby's Ledger only loads aggregates for subject details: a small pool.
                ledger = Ledger(RegionDatabase.of(self.db, pool_size=1, max_overflow=4))
                try:
                    self.model = StandbyReadModel(self.db, ledger)
                except BaseException:
                    ledger.close()
                    raise
            return self.model

    def projected(self) -> int:
        return self.read_model().catch_up()

    def failed(self) -> None:
        """Drop the connections (the server may have restarted) and rest a while."""
        with self.lock:
            model, self.model = self.model, None
            self.down_until = time.monotonic() + RETRY_AFTER
        if model is not None:
            try:
                model.close()
            finally:
                model.ledger.close()

    def close(self) -> None:
        with self.lock:
            model, self.model = self.model, None
        if model is not None:
            model.close()
            model.ledger.close()


class ReplicaRouter:
    """Reads to standbys, falling back to the primary; commands always to the primary.

    `for_read(min_position, wait)` returns the Database to read from; `read_model(...)` the
    ReadModel over it (one per database, shared between threads). With a minimum position, a
    standby is chosen only once its projected position has reached it.
    """

    def __init__(self, primary: Database, replicas: Sequence[Database], *,
                 ledger: Ledger | None = None, read_model: ReadModel | None = None) -> None:
        self.primary = primary
        self.standbys = [Standby(db) for db in replicas]
        self._ledger = ledger
        self._primary_read = read_model
        self._owned: list[Ledger | ReadModel] = []  # what the router opened, so closes
        self._lock = threading.Lock()
        self._turn = itertools.count()

    @property
    def ledger(self) -> Ledger:
        """The primary's Ledger: every command goes here."""
        with self._lock:
            if self._ledger is None:
                self._ledger = Ledger(self.primary)
                self._owned.append(self._ledger)
            return self._ledger

    def primary_read_model(self) -> ReadModel:
        """The primary's ReadModel, which projects on demand (so it is never behind)."""
        ledger = self.ledger
        with self._lock:
            if self._primary_read is None:
                self._primary_read = ReadModel(self.primary, ledger)
                self._owned.insert(0, self._primary_read)
            return self._primary_read

    def read_model(self, min_position: int | None = None, wait: float = 0.0) -> ReadModel:
        standby = self._choose(min_position, wait)
        if standby is None:
            return self.primary_read_model()
        return standby.read_model()

    def for_read(self, min_position: int | None = None, wait: float = 0.0) -> Database:
        """A standby whose views include `min_position` (waiting at most `wait` seconds for
        one), else the primary. Without a minimum position any reachable standby will do."""
        standby = self._choose(min_position, wait)
        return self.primary if standby is None else standby.db

    def read_model_for(self, db: Database) -> ReadModel:
        """The shared ReadModel over a database for_read returned."""
        for standby in self.standbys:
            if standby.db is db:
                return standby.read_model()
        return self.primary_read_model()

    def _choose(self, min_position: int | None, wait: float) -> Standby | None:
        if not self.standbys:
            return None
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            start = next(self._turn)
            order = [self.standbys[(start + i) % len(self.standbys)]
                     for i in range(len(self.standbys))]
            usable = [s for s in order if s.down_until <= time.monotonic()]
            for standby in usable:
                try:
                    projected = standby.projected()
                except Exception:  # unreachable, restarting, or not a ledger: leave it alone
                    standby.failed()
                    continue
                if min_position is None or projected >= min_position:
                    return standby
            if not usable or time.monotonic() + POLL > deadline:
                return None
            time.sleep(POLL)

    def status(self) -> list[StandbyStatus]:
        """How far each standby has replayed, for operators and health checks."""
        out = []
        for standby in self.standbys:
            db = standby.db
            server = f"{db.host}:{db.port}/{db.dbname}"
            try:
                conn = db.connect()
            except Exception as exc:
                out.append(StandbyStatus(server, False, error=str(exc).splitlines()[0]))
                continue
            try:
                logged = fetchone(db, conn, f"SELECT MAX({db.position_column}) FROM "
                                  f"{db.events_table}")[0]
                paused = fetchone(db, conn, "SELECT pg_is_wal_replay_paused()")[0]
                out.append(StandbyStatus(server, True, projected=standby.projected(),
                                         logged=int(logged or 0), replay_paused=bool(paused)))
            except Exception as exc:
                out.append(StandbyStatus(server, False, error=str(exc).splitlines()[0]))
            finally:
                conn.close()
        return out

    def close(self) -> None:
        """Close what the router opened itself (not a ledger or read model passed in)."""
        for standby in self.standbys:
            standby.close()
        with self._lock:
            owned, self._owned = self._owned, []
        for item in owned:
            item.close()
