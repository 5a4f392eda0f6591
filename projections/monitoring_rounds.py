"""Monitoring rounds as of a moment: who in scope reported, who was late, who has not
reported, how much money was monitored, what warnings were raised and what followed them.

Read from the versioned subject rows (their `monitoring` JSON carries each snapshot's round,
date, amounts, warning codes and the actions citing them), so a year-wide round costs one
range query, not a replay per subject. The round itself is its aggregate at the version it
had at the moment. docs/domain.md, lifecycle step 3.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.domain.base import stable_id, type_name
from ledger.domain.monitoring_round import WARNING_ACTIONS, MonitoringRound
from ledger.monitoring import execution_rate
from ledger.permissions import units_over
from projections.rows import SubjectRow, from_cents
from projections.values import Moment
from projections.views import ReadModel

ROUND_OPENED = type_name(MonitoringRound.Opened)
STATUSES = {"reported": "已报送", "late": "逾期报送", "not_reported": "未报送"}


@dataclass(frozen=True)
class RoundInfo:
    """A round as opened (and perhaps closed) by the finance bureau."""

    round_id: str
    name: str
    fiscal_year: int
    window_start: date
    window_end: date
    unit_codes: tuple[str, ...]
    subject_kinds: tuple[str, ...]
    due_on: date
    opened_on: date | None
    closed: bool
    closed_on: date | None


@dataclass(frozen=True)
class RoundSubject:
    """One subject in a round's scope and where it stands."""

    code: str
    name: str
    kind: str
    unit_code: str
    unit_name: str
    funds: Decimal
    status: str  # reported, late, not_reported
    snapshot_id: str | None  # the latest snapshot for the round
    reported_on: date | None  # the first snapshot's date: on time or late
    budget_amount: Decimal | None
    executed_amount: Decimal | None
    execution_rate: Decimal | None
    warnings: tuple[str, ...]  # warning codes of the latest snapshot
    actions: tuple[str, ...]  # actions citing a warning of any of its snapshots in the round

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]


@dataclass(frozen=True)
class CodeCount:
    code: str
    label: str
    count: int


@dataclass(frozen=True)
class RoundSummary:
    round: RoundInfo
    position: int
    subjects: tuple[RoundSubject, ...]
    in_scope: int
    reported: int  # on time
    late: int
    not_reported: int
    funds_in_scope: Decimal
    monitored_amount: Decimal  # budget amounts of the snapshots received (on time or late)
    executed_amount: Decimal
    execution_rate: Decimal
    warnings: tuple[CodeCount, ...]
    actions: tuple[CodeCount, ...]

    @property
    def received(self) -> int:
        return self.reported + self.late

    def statements(self) -> list[str]:
        """The round in the words of the annual report."""
        return [f"{self.round.name}：跟踪监控项目{self.received}个，监控资金"
                f"{self.monitored_amount}万元，预算执行率{self.execution_rate}%",
                f"应报{self.in_scope}个，按期报送{self.reported}个，逾期报送{self.late}个，"
                f"未报送{self.not_reported}个",
                f"预警{sum(w.count for w in self.warnings)}条，"
                f"处理{sum(a.count for a in self.actions)}项"]


def _round_at(read: ReadModel, moment: Moment, aggregate_id: str) -> MonitoringRound | None:
    found = read.rows("SELECT MAX(version) FROM event_index WHERE aggregate_id = ? AND "
                      "position <= ?", (aggregate_id, moment.position))
    if not found or found[0][0] is None:
        return None
    loaded = read.ledger.load(UUID(aggregate_id), version=int(found[0][0]))
    assert isinstance(loaded, MonitoringRound)
    return loaded


def _info(r: MonitoringRound) -> RoundInfo:
    return RoundInfo(round_id=r.round_id, name=r.name, fiscal_year=r.fiscal_year,
                     window_start=r.window_start, window_end=r.window_end,
                     unit_codes=tuple(r.unit_codes), subject_kinds=tuple(r.subject_kinds),
                     due_on=r.due_on, opened_on=r.opened_on, closed=r.closed,
                     closed_on=r.closed_on)


def rounds(read: ReadModel, moment: Moment, fiscal_year: int | None = None) -> list[RoundInfo]:
    """The rounds opened by the moment, in the order opened."""
    found = read.rows("SELECT aggregate_id FROM event_index WHERE type = ? AND position <= ? "
                      "ORDER BY position", (ROUND_OPENED, moment.position))
    out = []
    for (aggregate_id,) in found:
        r = _round_at(read, moment, str(aggregate_id))
        if r is not None and (fiscal_year is None or r.fiscal_year == fiscal_year):
            out.append(_info(r))
    return out


def find_round(read: ReadModel, moment: Moment, round_id: str) -> RoundInfo | None:
    r = _round_at(read, moment, str(stable_id("monitoring_round", round_id)))
    return None if r is None else _info(r)


def _parents(read: ReadModel) -> Callable[[str], str | None]:
    parents = {str(code): parent for code, parent in
               read.rows("SELECT code, parent_code FROM unit_rows")}
    return parents.get


def _in_scope(info: RoundInfo, row: SubjectRow, parent_of: Callable[[str], str | None]) -> bool:
    if info.subject_kinds and row.kind not in info.subject_kinds:
        return False
    return not info.unit_codes or any(
        u in info.unit_codes for u in units_over(row.unit_code, parent_of))


def _subject(info: RoundInfo, row: SubjectRow, on: date | None) -> RoundSubject:
    mine: list[dict[str, Any]] = [
        s for s in json.loads(row.monitoring) if s.get("round_id") == info.round_id
        and (on is None or s.get("reported_on") is None or s["reported_on"] <= on.isoformat())]
    base = RoundSubject(code=row.code, name=row.name, kind=row.kind, unit_code=row.unit_code,
                        unit_name=row.unit_name, funds=from_cents(int(row.funds_cents)),
                        status="not_reported", snapshot_id=None, reported_on=None,
                        budget_amount=None, executed_amount=None, execution_rate=None,
                        warnings=(), actions=())
    if not mine:
        return base
    first, latest = mine[0], mine[-1]
    reported_on = date.fromisoformat(first["reported_on"]) if first.get("reported_on") else None
    budget = from_cents(int(latest["budget_cents"]))
    executed = from_cents(int(latest.get("executed_cents", 0)))
    late = reported_on is not None and reported_on > info.due_on
    return replace(base, status="late" if late else "reported",
                   snapshot_id=latest.get("id"), reported_on=reported_on,
                   budget_amount=budget, executed_amount=executed,
                   execution_rate=execution_rate(budget, executed),
                   warnings=tuple(latest.get("warning_codes", ())),
                   actions=tuple(a for s in mine for a in s.get("actions", ())))


def round_summary(read: ReadModel, moment: Moment, round_id: str,
                  allows: Callable[[SubjectRow], bool] | None = None) -> RoundSummary | None:
    """The round as of `moment`, over the subjects in its scope that `allows` lets through
    (all of them for a full reader); None when no such round was open by then."""
    info = find_round(read, moment, round_id)
    if info is None:
        return None
    parent_of = _parents(read)
    rows = [r for r in read.year_rows(moment, info.fiscal_year)
            if _in_scope(info, r, parent_of) and (allows is None or allows(r))]
    subjects = tuple(_subject(info, r, moment.effective_on) for r in rows)
    received = [s for s in subjects if s.status != "not_reported"]
    budget = sum((s.budget_amount or Decimal(0) for s in received), Decimal("0.00"))
    executed = sum((s.executed_amount or Decimal(0) for s in received), Decimal("0.00"))
    warnings = Counter(code for s in received for code in s.warnings)
    actions = Counter(a for s in received for a in s.actions)
    return RoundSummary(
        round=info, position=moment.position, subjects=subjects, in_scope=len(subjects),
        reported=sum(1 for s in subjects if s.status == "reported"),
        late=sum(1 for s in subjects if s.status == "late"),
        not_reported=sum(1 for s in subjects if s.status == "not_reported"),
        funds_in_scope=sum((s.funds for s in subjects), Decimal("0.00")),
        monitored_amount=budget, executed_amount=executed,
        execution_rate=execution_rate(budget, executed),
        warnings=tuple(CodeCount(code=c, label=c, count=n) for c, n in sorted(warnings.items())),
        actions=tuple(CodeCount(code=a, label=WARNING_ACTIONS.get(a, a), count=n)
                      for a, n in sorted(actions.items())))
