"""The log as projectors read it: view events only, in order, one batch read ahead.

Command records (half the log) serve idempotency alone, so the store filters them out
instead of sending them to be skipped. While a batch is being written, the next one is read
and decoded in a background thread, so the store's work and ours overlap.

A batch is complete up to `last`: every view event at or below it has been read. The head is
taken once, before reading; positions commit in order on both stores (PostgreSQL saves hold an
exclusive table lock, SQLite has one writer), so nothing can still appear below a head we have
seen, though positions may have gaps.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from queue import Empty, Full, Queue
from typing import Any

from eventsourcing.utils import get_topic

from ledger.application import Ledger
from ledger.domain.registry import CommandRecord
from ledger.log import LogEntry, LogRecord, to_entry, to_record
from ledger.store import Database, fetchall, fetchone
from ledger.transcoder import LedgerMapper
from projections.stops import event_digest

COMMAND_RECORD_TOPIC = get_topic(CommandRecord) + ".Accepted"  # the class @event made
AHEAD = 3  # batches read in advance of the one being written


@dataclass(frozen=True)
class Batch:
    last: int  # the log has been read through this position
    records: list[LogRecord]  # if the feed was asked for them, else empty
    entries: list[LogEntry]  # likewise
    size: int  # view events read


class Feed:
    """Reads view events after a position, on a connection of its own."""

    def __init__(self, db: Database, ledger: Ledger, size: int) -> None:
        self.db = db
        self.ledger = ledger
        self.size = size
        self._conn: Any = None
        self._verified: dict[tuple[str, int, str], bool] = {}  # quarantines checked
        column = db.position_column
        self._head_sql = f"SELECT MAX({column}) FROM {db.events_table}"
        self._read_sql = (
            f"SELECT {column}, originator_id, originator_version, topic, state "
            f"FROM {db.events_table} WHERE {column} > ? AND {column} <= ? AND topic <> ? "
            f"ORDER BY {column} LIMIT ?")

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = self.db.connect()
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def head(self) -> int:
        row = fetchone(self.db, self.conn, self._head_sql)
        return int(row[0]) if row and row[0] is not None else 0

    def batches(self, after: int, limit: int | None = None,
                needs: Mapping[str, int] | None = None) -> Generator[Batch, None, None]:
        """Batches of view events after `after`, up to the head as it is now.

        `limit` caps the number of view events read in all (for small, resumable steps).
        `needs` maps each form a batch is decoded into, "records" (domain events) and/or
        "entries" (the stored JSON as parsed, cheaper), to the position from which it is
        needed (the views reading it stand there); by default, records for every batch.
        The first batch is read here; any further ones by a reader thread, `AHEAD` in advance.
        """
        head = self.head()
        if head <= after:
            return
        needs = {"records": after} if needs is None else needs
        first = self._read(after, head, self._size(limit), needs)
        budget = None if limit is None else limit - first.size
        yield first
        if first.last >= head or budget == 0:
            return
        queue: Queue[Batch | BaseException | None] = Queue(maxsize=AHEAD)
        stop = threading.Event()
        reader = threading.Thread(target=self._read_ahead, name="feed", daemon=True,
                                  args=(first.last, head, budget, needs, queue, stop))
        reader.start()
        try:
            while (item := self._next(queue, reader)) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while reader.is_alive():  # unblock it; the connection must be idle when we return
                with contextlib.suppress(Empty):
                    queue.get(timeout=0.05)

    @staticmethod
    def _next(queue: Queue[Batch | BaseException | None],
              reader: threading.Thread) -> Batch | BaseException | None:
        while True:
            try:
                return queue.get(timeout=0.1)
            except Empty:
                if not reader.is_alive() and queue.empty():
                    return RuntimeError("the log reader stopped without a word")

    def _read_ahead(self, after: int, head: int, budget: int | None, needs: Mapping[str, int],
                    queue: Queue[Batch | BaseException | None], stop: threading.Event) -> None:
        item: Batch | BaseException | None = None
        try:
            while after < head and budget != 0 and not stop.is_set():
                batch = self._read(after, head, self._size(budget), needs)
                if budget is not None:
                    budget -= batch.size
                after = batch.last
                self._hand_over(queue, batch, stop)
        except BaseException as error:  # handed to the consumer, which re-raises it
            item = error
        self._hand_over(queue, item, stop)

    @staticmethod
    def _hand_over(queue: Queue[Batch | BaseException | None], item: Batch | BaseException | None,
                   stop: threading.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(Full):
                queue.put(item, timeout=0.1)
                return

    def _size(self, budget: int | None) -> int:
        return self.size if budget is None else min(self.size, budget)

    def skipped(self) -> dict[str, frozenset[int]]:
        """Per view, the positions it skips: the events an operator quarantined for it
        (projections.stops), each only while the log holds the very bytes quarantined. Not
        while batches are being read (it uses the feed's connection)."""
        found: dict[str, set[int]] = {}
        for view, position, digest in fetchall(self.db, self.conn, "SELECT view, position, "
                                               "event_sha256 FROM projection_quarantine"):
            key = (str(view), int(position), str(digest))
            if key not in self._verified:  # both tables are append-only: once is enough
                event = fetchone(self.db, self.conn, f"SELECT topic, state FROM "
                                 f"{self.db.events_table} WHERE {self.db.position_column} = ?",
                                 (key[1],))
                self._verified[key] = (event is not None
                                       and event_digest(str(event[0]), event[1]) == key[2])
            if self._verified[key]:
                found.setdefault(key[0], set()).add(key[1])
        return {view: frozenset(positions) for view, positions in found.items()}

    def rows(self, after: int, head: int, size: int) -> tuple[list[Any], int]:
        """Up to `size` stored view events after `after`, undecoded (position, originator
        id, version, topic, state), and the position the log has been read through."""
        rows = fetchall(self.db, self.conn, self._read_sql,
                        (after, head, COMMAND_RECORD_TOPIC, size), binary=True)
        return rows, int(rows[-1][0]) if len(rows) == size else head

    def decode(self, row: Any, form: str) -> LogRecord | LogEntry:
        """One stored event, as a domain event ("records") or its parsed JSON ("entries")."""
        mapper = self.ledger.mapper
        assert isinstance(mapper, LedgerMapper)
        position, originator, version, topic, state = row
        if form == "records":
            return to_record(position, mapper.decode_row(topic, originator, version, state))
        return to_entry(mapper, *row)

    def _read(self, after: int, head: int, size: int, needs: Mapping[str, int]) -> Batch:
        rows, last = self.rows(after, head, size)
        mapper = self.ledger.mapper
        assert isinstance(mapper, LedgerMapper)
        records, entries = [], []
        if needs.get("records", last) < last:
            decode = mapper.decode_row
            records = [to_record(position, decode(topic, originator, version, state))
                       for position, originator, version, topic, state in rows]
        if needs.get("entries", last) < last:
            entries = [to_entry(mapper, *row) for row in rows]
        return Batch(last=last, records=records, entries=entries, size=len(rows))
