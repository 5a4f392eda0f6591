"""Projectors with exactly-once tracking: view rows and tracked position in one transaction.

Works the same on SQLite and PostgreSQL: read the global log from the last tracked position
(`projections.feed`), apply a batch, commit rows and positions together. Gaps in positions
are fine: we only ever ask for "after the last one we applied".
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ledger.application import Ledger
from ledger.domain.base import CORRECTION_TYPE
from ledger.domain.subject import Subject
from ledger.log import LogRecord, json_default
from ledger.store import Database, bulk_insert, fetchall, fetchone, transaction
from projections.feed import Feed
from projections.rows import (
    MAX_POSITION,
    SUBJECT_COLUMNS,
    as_tuple,
    changed,
    changes_json,
    micros,
    subject_row,
)

BATCH = 2500


class ConcurrentProjector(RuntimeError):
    """Another process advanced this view first; our batch was rolled back."""


class View(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def tables(self) -> tuple[str, ...]: ...

    def apply(self, records: list[LogRecord], conn: Any) -> None: ...

    def forget(self) -> None:
        """Drop in-memory state (after a rollback or a reset)."""


INDEX_COLUMNS = ("position", "recorded_at", "recorded_upto", "type", "aggregate_id", "version",
                 "subject_id", "unit_code", "actor_id", "actor_role", "command_id",
                 "effective_on", "corrects_position", "changes")
DISCLOSURE_COLUMNS = ("disclosure_id", "position", "recorded_at", "fiscal_year", "audience",
                      "title", "subject_codes", "content_hash", "content_position", "checkpoint")


class EventIndexView:
    """Every event with who, when, what: the audit trail and the time → position map."""

    name = "event_index"
    tables = ("event_index",)

    def __init__(self, db: Database) -> None:
        self.db = db
        self.forget()

    def forget(self) -> None:
        self.upto: int | None = None
        self.owners: dict[str, tuple[str | None, str | None]] = {}

    def _owner(self, conn: Any, record: LogRecord) -> tuple[str | None, str | None]:
        """(subject id, unit code) an event belongs to, for per-subject and per-unit trails."""
        key = record.key
        if record.version == 1:
            payload = record.payload
            if record.type == "Subject.Registered":
                self.owners[key] = (key, str(payload["unit_code"]))
            elif record.type == "Unit.Registered":
                self.owners[key] = (None, str(payload["code"]))
            else:
                self.owners[key] = (None, None)
        if key not in self.owners and record.version > 1:
            row = fetchone(self.db, conn, "SELECT subject_id, unit_code FROM event_index "
                           "WHERE aggregate_id = ? AND version = 1", (key,))
            self.owners[key] = (row[0], row[1]) if row else (None, None)
        return self.owners[key]

    def apply(self, records: list[LogRecord], conn: Any) -> None:
        if self.upto is None:
            row = fetchone(self.db, conn, "SELECT MAX(recorded_upto) FROM event_index")
            self.upto = int(row[0]) if row and row[0] is not None else 0
        rows = []
        in_batch: dict[tuple[str, int], int] | None = None
        for r in records:
            at = micros(r.recorded_at)
            self.upto = max(self.upto, at)
            subject_id, unit_code = self._owner(conn, r)
            corrects = None
            if r.type == CORRECTION_TYPE:
                if in_batch is None:
                    in_batch = {(e.key, e.version): e.position for e in records}
                target = (r.key, int(r.payload["corrects_version"]))
                found = (in_batch[target],) if target in in_batch else fetchone(
                    self.db, conn, "SELECT position FROM event_index WHERE aggregate_id = ? "
                    "AND version = ?", target)
                corrects = int(found[0]) if found else None
            meta = r.meta
            rows.append((r.position, at, self.upto, r.type, r.key, r.version,
                         subject_id, unit_code, meta.actor_id if meta else None,
                         meta.actor_role if meta else None, meta.command_id if meta else None,
                         meta.effective_on.isoformat() if meta and meta.effective_on else None,
                         corrects, changes_json(r.payload)))
        bulk_insert(self.db, conn, "event_index", INDEX_COLUMNS, rows)


class SubjectView:
    """System-versioned subject rows; the annex tables and coverage are queries over them."""

    name = "subjects"
    tables = ("subject_rows", "unit_rows")

    def __init__(self, db: Database, ledger: Ledger, cache_size: int = 200_000) -> None:
        self.db = db
        self.ledger = ledger
        self.cache_size = cache_size
        self.forget()

    def forget(self) -> None:
        self.subjects: dict[str, Subject] = {}
        self.current: dict[str, dict[str, Any]] = {}
        self.units: dict[str, str] = {}  # unit code -> name
        self.unit_ids: dict[str, str] = {}  # aggregate id -> unit code

    def _unit_name(self, conn: Any, code: str) -> str:
        if code not in self.units:
            row = fetchone(self.db, conn, "SELECT name FROM unit_rows WHERE code = ?", (code,))
            self.units[code] = str(row[0]) if row else code
        return self.units[code]

    def _current(self, conn: Any, subject_id: str, known_new: bool = False) -> dict[
            str, Any] | None:
        if known_new:
            return self.current.get(subject_id)
        if subject_id not in self.current:
            rows = fetchall(self.db, conn, f"SELECT {', '.join(SUBJECT_COLUMNS)} FROM "
                            "subject_rows WHERE subject_id = ? AND valid_to = ?",
                            (subject_id, MAX_POSITION))
            if not rows:
                return None
            self.current[subject_id] = dict(zip(SUBJECT_COLUMNS, rows[0], strict=True))
        return self.current[subject_id]

    def _aggregate(self, record: LogRecord) -> Subject:
        key = record.key
        subject = self.subjects.get(key)
        if subject is None or subject.version != record.version - 1:
            if record.version == 1:
                subject = None
            else:
                found = self.ledger.load(record.aggregate_id, version=record.version - 1)
                assert isinstance(found, Subject)
                subject = found
        mutated = record.event.mutate(subject)
        assert isinstance(mutated, Subject)
        if len(self.subjects) >= self.cache_size:
            self.subjects.clear()
        self.subjects[key] = mutated
        return mutated

    def _unit_code(self, conn: Any, aggregate_id: str) -> str | None:
        if aggregate_id not in self.unit_ids:
            row = fetchone(self.db, conn, "SELECT code FROM unit_rows WHERE aggregate_id = ?",
                           (aggregate_id,))
            if row is None:
                return None
            self.unit_ids[aggregate_id] = str(row[0])
        return self.unit_ids[aggregate_id]

    def apply(self, records: list[LogRecord], conn: Any) -> None:
        pending: dict[str, list[dict[str, Any]]] = {}
        closes: dict[str, int] = {}
        for r in records:
            key = r.key
            if r.type.startswith("Subject.") or (r.type == CORRECTION_TYPE
                                                 and self._is_subject(conn, key)):
                subject = self._aggregate(r)
                old = self._current(conn, key, known_new=r.version == 1)
                row = subject_row(subject, self._unit_name(conn, subject.unit_code),
                                  int(old["seq_key"]) if old else r.position)
                self._version(pending, closes, key, old, row, r.position)
            elif r.type == "Unit.Registered":
                p = r.payload
                conn.execute(self.db.sql("INSERT INTO unit_rows VALUES (?,?,?,?,?)"),
                             (p["code"], key, p["name"], p["kind"], p["parent_code"]))
                self.units[str(p["code"])] = str(p["name"])
                self.unit_ids[key] = str(p["code"])
            elif r.type == CORRECTION_TYPE and "name" in r.payload["values"]:
                code = self._unit_code(conn, key)
                if code is None:
                    continue
                name = str(r.payload["values"]["name"])
                conn.execute(self.db.sql("UPDATE unit_rows SET name = ? WHERE code = ?"),
                             (name, code))
                self.units[code] = name
                for sid in self._subjects_of_unit(conn, code, pending):
                    current = self._current(conn, sid)
                    assert current is not None
                    self._version(pending, closes, sid, current,
                                  {**current, "unit_name": name}, r.position)
        self._flush(conn, pending, closes)

    def _version(self, pending: dict[str, list[dict[str, Any]]], closes: dict[str, int],
                 subject_id: str, old: dict[str, Any] | None, row: dict[str, Any],
                 position: int) -> None:
        """A new row version from `position` on, closing the one before it (if it changed)."""
        if not changed(old, row):
            return
        row["valid_from"] = position
        row["valid_to"] = MAX_POSITION
        queue = pending.setdefault(subject_id, [])
        if queue:
            queue[-1]["valid_to"] = position
        elif old is not None:
            closes[subject_id] = position
        queue.append(row)
        self.current[subject_id] = row

    def _is_subject(self, conn: Any, key: str) -> bool:
        return key in self.subjects or self._current(conn, key) is not None

    def _subjects_of_unit(self, conn: Any, code: str,
                          pending: dict[str, list[dict[str, Any]]]) -> list[str]:
        stored = {str(r[0]) for r in fetchall(
            self.db, conn, "SELECT subject_id FROM subject_rows WHERE unit_code = ? AND "
            "valid_to = ?", (code, MAX_POSITION))}
        fresh = {sid for sid, rows in pending.items() if rows[-1]["unit_code"] == code}
        return sorted(stored | fresh)

    def _flush(self, conn: Any, pending: dict[str, list[dict[str, Any]]],
               closes: dict[str, int]) -> None:
        cur = conn.cursor()
        if closes:
            cur.executemany(self.db.sql("UPDATE subject_rows SET valid_to = ? WHERE "
                                        "subject_id = ? AND valid_to = ?"),
                            [(pos, sid, MAX_POSITION) for sid, pos in closes.items()])
        inserts = [as_tuple(row) for rows in pending.values() for row in rows]
        bulk_insert(self.db, conn, "subject_rows", SUBJECT_COLUMNS, inserts)


class DisclosureView:
    name = "disclosures"
    tables = ("disclosure_rows",)

    def __init__(self, db: Database) -> None:
        self.db = db

    def forget(self) -> None:
        pass

    def apply(self, records: list[LogRecord], conn: Any) -> None:
        rows = []
        for r in records:
            if r.type != "Disclosure.Recorded":
                continue
            p = r.payload
            rows.append((p["disclosure_id"], r.position, micros(r.recorded_at),
                         p["fiscal_year"], p["audience"], p["title"],
                         json.dumps(p["subject_codes"], ensure_ascii=False), p["content_hash"],
                         p["content_position"],
                         json.dumps(p["checkpoint"], ensure_ascii=False, sort_keys=True,
                                    default=json_default) if p["checkpoint"] else None))
        bulk_insert(self.db, conn, "disclosure_rows", DISCLOSURE_COLUMNS, rows)


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

    def position(self) -> int:
        with self.lock:  # the runner's connection is not shared between threads
            return min(self.tracked().values(), default=0)

    def catch_up(self, *, limit: int | None = None,
                 progress: Callable[[int], None] | None = None) -> int:
        """Apply every pending event (or up to `limit` events); returns the projected position."""
        with self.lock:
            try:
                return self._catch_up(limit, progress)
            except BaseException:
                for view in self.views:
                    view.forget()
                raise

    def _catch_up(self, limit: int | None, progress: Callable[[int], None] | None) -> int:
        positions = self.tracked()
        done = min(positions.values(), default=0)
        with contextlib.closing(self.feed.batches(done, limit)) as batches:
            for batch in batches:
                with transaction(self.db, self.conn):
                    for view in self.views:
                        upto = positions[view.name]
                        if upto >= batch.last:
                            continue
                        mine = batch.records
                        if mine and mine[0].position <= upto:  # this view was ahead
                            mine = [r for r in mine if r.position > upto]
                        if mine:
                            view.apply(mine, self.conn)
                        self._advance(view.name, upto, batch.last)
                        positions[view.name] = batch.last
                if progress is not None:
                    progress(batch.last - done)
                done = batch.last
        self.positions = positions
        return min(positions.values(), default=0)

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
                view.forget()
