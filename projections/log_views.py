"""Views that mirror the log event by event: the event index (audit trails, time → position)
and the disclosures. Maintained by projections.projector.Runner.

They read log entries (ledger.log.LogEntry: the stored JSON, parsed), not domain events: what
they store is text anyway, and a rebuild then decodes each event once, not twice. The index
keeps no copy of an event's fields; audit trails read them from the log by position."""

from __future__ import annotations

import json
from typing import Any, Final

from ledger.domain.base import CORRECTION_TYPE, type_name
from ledger.domain.disclosure import Disclosure
from ledger.domain.registry import Unit
from ledger.domain.subject import Subject
from ledger.log import LogEntry
from ledger.store import Database, bulk_insert, fetchone
from projections.rows import micros
from projections.view import Write

INDEX_COLUMNS = ("position", "recorded_at", "recorded_upto", "type", "aggregate_id", "version",
                 "subject_id", "unit_code", "actor_id", "actor_role", "command_id",
                 "effective_on", "corrects_position")
DISCLOSURE_COLUMNS = ("disclosure_id", "position", "recorded_at", "fiscal_year", "audience",
                      "title", "subject_codes", "content_hash", "content_position", "checkpoint")
SUBJECT_REGISTERED = type_name(Subject.Registered)
UNIT_REGISTERED = type_name(Unit.Registered)
DISCLOSURE_RECORDED = type_name(Disclosure.Recorded)


class EventIndexView:
    """Every event with who, when, what: the audit trail and the time → position map."""

    name = "event_index"
    tables = ("event_index",)
    reads: Final = "entries"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.forget()

    def forget(self) -> None:
        self.upto: int | None = None
        self.owners: dict[str, tuple[str | None, str | None]] = {}

    def _owner(self, conn: Any, record: LogEntry) -> tuple[str | None, str | None]:
        """(subject id, unit code) an event belongs to, for per-subject and per-unit trails."""
        key = record.key
        if record.version == 1:
            payload = record.state  # codes are plain text, as stored
            if record.type == SUBJECT_REGISTERED:
                self.owners[key] = (key, str(payload["unit_code"]))
            elif record.type == UNIT_REGISTERED:
                self.owners[key] = (None, str(payload["code"]))
            else:
                self.owners[key] = (None, None)
        if key not in self.owners and record.version > 1:
            row = fetchone(self.db, conn, "SELECT subject_id, unit_code FROM event_index "
                           "WHERE aggregate_id = ? AND version = 1", (key,))
            self.owners[key] = (row[0], row[1]) if row else (None, None)
        return self.owners[key]

    def derive(self, records: list[LogEntry], conn: Any) -> Write:
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
                target = (r.key, int(r.state["corrects_version"]))
                found = (in_batch[target],) if target in in_batch else fetchone(
                    self.db, conn, "SELECT position FROM event_index WHERE aggregate_id = ? "
                    "AND version = ?", target)
                corrects = int(found[0]) if found else None
            meta = r.meta
            rows.append((r.position, at, self.upto, r.type, r.key, r.version,
                         subject_id, unit_code, meta["actor_id"] if meta else None,
                         meta["actor_role"] if meta else None,
                         meta["command_id"] if meta else None,
                         meta.get("effective_on") or None if meta else None,
                         corrects))
        return lambda conn: bulk_insert(self.db, conn, "event_index", INDEX_COLUMNS, rows)


class DisclosureView:
    """What was disclosed to whom; disclosures never change once recorded."""

    name = "disclosures"
    tables = ("disclosure_rows",)
    reads: Final = "entries"

    def __init__(self, db: Database) -> None:
        self.db = db

    def forget(self) -> None:
        pass

    def derive(self, records: list[LogEntry], conn: Any) -> Write:
        rows = []
        for r in records:
            if r.type != DISCLOSURE_RECORDED:
                continue
            p = r.payload
            rows.append((p["disclosure_id"], r.position, micros(r.recorded_at),
                         p["fiscal_year"], p["audience"], p["title"],
                         json.dumps(p["subject_codes"], ensure_ascii=False), p["content_hash"],
                         p["content_position"],
                         json.dumps(p["checkpoint"], ensure_ascii=False, sort_keys=True)
                         if p["checkpoint"] else None))
        return lambda conn: bulk_insert(self.db, conn, "disclosure_rows", DISCLOSURE_COLUMNS,
                                        rows)
