"""From a subject's state to its summary row: the one place that decides annex membership."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import orjson

from ledger.domain.monitoring_round import WarningAction
from ledger.domain.records import MonitoringSnapshot
from ledger.domain.subject import Subject
from ledger.subject_kinds import ANNEX_KINDS, OVERALL_KINDS

MAX_POSITION = 2**62  # valid_to of a row that is still current
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)



class SubjectRow(NamedTuple):
    """One version of a subject's summary row: the columns of `subject_rows`, in order."""

    subject_id: str
    valid_from: int  # the position this version became current
    valid_to: int  # the position it stopped being current (MAX_POSITION while current)
    version: int
    code: str
    name: str
    kind: str
    fiscal_year: int
    unit_code: str
    unit_name: str
    funds_cents: int
    is_key: int
    is_new: int
    tags: str  # JSON list
    seq_key: int  # registration position: the annex order and the paging key
    registered_on: str | None
    goal_status: str
    monitoring: str  # JSON: round, window end, budget and warnings of each snapshot
    self_score: str | None
    evaluations: int
    assessment: str | None  # 评价情况: the narrative of the evaluation the grade rests on
    evaluation_score: str | None
    evaluated_on: str | None
    spot_checks: int
    grade: str | None
    grade_score: str | None
    graded_on: str | None
    annex: str | None
    priority: int
    reduced_cents: int
    cancelled: int
    recovered_cents: int
    rectification: str | None


SUBJECT_COLUMNS: tuple[str, ...] = SubjectRow._fields
# Columns whose change makes a new version (everything but the bookkeeping).
VERSIONED = tuple(c for c in SUBJECT_COLUMNS if c not in ("valid_from", "valid_to", "version"))
_versioned = operator.itemgetter(*(SUBJECT_COLUMNS.index(c) for c in VERSIONED))


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def cents(amount: Decimal | None) -> int:
    return int((amount or Decimal(0)) * 100)


def from_cents(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(Decimal("0.01"))


def iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


@functools.lru_cache(maxsize=256)
def _tags_json(tags: tuple[str, ...]) -> str:
    return json.dumps(list(tags), ensure_ascii=False)


def tags_json(tags: list[str]) -> str:
    return _tags_json(tuple(tags))


def monitoring_json(snapshots: list[MonitoringSnapshot],
                    actions: Iterable[WarningAction] = ()) -> str:
    """Each snapshot as the coverage reads it; one that reports for a round also as the
    round summaries read it (projections.monitoring_rounds), with the actions citing its
    warnings. (A snapshot outside any round keeps the shape earlier builds stored.)"""
    acted: dict[str, list[str]] = {}
    for a in actions:
        acted.setdefault(a.snapshot_id, []).append(a.action)
    return orjson.dumps([
        {"round": m.round_name, "window_end": m.window_end,
         "budget_cents": cents(m.budget_amount), "warnings": len(m.warnings)}
        | ({} if m.round_id is None else {
            "id": m.id, "round_id": m.round_id, "reported_on": m.reported_on,
            "executed_cents": cents(m.executed_amount),
            "warning_codes": [w.code for w in m.warnings], "actions": acted.get(m.id, [])})
        for m in snapshots]).decode()


def subject_row(subject: Subject, unit_name: str, seq_key: int,
                subject_id: str | None = None) -> SubjectRow:
    """The current version's row (valid from 0 until its position is known).

    `subject_id` is str(subject.id), when the caller has it at hand.
    """
    evaluation = subject.basis_evaluation()  # the one the authoritative score rests on
    grade = subject.grade
    self_evaluation = subject.self_evaluation
    priority = cancelled = reduced = recovered = 0
    for result in subject.results.values():
        kind = result.kind
        if kind == "reduce":
            reduced += cents(result.amount)
        elif kind == "recover":
            recovered += cents(result.amount)
        elif kind == "priority":
            priority = 1
        elif kind == "cancel":
            cancelled = 1
    rectification = None
    if subject.rectifications:
        rectification = "accepted" if all(
            r.status == "accepted" for r in subject.rectifications.values()) else "open"
    annex = None
    if evaluation is not None and (subject.is_key or subject.kind in OVERALL_KINDS):
        annex = ANNEX_KINDS[subject.kind]
    return SubjectRow(
        subject_id=subject_id or str(subject.id), valid_from=0, valid_to=MAX_POSITION,
        version=subject.version, code=subject.code, name=subject.name, kind=subject.kind,
        fiscal_year=subject.fiscal_year, unit_code=subject.unit_code, unit_name=unit_name,
        funds_cents=cents(subject.funds), is_key=int(subject.is_key),
        is_new=int(subject.is_new), tags=tags_json(subject.tags), seq_key=seq_key,
        registered_on=iso(subject.registered_on), goal_status=subject.goal_status,
        monitoring=monitoring_json(subject.monitoring, subject.warning_actions.values())
        if subject.monitoring else "[]",
        self_score=text(self_evaluation.score) if self_evaluation else None,
        evaluations=len(subject.evaluations),
        assessment=evaluation.narrative if evaluation else None,
        evaluation_score=text(evaluation.score) if evaluation else None,
        evaluated_on=iso(evaluation.evaluated_on) if evaluation else None,
        spot_checks=len(subject.spot_checks),
        grade=grade.grade.value if grade else None,
        grade_score=text(grade.score) if grade else None,
        graded_on=iso(grade.graded_on) if grade else None,
        annex=annex, priority=priority, reduced_cents=reduced, cancelled=cancelled,
        recovered_cents=recovered, rectification=rectification)


def changed(old: SubjectRow | None, new: SubjectRow) -> bool:
    return old is None or _versioned(old) != _versioned(new)
