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
from ledger.log import json_default

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


def latest(items: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    return max(items.values(), key=lambda i: int(i["seq"]), default=None)


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


def subject_row(subject: Subject, unit_name: str, seq_key: int) -> dict[str, Any]:
    evaluation = latest(subject.evaluations)
    spot = latest(subject.spot_checks)
    results = list(subject.results.values())
    open_items = [r["status"] for r in subject.rectifications.values()]
    rectification = None
    if open_items:
        rectification = "accepted" if all(s == "accepted" for s in open_items) else "open"
    annex = None
    if evaluation is not None and (subject.is_key or subject.kind == "department_overall"):
        annex = ANNEX_KINDS[subject.kind]
    return {
        "subject_id": str(subject.id), "version": subject.version, "code": subject.code,
        "name": subject.name, "kind": subject.kind, "fiscal_year": subject.fiscal_year,
        "unit_code": subject.unit_code, "unit_name": unit_name,
        "funds_cents": cents(subject.funds), "is_key": int(subject.is_key),
        "is_new": int(subject.is_new), "tags": tags_json(subject.tags),
        "seq_key": seq_key, "registered_on": iso(subject.registered_on),
        "goal_status": subject.goal_status,
        "monitoring": monitoring_json(subject.monitoring) if subject.monitoring else "[]",
        "self_score": text(subject.self_evaluation["score"]) if subject.self_evaluation else None,
        "evaluations": len(subject.evaluations),
        "assessment": evaluation["narrative"] if evaluation else None,
        "evaluation_score": text(evaluation["score"]) if evaluation else None,
        "evaluated_on": iso(evaluation["evaluated_on"]) if evaluation else None,
        "spot_checks": len(subject.spot_checks) if spot else 0,
        "grade": subject.grade["grade"] if subject.grade else None,
        "grade_score": text(subject.grade["score"]) if subject.grade else None,
        "graded_on": iso(subject.grade.get("graded_on")) if subject.grade else None,
        "annex": annex,
        "priority": int(any(r["kind"] == "priority" for r in results)),
        "reduced_cents": sum(cents(r["amount"]) for r in results if r["kind"] == "reduce"),
        "cancelled": int(any(r["kind"] == "cancel" for r in results)),
        "recovered_cents": sum(cents(r["amount"]) for r in results if r["kind"] == "recover"),
        "rectification": rectification,
    }


def changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    return old is None or _versioned(old) != _versioned(new)


def changes_json(payload: dict[str, Any]) -> str:
    """An event's fields as the audit trail shows them (keys sorted, money as strings)."""
    try:
        return orjson.dumps(payload, default=json_default,
                            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits
        return json.dumps(payload, ensure_ascii=False, sort_keys=True, default=json_default)
