"""The rows of a self-evaluation table (项目支出绩效自评表), as the SelfEvaluation record holds
them: the 项目资金 rows by source, each indicator scored, the totals by level 1."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.domain.record_values import as_decimal as _decimal


@dataclass(frozen=True, slots=True)
class SelfEvaluationBudgetLine:
    """One 项目资金 row: 年初预算数, 全年预算数, 全年执行数 of one source (万元)."""

    source: str  # 本年财政拨款, 上年结转 or 其他资金
    initial_budget: Decimal
    full_year_budget: Decimal
    executed: Decimal

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> SelfEvaluationBudgetLine:
        return cls(source=str(d["source"]), initial_budget=_decimal(d["initial_budget"]),
                   full_year_budget=_decimal(d["full_year_budget"]),
                   executed=_decimal(d["executed"]))


@dataclass(frozen=True, slots=True)
class SelfEvaluationIndicator:
    """One indicator row: 年度指标值, 实际完成值 (or the band of a qualitative one), 分值, 得分,
    偏差原因分析及改进措施."""

    level1: str
    level2: str
    name: str
    comparator: str
    target: str
    unit: str
    actual: str
    band: str | None  # 达成 / 部分达成 / 未达成, for a qualitative indicator
    points: Decimal
    score: Decimal
    deviation_reason: str

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> SelfEvaluationIndicator:
        band = d.get("band")
        return cls(level1=str(d["level1"]), level2=str(d["level2"]), name=str(d["name"]),
                   comparator=str(d["comparator"]), target=str(d["target"]),
                   unit=str(d.get("unit") or ""), actual=str(d.get("actual") or ""),
                   band=None if band is None else str(band), points=_decimal(d["points"]),
                   score=_decimal(d["score"]),
                   deviation_reason=str(d.get("deviation_reason") or ""))


@dataclass(frozen=True, slots=True)
class SelfEvaluationTotal:
    """A total row: 预算执行率, or a level-1 group (产出/效益/满意度指标) with its points."""

    name: str
    points: Decimal
    score: Decimal

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> SelfEvaluationTotal:
        return cls(name=str(d["name"]), points=_decimal(d["points"]),
                   score=_decimal(d["score"]))
