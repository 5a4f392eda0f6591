"""System-versioned subject rows: the annex tables, coverage and subject lists read them.

Every subject event gives the subject a new row version, current from its position until the
next one's; a unit's new name re-versions the unit's subjects.
"""

from __future__ import annotations

from typing import Any, Final

from ledger.application import Ledger
from ledger.domain.base import CORRECTION_TYPE, LedgerAggregate, type_name
from ledger.domain.registry import Unit
from ledger.domain.subject import Subject
from ledger.log import LogRecord
from ledger.store import Database, bulk_insert, fetchall, fetchone
from projections.rows import MAX_POSITION, SUBJECT_COLUMNS, SubjectRow, changed, subject_row
from projections.view import Write

UNIT_REGISTERED = type_name(Unit.Registered)
# A subject's events: its own, and those of the parts it is made of (a mixin aggregate's
# events keep the mixin's class, e.g. MonitoringFollowUp.WarningActed).
SUBJECT_EVENTS: tuple[type, ...] = (Subject.Event, *(
    part.Event for part in Subject.__mro__[1:]
    if isinstance(part, type) and issubclass(part, LedgerAggregate)
    and part is not LedgerAggregate))


class SubjectView:
    """System-versioned subject rows; the annex tables and coverage are queries over them."""

    name = "subjects"
    tables = ("subject_rows", "unit_rows")
    reads: Final = "records"

    def __init__(self, db: Database, ledger: Ledger, cache_size: int = 200_000) -> None:
        self.db = db
        self.ledger = ledger
        self.cache_size = cache_size
        self.forget()

    def forget(self) -> None:
        self.subjects: dict[str, Subject] = {}
        self.current: dict[str, SubjectRow] = {}
        self.units: dict[str, str] = {}  # unit code -> name
        self.unit_ids: dict[str, str] = {}  # aggregate id -> unit code

    def _unit_name(self, conn: Any, code: str) -> str:
        if code not in self.units:
            row = fetchone(self.db, conn, "SELECT name FROM unit_rows WHERE code = ?", (code,))
            self.units[code] = str(row[0]) if row else code
        return self.units[code]

    def _current(self, conn: Any, subject_id: str,
                 known_new: bool = False) -> SubjectRow | None:
        if known_new:
            return self.current.get(subject_id)
        if subject_id not in self.current:
            rows = fetchall(self.db, conn, f"SELECT {', '.join(SUBJECT_COLUMNS)} FROM "
                            "subject_rows WHERE subject_id = ? AND valid_to = ?",
                            (subject_id, MAX_POSITION))
            if not rows:
                return None
            self.current[subject_id] = SubjectRow(*rows[0])
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

    def derive(self, records: list[LogRecord], conn: Any) -> Write:
        pending: dict[str, list[SubjectRow]] = {}
        closes: dict[str, int] = {}
        units: list[tuple[str, tuple[Any, ...]]] = []  # unit_rows statements, in order
        for r in records:
            key = r.key
            if isinstance(r.event, SUBJECT_EVENTS) or (r.type == CORRECTION_TYPE
                                                      and self._is_subject(conn, r)):
                subject = self._aggregate(r)
                old = self._current(conn, key, known_new=r.version == 1)
                row = subject_row(subject, self._unit_name(conn, subject.unit_code),
                                  old.seq_key if old else r.position, key)
                self._version(pending, closes, key, old, row, r.position)
            elif r.type == UNIT_REGISTERED:
                p = r.payload
                units.append(("INSERT INTO unit_rows VALUES (?,?,?,?,?)",
                              (p["code"], key, p["name"], p["kind"], p["parent_code"])))
                self.units[str(p["code"])] = str(p["name"])
                self.unit_ids[key] = str(p["code"])
            elif r.type == CORRECTION_TYPE and "name" in r.payload["values"]:
                code = self._unit_code(conn, key)
                if code is None:
                    continue
                name = str(r.payload["values"]["name"])
                units.append(("UPDATE unit_rows SET name = ? WHERE code = ?", (name, code)))
                self.units[code] = name
                for sid in self._subjects_of_unit(conn, code, pending):
                    current = self._current(conn, sid)
                    assert current is not None
                    self._version(pending, closes, sid, current,
                                  current._replace(unit_name=name), r.position)
        return lambda conn: self._store(conn, units, pending, closes)

    def _version(self, pending: dict[str, list[SubjectRow]], closes: dict[str, int],
                 subject_id: str, old: SubjectRow | None, row: SubjectRow,
                 position: int) -> None:
        """A new row version from `position` on, closing the one before it (if it changed)."""
        if not changed(old, row):
            return
        row = row._replace(valid_from=position, valid_to=MAX_POSITION)
        queue = pending.setdefault(subject_id, [])
        if queue:
            queue[-1] = queue[-1]._replace(valid_to=position)
        elif old is not None:
            closes[subject_id] = position
        queue.append(row)
        self.current[subject_id] = row

    def _is_subject(self, conn: Any, record: LogRecord) -> bool:
        key = record.key
        if key in self.subjects or self._current(conn, key) is not None:
            return True
        if self._unit_code(conn, key) is not None:
            return False
        # A subject without a row: its registration was quarantined (projections.stops), and
        # this correction, of its name say, is where its row can begin.
        found = self.ledger.load(record.aggregate_id, version=record.version - 1)
        return isinstance(found, Subject)

    def _subjects_of_unit(self, conn: Any, code: str,
                          pending: dict[str, list[SubjectRow]]) -> list[str]:
        stored = {str(r[0]) for r in fetchall(
            self.db, conn, "SELECT subject_id FROM subject_rows WHERE unit_code = ? AND "
            "valid_to = ?", (code, MAX_POSITION))}
        fresh = {sid for sid, rows in pending.items() if rows[-1].unit_code == code}
        return sorted(stored | fresh)

    def _store(self, conn: Any, units: list[tuple[str, tuple[Any, ...]]],
               pending: dict[str, list[SubjectRow]], closes: dict[str, int]) -> None:
        cur = conn.cursor()
        for statement, params in units:
            cur.execute(self.db.sql(statement), params)
        if closes:
            cur.executemany(self.db.sql("UPDATE subject_rows SET valid_to = ? WHERE "
                                        "subject_id = ? AND valid_to = ?"),
                            [(pos, sid, MAX_POSITION) for sid, pos in closes.items()])
        inserts = [row for rows in pending.values() for row in rows]
        bulk_insert(self.db, conn, "subject_rows", SUBJECT_COLUMNS, inserts)
