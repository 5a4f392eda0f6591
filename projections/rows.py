"""From a subject's state to its summary row: the one place that decides annex membership."""

from __future__ import annotations

import functools
import json
import operator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from ledger.domain.subject import Subject

MAX_POSITION = 2**62  # valid_to of a row that is still current
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ANNEX_KINDS = {"project": "key_projects", "policy": "key_projects",
               "fiscal_operations": "key_projects", "department_overall": "department_overall"}

SUBJECT_COLUMNS = (
    "subject_id", "valid_from", "valid_to", "version", "code", "name", "kind", "fiscal_year",
    "unit_code", "unit_name", "funds_cents", "is_key", "is_new", "tags", "seq_key",
    "registered_on", "goal_status", "monitoring", "self_score", "evaluations", "assessment",
    "evaluation_score", "evaluated_on", "spot_checks", "grade", "grade_score", "graded_on",
    "annex", "priority", "reduced_cents", "cancelled", "recovered_cents", "rectification",
)
# Columns whose change makes a new version (everything but the bookkeeping).
VERSIONED = tuple(c for c in SUBJECT_COLUMNS if c not in ("valid_from", "valid_to", "version"))
as_tuple = operator.itemgetter(*SUBJECT_COLUMNS)
_versioned = operator.itemgetter(*VERSIONED)


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


def _seq(item: dict[str, Any]) -> int:
    return int(item["seq"])


def latest(items: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if len(items) == 1:  # the usual case, and a rebuild asks a million times
        return next(iter(items.values()))
    return max(items.values(), key=_seq, default=None)


@functools.lru_cache(maxsize=256)
def _tags_json(tags: tuple[str, ...]) -> str:
    return json.dumps(list(tags), ensure_ascii=False)


def tags_json(tags: list[str]) -> str:
    return _tags_json(tuple(tags))


def monitoring_json(snapshots: list[dict[str, Any]]) -> str:
    return orjson.dumps([
        {"round": m["round"], "window_end": m["window_end"],
         "budget_cents": cents(m["budget_amount"]), "warnings": len(m["warnings"])}
        for m in snapshots]).decode()


def subject_row(subject: Subject, unit_name: str, seq_key: int,
                subject_id: str | None = None) -> dict[str, Any]:
    """`subject_id` is str(subject.id), when the caller has it at hand."""
    evaluation = latest(subject.evaluations)
    grade = subject.grade
    self_evaluation = subject.self_evaluation
    priority = cancelled = reduced = recovered = 0
    for result in subject.results.values():
        kind = result["kind"]
        if kind == "reduce":
            reduced += cents(result["amount"])
        elif kind == "recover":
            recovered += cents(result["amount"])
        elif kind == "priority":
            priority = 1
        elif kind == "cancel":
            cancelled = 1
    rectification = None
    if subject.rectifications:
        rectification = "accepted" if all(
            r["status"] == "accepted" for r in subject.rectifications.values()) else "open"
    annex = None
    if evaluation is not None and (subject.is_key or subject.kind == "department_overall"):
        annex = ANNEX_KINDS[subject.kind]
    return {
        "subject_id": subject_id or str(subject.id), "version": subject.version,
        "code": subject.code, "name": subject.name, "kind": subject.kind,
        "fiscal_year": subject.fiscal_year, "unit_code": subject.unit_code,
        "unit_name": unit_name, "funds_cents": cents(subject.funds),
        "is_key": int(subject.is_key), "is_new": int(subject.is_new),
        "tags": tags_json(subject.tags), "seq_key": seq_key,
        "registered_on": iso(subject.registered_on), "goal_status": subject.goal_status,
        "monitoring": monitoring_json(subject.monitoring) if subject.monitoring else "[]",
        "self_score": text(self_evaluation["score"]) if self_evaluation else None,
        "evaluations": len(subject.evaluations),
        "assessment": evaluation["narrative"] if evaluation else None,
        "evaluation_score": text(evaluation["score"]) if evaluation else None,
        "evaluated_on": iso(evaluation["evaluated_on"]) if evaluation else None,
        "spot_checks": len(subject.spot_checks),
        "grade": grade["grade"] if grade else None,
        "grade_score": text(grade["score"]) if grade else None,
        "graded_on": iso(grade.get("graded_on")) if grade else None,
        "annex": annex, "priority": priority, "reduced_cents": reduced,
        "cancelled": cancelled, "recovered_cents": recovered,
        "rectification": rectification,
    }


def changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    return old is None or _versioned(old) != _versioned(new)
