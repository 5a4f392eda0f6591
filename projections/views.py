"""Point-in-time queries over the read models: every answer is pinned to a Moment.

As of a position P, a versioned row is visible when valid_from <= P < valid_to: an index
range lookup, not a replay. "As currently known, effective on D" reads today's rows and keeps
only the facts whose business date is on or before D.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from ledger.annex import AnnexKind, AnnexRow, AnnexTable
from ledger.application import Ledger
from ledger.domain.subject import Subject
from ledger.grades import Grade
from ledger.log import audit_json, to_entry
from ledger.store import Database, fetchall
from ledger.transcoder import LedgerMapper
from projections.changes import cell_changes
from projections.coverage import coverage_of
from projections.follow import Listener
from projections.projector import ConcurrentProjector, Runner
from projections.results_ledger import ResultsLedger, read_results_ledger
from projections.rows import SUBJECT_COLUMNS, SubjectRow, from_cents, from_micros, micros
from projections.stops import ViewStopped
from projections.values import (
    AuditEntry,
    Coverage,
    DisclosurePackage,
    DisclosureRecord,
    Moment,
    Page,
    Restatement,
    SubjectDetail,
    SubjectSummary,
)
from projections.view_check import IntegrityStatus

MAX_PAGE = 200
POLL_SECONDS = 1.0  # the longest "now" may trust silence (see ReadModel.listen)
CONCURRENT_RETRIES = 3  # catch-ups that may find another process's projection first
VISIBLE = "valid_from <= ? AND valid_to > ?"
AUDIT_COLUMNS = ("position, recorded_at, type, aggregate_id, version, subject_id, unit_code, "
                 "actor_id, actor_role, command_id, effective_on, corrects_position")


class ReadModel:
    """The read side of one ledger: projector plus queries, safe to share between threads."""

    def __init__(self, db: Database, ledger: Ledger) -> None:
        self.db = db
        self.ledger = ledger
        self.runner = Runner(db, ledger)
        self.local = threading.local()
        self.connections: list[Any] = []
        self.connections_lock = threading.Lock()
        self.listener: Listener | None = None
        # What makes "now" trust its last catch-up (see listen): appends heard so far, the
        # count as the last completed catch-up began, when it began, and our own last save.
        self._heard_count = 0
        self._heard_before = -1
        self._checked = 0.0
        self._saved_upto = 0
        self._fresh_lock = threading.Lock()
        self._recorded_at: dict[int, datetime] = {}
        # What a server's watch last found (jixiao.watch): while the views differ from a
        # replay of the sealed log, nothing read from them cites a checkpoint.
        self.integrity = IntegrityStatus()
        ledger.saved_listeners.append(self._saved)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.stop()
        with contextlib.suppress(ValueError):
            self.ledger.saved_listeners.remove(self._saved)
        self.runner.close()
        with self.connections_lock:
            for conn in self.connections:
                conn.close()
            self.connections.clear()

    @contextmanager
    def conn(self) -> Iterator[Any]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.db.connect()
            self.local.conn = conn
            with self.connections_lock:
                self.connections.append(conn)
        yield conn

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """One statement, so one snapshot: read connections are in autocommit."""
        with self.conn() as conn:
            return fetchall(self.db, conn, sql, params)

    # -- positions and moments -------------------------------------------------------------

    def listen(self, poll_seconds: float = POLL_SECONDS) -> None:
        """Trust silence (PostgreSQL): while no append is heard, "now" needs no trip to the
        store. Appends by this process are known at once; others' are heard by LISTEN; and
        every `poll_seconds` we look anyway."""
        if self.db.backend == "postgres" and self.listener is None:
            self.listener = Listener(self.db, self._heard, poll_seconds)
            self.listener.start()

    def _saved(self, position: int) -> None:
        with self._fresh_lock:
            self._saved_upto = max(self._saved_upto, position)

    def _heard(self) -> None:
        self._heard_count += 1  # only the listener's thread writes it

    def catch_up(self) -> int:
        heard, began = self._heard_count, time.monotonic()  # before the log is read
        for attempt in range(1, CONCURRENT_RETRIES + 1):
            try:
                projected = self.runner.catch_up()
                break
            except ConcurrentProjector:  # another process projected first: take it from there
                if attempt == CONCURRENT_RETRIES:
                    raise
        with self._fresh_lock:
            self._heard_before = max(self._heard_before, heard)
            self._checked = max(self._checked, began)
        return projected

    def current(self) -> int:
        """The position "now" is answered at: caught up first, unless nothing can be new."""
        trusted = self.trusted()
        return self.catch_up() if trusted is None else trusted

    def trusted(self) -> int | None:
        """The projected position when nothing can be new (no trip to the store, so it may
        be asked on the event loop), else None: then `current` must catch up."""
        listener = self.listener
        if (listener is None or not listener.listening
                or self._heard_count != self._heard_before
                or self.runner.projected < self._saved_upto
                or time.monotonic() - self._checked > listener.poll_seconds
                or len(self.runner.positions) < len(self.runner.views)):  # views reset
            return None
        return self.runner.projected

    def position(self) -> int:
        return self.runner.position()

    def stopped_before(self) -> int | None:
        """The first event a view stopped on (projections.stops): answers stand just before
        it until it is quarantined. None while every view keeps up."""
        return min((s.position for s in list(self.runner.stopped.values())), default=None)

    def has(self, position: int) -> bool:
        """Whether the views are known to include `position` already (no trip to the store)."""
        return self.runner.projected >= position

    def wait_for(self, position: int, timeout: float = 5.0) -> int:
        if self.has(position):
            return self.runner.projected
        deadline = time.monotonic() + timeout
        while True:
            projected = self.catch_up()
            if projected >= position:
                return projected
            stopped = self.stopped_before()
            if stopped is not None and position >= stopped:
                raise ViewStopped(stopped)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"position {position} not projected within {timeout}s "
                                   f"(at {projected})")
            time.sleep(0.05)

    def resolve(self, *, position: int | None = None, as_of: datetime | None = None,
                effective_on: date | None = None) -> Moment:
        projected = self.current()
        if as_of is not None:
            if as_of.tzinfo is None:
                raise ValueError("asOf needs a timezone, e.g. 2022-09-30T18:00:00+08:00")
            row = self.rows("SELECT MAX(position) FROM event_index WHERE recorded_upto <= ?",
                            (micros(as_of),))
            found = int(row[0][0]) if row and row[0][0] is not None else 0
            # Up to the next indexed event: the command records between belong with `found`.
            after = self.rows("SELECT MIN(position) FROM event_index WHERE position > ?",
                              (found,))
            if after and after[0][0] is not None:
                found = int(after[0][0]) - 1
            elif found:
                found = projected
            position = found if position is None else min(position, found)
        if position is None or position > projected:
            position = projected
        if position < 0:
            raise ValueError("position must not be negative")
        return Moment(position=position, recorded_at=self.recorded_at(position),
                      effective_on=effective_on)

    def recorded_at(self, position: int) -> datetime | None:
        """When the event at (or last before) `position` was recorded; it never changes."""
        known = self._recorded_at.get(position)
        if known is None:
            row = self.rows("SELECT recorded_at FROM event_index WHERE position <= ? "
                            "ORDER BY position DESC LIMIT 1", (position,))
            if not row:
                return None
            known = from_micros(int(row[0][0]))
            if len(self._recorded_at) >= 4096:
                self._recorded_at.clear()
            self._recorded_at[position] = known
        return known

    # -- subjects --------------------------------------------------------------------------

    def _visible(self, moment: Moment, where: str, params: tuple[Any, ...],
                 order: str = "seq_key", limit: int | None = None) -> list[SubjectRow]:
        sql = (f"SELECT {', '.join(SUBJECT_COLUMNS)} FROM subject_rows WHERE {where} AND "
               f"{VISIBLE} ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit else ""))
        found = self.rows(sql, (*params, moment.position, moment.position))
        rows = [SubjectRow(*r) for r in found]
        return [effective(r, moment.effective_on) for r in rows
                if moment.effective_on is None or not r.registered_on
                or r.registered_on <= moment.effective_on.isoformat()]

    def evaluation_table(self, moment: Moment, fiscal_year: int, kind: AnnexKind) -> AnnexTable:
        annex = kind.value.replace("-", "_")
        rows = self._visible(moment, "annex = ? AND fiscal_year = ?", (annex, fiscal_year))
        return annex_table(rows, fiscal_year, kind)

    def year_rows(self, moment: Moment, fiscal_year: int) -> list[SubjectRow]:
        return self._visible(moment, "fiscal_year = ?", (fiscal_year,))

    def coverage(self, moment: Moment, fiscal_year: int) -> Coverage:
        return coverage_of(fiscal_year, self.year_rows(moment, fiscal_year))

    def subjects(self, moment: Moment, *, fiscal_year: int | None = None,
                 unit_code: str | None = None, grade: Grade | None = None, first: int = 50,
                 after: str | None = None) -> Page[SubjectSummary]:
        first = max(1, min(first, MAX_PAGE))
        clauses: list[str] = ["seq_key > ?"]
        params: list[Any] = [int(after or 0)]
        if fiscal_year is not None:
            clauses.append("fiscal_year = ?")
            params.append(fiscal_year)
        if unit_code is not None:
            clauses.append("unit_code = ?")
            params.append(unit_code)
        if grade is not None:
            clauses.append("grade = ?")
            params.append(grade.value)
        rows = self._visible(moment, " AND ".join(clauses), tuple(params), limit=first + 1)
        items = [summary(r) for r in rows[:first]]
        return Page(items=items, has_next=len(rows) > first,
                    end_cursor=str(rows[:first][-1].seq_key) if items else after)

    def subject(self, moment: Moment, code: str) -> SubjectDetail | None:
        rows = self._visible(moment, "code = ?", (code,))
        if not rows:
            return None
        row = rows[0]
        found = self.rows("SELECT MAX(version) FROM event_index WHERE aggregate_id = ? AND "
                          "position <= ?", (row.subject_id, moment.position))
        subject = self.ledger.load(UUID(row.subject_id), version=int(found[0][0]))
        assert isinstance(subject, Subject)
        return detail(summary(row), subject)

    def aggregate_at(self, aggregate_id: UUID, moment: Moment) -> Any:
        """An aggregate at the version it had at `moment`, or None if it had none yet."""
        found = self.rows("SELECT MAX(version) FROM event_index WHERE aggregate_id = ? AND "
                          "position <= ?", (str(aggregate_id), moment.position))
        if not found or found[0][0] is None:
            return None
        return self.ledger.load(aggregate_id, version=int(found[0][0]))

    def results_ledger(self, moment: Moment, fiscal_year: int,
                       changed: Mapping[UUID, Any] | None = None) -> ResultsLedger:
        """As of `moment`; `changed` (a preview's aggregates, by id) stand in for the stored
        ones."""
        ids = [UUID(r.subject_id) for r in self.year_rows(moment, fiscal_year)]
        over = changed or {}
        return read_results_ledger(
            lambda i: over[i] if i in over else self.aggregate_at(i, moment), ids, fiscal_year)

    # -- audit trail, disclosure, restatements -----------------------------------------------

    def audit_trail(self, moment: Moment, *, subject_code: str | None = None,
                    unit_code: str | None = None, first: int = 50,
                    after: str | None = None) -> Page[AuditEntry]:
        first = max(1, min(first, MAX_PAGE))
        clauses: list[str] = ["position > ?", "position <= ?"]
        params: list[Any] = [int(after or 0), moment.position]
        if subject_code is not None:
            rows = self._visible(moment, "code = ?", (subject_code,))
            if not rows:
                return Page(items=[], has_next=False, end_cursor=after)
            clauses.append("aggregate_id = ?")  # a subject's events are its aggregate's
            params.append(rows[0].subject_id)
        if unit_code is not None:
            clauses.append("unit_code = ?")
            params.append(unit_code)
        found = self.rows(f"{self._audit_select} WHERE {' AND '.join(clauses)} "
                          f"ORDER BY position LIMIT {first + 1}", tuple(params))
        items = [self._audit_entry(r) for r in found[:first]]
        return Page(items=items, has_next=len(found) > first,
                    end_cursor=str(items[-1].position) if items else after)

    def disclosure(self, moment: Moment, fiscal_year: int, audience: str) -> DisclosurePackage:
        found = self.rows("SELECT disclosure_id, position, recorded_at, fiscal_year, audience, "
                          "title, subject_codes, content_hash, content_position, checkpoint "
                          "FROM disclosure_rows WHERE fiscal_year = ? AND audience = ? AND "
                          "position <= ? ORDER BY position", (fiscal_year, audience,
                                                              moment.position))
        records = [DisclosureRecord(
            disclosure_id=r[0], position=int(r[1]), recorded_at=from_micros(int(r[2])),
            fiscal_year=int(r[3]), audience=r[4], title=r[5], subject_codes=json.loads(r[6]),
            content_hash=r[7], content_position=int(r[8]),
            checkpoint=json.loads(r[9]) if r[9] else None) for r in found]
        codes = {c for rec in records for c in rec.subject_codes}
        subjects = [summary(r) for r in self.year_rows(moment, fiscal_year) if r.code in codes]
        return DisclosurePackage(fiscal_year=fiscal_year, audience=audience,
                                 disclosures=records, subjects=subjects)

    def restatements(self, fiscal_year: int, kind: AnnexKind, since: Moment,
                     until: Moment) -> list[Restatement]:
        """Rows whose values differ between two moments, with the corrections responsible."""
        changes = cell_changes(self.evaluation_table(since, fiscal_year, kind),
                               self.evaluation_table(until, fiscal_year, kind))
        corrections: dict[str, list[AuditEntry]] = {}
        for ch in changes:
            if ch.subject_id not in corrections:
                corrections[ch.subject_id] = self._corrections(ch.subject_id, since, until)
        return [Restatement(subject_id=ch.subject_id, subject_name=ch.subject_name,
                            field=ch.field, before=ch.before, after=ch.after,
                            corrections=corrections[ch.subject_id]) for ch in changes]

    def _corrections(self, subject_id: str, since: Moment, until: Moment) -> list[AuditEntry]:
        unit = self.rows("SELECT unit_code FROM event_index WHERE aggregate_id = ? AND "
                         "version = 1", (subject_id,))
        unit_code = unit[0][0] if unit else None
        found = self.rows(
            f"{self._audit_select} WHERE corrects_position IS NOT NULL AND "
            "position > ? AND position <= ? AND (subject_id = ? OR (subject_id IS NULL AND "
            "unit_code = ?)) ORDER BY position",
            (since.position, until.position, subject_id, unit_code))
        return [self._audit_entry(r) for r in found]

    def events_of_type(self, type_like: str, moment: Moment) -> list[AuditEntry]:
        """The audit entries of every event whose type is LIKE `type_like`, up to `moment`."""
        found = self.rows(f"{self._audit_select} WHERE type LIKE ? AND position <= ? "
                          "ORDER BY position", (type_like, moment.position))
        return [self._audit_entry(r) for r in found]

    @property
    def _audit_select(self) -> str:
        """Index rows with their events' stored fields, joined by position."""
        return (f"SELECT {AUDIT_COLUMNS}, e.topic, e.state FROM event_index JOIN "
                f"{self.db.events_table} e ON e.{self.db.position_column} = position")

    def _audit_entry(self, r: Any) -> AuditEntry:
        mapper = self.ledger.mapper
        assert isinstance(mapper, LedgerMapper)
        entry = to_entry(mapper, int(r[0]), r[3], int(r[4]), r[12], r[13])
        return AuditEntry(
            position=int(r[0]), recorded_at=from_micros(int(r[1])), type=r[2],
            aggregate_id=r[3], version=int(r[4]), subject_id=r[5], unit_code=r[6],
            actor_id=r[7], actor_role=r[8], command_id=r[9],
            effective_on=date.fromisoformat(r[10]) if r[10] else None,
            corrects_position=int(r[11]) if r[11] is not None else None,
            changes=orjson.loads(audit_json(entry.payload)))


def annex_table(rows: list[SubjectRow], fiscal_year: int, kind: AnnexKind) -> AnnexTable:
    """The annex table of a year's rows (in registration order): those it lists."""
    annex = kind.value.replace("-", "_")
    listed = [r for r in rows if r.annex == annex and int(r.fiscal_year) == fiscal_year]
    return AnnexTable(fiscal_year=fiscal_year, kind=kind, rows=tuple(
        AnnexRow(seq=i, subject_id=r.subject_id, subject_name=r.name,
                 unit_name=r.unit_name, funds=from_cents(int(r.funds_cents)),
                 assessment=r.assessment or "",
                 grade=Grade(r.grade) if r.grade else None)
        for i, r in enumerate(listed, start=1)))


def effective(row: SubjectRow, on: date | None) -> SubjectRow:
    """Hide the facts whose business date is after `on` (as currently known)."""
    if on is None:
        return row
    day = on.isoformat()
    if row.evaluated_on and row.evaluated_on > day:
        row = row._replace(assessment=None, evaluation_score=None, evaluated_on=None,
                           annex=None)
    if row.graded_on and row.graded_on > day:
        row = row._replace(grade=None, grade_score=None, graded_on=None)
    return row


def summary(r: SubjectRow) -> SubjectSummary:
    return SubjectSummary(
        subject_id=r.subject_id, code=r.code, name=r.name, kind=r.kind,
        fiscal_year=int(r.fiscal_year), unit_code=r.unit_code, unit_name=r.unit_name,
        funds=from_cents(int(r.funds_cents)), is_key=bool(r.is_key),
        is_new=bool(r.is_new), tags=json.loads(r.tags), goal_status=r.goal_status,
        grade=Grade(r.grade) if r.grade else None,
        score=Decimal(r.grade_score) if r.grade_score else None,
        annex=AnnexKind(r.annex.replace("_", "-")) if r.annex else None,
        version=int(r.version), valid_from=int(r.valid_from), seq_key=int(r.seq_key))


def detail(head: SubjectSummary, s: Subject) -> SubjectDetail:
    return SubjectDetail(
        summary=head, goals=tuple(s.indicators), ex_ante=tuple(s.ex_ante),
        monitoring=tuple(s.monitoring), self_evaluation=s.self_evaluation,
        evaluations=tuple(s.evaluations.values()), spot_checks=tuple(s.spot_checks.values()),
        grade=s.grade, consequences=tuple(s.results.values()),
        rectifications=tuple(s.rectifications.values()), corrections=tuple(s.corrections),
        goal_table=s.goal_table(),
        warning_actions=tuple(s.warning_actions.values()),
        self_evaluations=tuple(s.self_evaluations), predecessor_code=s.predecessor_code)
