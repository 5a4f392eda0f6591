"""Deviation warnings for a monitoring snapshot, computed by the rule in force."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ledger.rules import MonitoringRule

HUNDRED = Decimal(100)


def execution_rate(budget: Decimal, executed: Decimal) -> Decimal:
    if budget == 0:
        return Decimal("0.00")
    return (executed / budget * HUNDRED).quantize(Decimal("0.01"))


def expected_execution(window_end: date, fiscal_year: int) -> Decimal:
    """Straight-line share of the year elapsed at the window's end, in percent."""
    months = (window_end.year - fiscal_year) * 12 + window_end.month
    months = max(0, min(12, months))
    return (Decimal(months) / 12 * HUNDRED).quantize(Decimal("0.01"))


def deviation_warnings(rule: MonitoringRule, fiscal_year: int, window_end: date,
                       rate: Decimal, indicators: list[dict[str, Any]]) -> list[dict[str, Any]]:
    warnings: list[dict[str, Any]] = []
    floor = expected_execution(window_end, fiscal_year) - rule.execution_tolerance_points
    if rate < floor:
        warnings.append({"code": "EXECUTION_BEHIND", "indicator": None,
                         "message": f"执行率 {rate}% 低于窗口期预期 {floor}%"})
    for item in indicators:
        progress = item.get("progress")
        if progress is not None and abs(Decimal(progress) - rate) > rule.max_progress_gap_points:
            warnings.append({"code": "PROGRESS_GAP", "indicator": item["name"],
                             "message": f"目标完成进度 {progress}% 与预算执行率 {rate}% "
                                        f"相差超过 {rule.max_progress_gap_points} 个百分点"})
        if item.get("likelihood") == "完全不可能":
            warnings.append({"code": "GOAL_UNACHIEVABLE", "indicator": item["name"],
                             "message": "预计全年目标完全不可能完成"})
    return warnings
