"""The goal table's records (绩效目标表) and the indicator library's (核心指标库).

Kept apart from ledger.domain.records so each form's state has a module of its own; they are
frozen slotted dataclasses for the same reason (docs/domain.md §2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.domain.record_values import opt_decimal as _opt_decimal
from ledger.domain.records import GoalIndicator


@dataclass(frozen=True, slots=True)
class FundsBySource:
    """资金来源: 本年财政拨款, 上年结转, 其他资金 (万元); 年度资金总额 is their sum."""

    current_appropriation: Decimal
    carried_over: Decimal
    other: Decimal

    @property
    def total(self) -> Decimal:
        return self.current_appropriation + self.carried_over + self.other

    @classmethod
    def of(cls, d: Mapping[str, Any] | None) -> FundsBySource | None:
        if d is None:
            return None
        return cls(current_appropriation=_opt_decimal(d.get("current_appropriation"))
                   or Decimal("0.00"),
                   carried_over=_opt_decimal(d.get("carried_over")) or Decimal("0.00"),
                   other=_opt_decimal(d.get("other")) or Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class GoalStep:
    """One exchange over the goal table: declared, returned (with comments), approved or
    adjusted (with the reason), at which goal revision, by which role, effective when."""

    action: str  # declared / returned / approved / adjusted
    revision: int
    text: str  # the review's comments or the adjustment's reason; empty on a declaration
    actor_role: str
    effective_on: date | None


@dataclass(frozen=True, slots=True)
class GoalTableHeader:
    """The goal table's header: 年度总体目标 and the funds by source (None: not declared,
    e.g. goals declared before the goal table had a header)."""

    overall_goal: str
    funds_by_source: FundsBySource | None


@dataclass(frozen=True, slots=True)
class LibraryIndicator:
    """One indicator of the core indicator library (核心绩效指标库) in its latest revision."""

    code: str
    sector: str  # 行业/领域
    level1: str
    level2: str
    name: str
    unit: str
    direction: str  # >=, <=, = or qualitative
    reference_value: str
    revision: int
    status: str  # active / retired
    note: str  # the reason given for the latest revision or the retirement

    @classmethod
    def of(cls, d: Mapping[str, Any], revision: int, note: str = "") -> LibraryIndicator:
        return cls(code=str(d["code"]), sector=str(d["sector"]), level1=str(d["level1"]),
                   level2=str(d["level2"]), name=str(d["name"]), unit=str(d.get("unit") or ""),
                   direction=str(d["direction"]),
                   reference_value=str(d.get("reference_value") or ""), revision=revision,
                   status="active", note=note)


@dataclass(frozen=True, slots=True)
class GoalTable:
    """The goal table (绩效目标表) as it stands: status, header, indicators and the exchange
    that led there (each return's comments, each resubmission, the approval)."""

    status: str  # none / declared / returned / approved
    revision: int
    overall_goal: str
    funds_by_source: FundsBySource | None
    indicators: tuple[GoalIndicator, ...]
    history: tuple[GoalStep, ...]
