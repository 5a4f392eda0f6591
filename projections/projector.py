"""Projectors with exactly-once tracking: view rows and tracked position in one transaction.

Works the same on SQLite and PostgreSQL: read the global log from the last tracked position
(`projections.feed`), derive each view's rows for a batch, commit rows and positions together.
Gaps in positions are fine: we only ever ask for "after the last one we applied". A long
catch-up derives batch n+1 while a writer thread stores batch n (projections.writer).

A batch that fails for any reason but the store's availability is gone through again event by
event, view by view; a view that cannot project an event stops just before it, and the others
go on. Events an operator has quarantined for a view are not given to it (projections.stops:
how both are recorded).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ledger.application import Ledger
from ledger.store import Database, fetchall, fetchone, storage_unavailable, transaction
from projections.feed import Feed
from projections.log_views import DisclosureView, EventIndexView
from projections.stops import Stop, clear_stop, describe, record_stop
from projections.subject_view import SubjectView
from projections.view import View, Write
from projections.writer import Writer

log = logging.getLogger("jixiao.projections")
BATCH = 2500
Writes = list[tuple[str, int, int, Write | None]]  # per view: name, from, to, its rows


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a long catch-up runs.

    A rebuild keeps every subject's aggregate and current row in memory and allocates
    millions of short-lived, acyclic objects; the collector would walk the growing cache again
    and again (measured: a fifth of a rebuild's CPU at 200k events, more at 1M). Process-wide,
    so counted: collection resumes when the last long catch-up ends.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


class ConcurrentProjector(RuntimeError):
    """Another process advanced this view first; our batch was rolled back."""


def all_views(db: Database, ledger: Ledger) -> list[View]:
    return [EventIndexView(db), SubjectView(db, ledger), DisclosureView(db)]


class Runner:
    """Catches views up with the log; one per process, safe against a second process."""

    def __init__(self, db: Database, ledger: Ledger, views: Iterable[View] | None = None,
                 batch: int = BATCH) -> None:
        self.db = db
        self.ledger = ledger
        self.views = list(views) if views is not None else all_views(db, ledger)
        self.batch = batch
        self.conn = db.connect()
        self.feed = Feed(db, ledger, batch)
        self.lock = threading.Lock()
        self.positions: dict[str, int] = {}
        # Views this runner found stopped before an event they cannot project; they stay
        # just before it until it is quarantined (or another process moves them on).
        self.stopped: dict[str, Stop] = {}

    def close(self) -> None:
        self.feed.close()
        self.conn.close()

    def reconnect(self) -> None:
        """After a dropped storage connection: fresh connections on next use."""
        with self.lock:
            for close in (self.conn.close, self.feed.close):
                with contextlib.suppress(Exception):
                    close()
            self.conn = self.db.connect()

    def tracked(self) -> dict[str, int]:
        rows = dict(fetchall(self.db, self.conn, "SELECT view, position FROM projection_tracking"))
        return {v.name: int(rows.get(v.name, 0)) for v in self.views}

    @property
    def projected(self) -> int:
        """The position this runner last brought every view to (no trip to the store)."""
        positions = self.positions
        return min((positions.get(v.name, 0) for v in self.views), default=0)

    def position(self) -> int:
        with self.lock:  # the runner's connection is not shared between threads
            return min(self.tracked().values(), default=0)

    def catch_up(self, *, limit: int | None = None,
                 progress: Callable[[int], None] | None = None) -> int:
        """Apply every pending event (or up to `limit` events); returns the projected position.

        A view that cannot project an event stops just before it (see `stopped`); the
        position returned is then the one before it. Only the store's unavailability and
        another projector's progress are raised."""
        with self.lock, self._one_at_a_time():
            while True:
                try:
                    return self._catch_up(limit, progress)
                except Exception as error:
                    self._forget()
                    if storage_unavailable(error) or isinstance(error, ConcurrentProjector):
                        raise
                    failed = error
                except BaseException:
                    self._forget()
                    raise
                try:
                    moved = self._isolate()
                except BaseException:
                    self._forget()
                    raise
                if not moved:  # no event is to blame: the failure is not the log's
                    raise failed

    @contextlib.contextmanager
    def _one_at_a_time(self) -> Iterator[None]:
        """On PostgreSQL, one catch-up of these views at a time across processes (a session
        advisory lock): the server's workers all project on demand, and one that comes second
        waits and finds the work done, rather than deriving the same batch and losing the
        compare-and-set in `_advance`. A dropped connection releases the lock."""
        if self.db.backend != "postgres":
            yield
            return
        self.conn.execute("SELECT pg_advisory_lock(%s)", (self.lock_key,))
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                self.conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key,))

    @property
    def lock_key(self) -> int:
        """Per schema and set of views: a rebuild's processes, each with views of its own,
        still run side by side."""
        names = ",".join(sorted(v.name for v in self.views))
        digest = hashlib.sha256(f"jixiao-projector|{self.db.schema}|{names}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _forget(self) -> None:
        for view in self.views:
            view.forget()

    def _resume(self, positions: dict[str, int], skips: dict[str, frozenset[int]]) -> None:
        """Let a stopped view go on once its event is quarantined or another process has
        moved it past."""
        for name, stop in list(self.stopped.items()):
            if positions[name] >= stop.position or stop.position in skips.get(name, ()):
                del self.stopped[name]
                with transaction(self.db, self.conn):
                    clear_stop(self.db, self.conn, name)

    def _catch_up(self, limit: int | None, progress: Callable[[int], None] | None) -> int:
        skips = self.feed.skipped()
        positions = self.tracked()
        for view in self.views:  # moved by another process: what this one remembers is stale
            if positions[view.name] != self.positions.get(view.name, 0):
                view.forget()
        self._resume(positions, skips)
        active = {n: p for n, p in positions.items() if n not in self.stopped}
        done = min(active.values(), default=0)
        if not active:
            self.positions = positions
            return min(positions.values(), default=0)
        with contextlib.ExitStack() as stack:
            needs: dict[str, int] = {}  # each form of event, from where its first reader stands
            for view in self.views:
                if view.name in active:
                    needs[view.reads] = min(needs.get(view.reads, positions[view.name]),
                                            positions[view.name])
            batches = stack.enter_context(contextlib.closing(
                self.feed.batches(done, limit, needs)))
            store: Callable[[Writes], None] = self._store
            reads: Any = self.conn
            for count, batch in enumerate(batches):
                if count == 1:  # a long catch-up: pipelined, and see gc_paused
                    stack.enter_context(gc_paused())
                    writer: Writer[Writes] = stack.enter_context(Writer(self._store))
                    store, reads = writer.submit, writer.quiet(self.conn)
                writes: Writes = []
                for view in self.views:
                    upto = positions[view.name]
                    if upto >= batch.last or view.name not in active:
                        continue
                    mine: list[Any] = batch.records if view.reads == "records" else batch.entries
                    if mine and mine[0].position <= upto:  # this view was ahead
                        mine = [r for r in mine if r.position > upto]
                    if view.name in skips:  # quarantined for this view (projections.stops)
                        mine = [r for r in mine if r.position not in skips[view.name]]
                    writes.append((view.name, upto, batch.last,
                                   view.derive(mine, reads) if mine else None))
                    positions[view.name] = batch.last
                store(writes)
                if progress is not None:
                    progress(batch.last - done)
                done = batch.last
        self.positions = positions
        return min(positions.values(), default=0)

    def _store(self, writes: Writes) -> None:
        """One batch's rows and tracked positions, in one transaction.

        On PostgreSQL the commit does not wait for its WAL flush: a view can always be derived
        again from the log, and rows and position are lost together or not at all, so a crash
        only sends the view back to an earlier position (exactly-once still holds).
        """
        with transaction(self.db, self.conn):
            if self.db.backend == "postgres":
                self.conn.execute("SET LOCAL synchronous_commit TO OFF")
            for name, old, new, write in writes:
                if write is not None:
                    write(self.conn)
                self._advance(name, old, new)

    def _advance(self, view: str, old: int, new: int) -> None:
        """Compare-and-set, so two projectors can never both apply the same batch."""
        if old == 0:
            exists = fetchone(self.db, self.conn,
                              "SELECT position FROM projection_tracking WHERE view = ?", (view,))
            if exists is None:
                self.conn.execute(self.db.sql("INSERT INTO projection_tracking VALUES (?, ?)"),
                                  (view, new))
                return
        cur = self.conn.execute(self.db.sql(
            "UPDATE projection_tracking SET position = ? WHERE view = ? AND position = ?"),
            (new, view, old))
        if cur.rowcount != 1:
            raise ConcurrentProjector(f"view {view} moved past {old} in another process")

    def _isolate(self) -> bool:
        """After a failed batch: each view again, one batch of events at most, event by event
        if the batch fails it, up to the event it cannot project, where it stops. Whether any
        view moved or stopped."""
        skips = self.feed.skipped()
        positions = self.tracked()
        head = self.feed.head()
        moved = False
        for view in self.views:
            upto = positions[view.name]
            if view.name in self.stopped or upto >= head:
                continue
            rows, last = self.feed.rows(upto, head, self.batch)
            rows = [r for r in rows if int(r[0]) not in skips.get(view.name, ())]
            if self._apply(view, rows, upto, last) is None:
                moved = True
                continue
            for row in rows:
                position = int(row[0])
                failure = self._apply(view, [row], upto, position)
                if failure is None:
                    upto, moved = position, True
                    continue
                if self.tracked()[view.name] != upto:
                    raise ConcurrentProjector(f"view {view.name} moved past {upto} meanwhile")
                self._stop(view.name, upto, position, failure)
                moved = True
                break
            else:
                if upto < last and self._apply(view, [], upto, last) is None:
                    moved = True
        return moved

    def _apply(self, view: View, rows: list[Any], upto: int, last: int) -> Exception | None:
        """Project `rows` into `view` and move it to `last`, in one transaction. What failed
        it, if anything but the store's availability (that is raised)."""
        try:
            items = [self.feed.decode(row, view.reads) for row in rows]
            write = view.derive(items, self.conn) if items else None
            with transaction(self.db, self.conn):
                if write is not None:
                    write(self.conn)
                self._advance(view.name, upto, last)
            return None
        except Exception as error:
            view.forget()
            if storage_unavailable(error) or isinstance(error, ConcurrentProjector):
                raise
            return error

    def _stop(self, name: str, upto: int, position: int, failure: Exception) -> None:
        """`name` cannot project the event at `position`: it stops just before it, recorded
        (projections.stops) and logged."""
        error = describe(failure)
        with transaction(self.db, self.conn):
            if upto < position - 1:
                self._advance(name, upto, position - 1)
            self.stopped[name] = record_stop(self.db, self.conn, name, position, error)
        log.error("view %s stopped before position %d, an event it cannot project: %s; "
                  "reads answer as of position %d (README: When a view stops)",
                  name, position, error, position - 1)

    def reset(self, names: Iterable[str] | None = None) -> None:
        """Empty views (all, or the named ones) so the next catch-up rebuilds them."""
        chosen = [v for v in self.views if names is None or v.name in set(names)]
        with self.lock, transaction(self.db, self.conn):
            for view in chosen:
                for table in view.tables:  # TRUNCATE leaves no dead rows to wade through
                    self.conn.execute(f"DELETE FROM {table}" if self.db.backend == "sqlite"
                                      else f"TRUNCATE {table}")
                self.conn.execute(self.db.sql("DELETE FROM projection_tracking WHERE view = ?"),
                                  (view.name,))
                clear_stop(self.db, self.conn, view.name)
                view.forget()
                self.positions.pop(view.name, None)
                self.stopped.pop(view.name, None)
