"""Self-evaluation scoring (绩效自评): budget execution plus goal completion by weight."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ledger.domain.records import GoalIndicator
from ledger.errors import InvalidInput
from ledger.monitoring import execution_rate
from ledger.rules import SelfEvaluationWeights
from ledger.text import parse_decimal_text

ONE = Decimal(1)
CENT = Decimal("0.01")
GROUPS = {"产出": "output", "成本": "output", "效益": "outcome", "满意度": "satisfaction"}


def completion(indicator: GoalIndicator, result: Mapping[str, Any]) -> Decimal:
    """A quantitative indicator met scores in full, otherwise in proportion to completion."""
    comparator = indicator.comparator
    if comparator == "qualitative":
        return ONE if result.get("achieved") else Decimal(0)
    try:
        actual = Decimal(str(parse_decimal_text(result["actual"])))
        target = Decimal(indicator.target)
    except (KeyError, ArithmeticError, ValueError):
        raise InvalidInput(f"indicator {indicator.name!r} needs a numeric actual value",
                           field="indicatorResults.actual", rule="quantitative actual") from None
    if actual < 0 or target < 0:
        raise InvalidInput("indicator values are non-negative", field="indicatorResults.actual",
                           rule="non-negative")
    if comparator == ">=":
        return ONE if actual >= target else (actual / target if target else ONE)
    if comparator == "<=":
        return ONE if actual <= target else (target / actual if actual else ONE)
    if actual == target:
        return ONE
    high = max(actual, target)
    return min(actual, target) / high if high else ONE


def score_self_evaluation(indicators: Sequence[GoalIndicator], results: list[dict[str, Any]],
                          budget: Decimal, executed: Decimal,
                          weights: SelfEvaluationWeights) -> tuple[Decimal, dict[str, Decimal]]:
    by_name = {str(r["name"]): r for r in results}
    missing = sorted({i.name for i in indicators} - set(by_name))
    if missing:
        raise InvalidInput(f"no result for indicators: {', '.join(missing)}",
                           field="indicatorResults", rule="every approved indicator is evaluated")
    unknown = sorted(set(by_name) - {i.name for i in indicators})
    if unknown:
        raise InvalidInput(f"results for unknown indicators: {', '.join(unknown)}",
                           field="indicatorResults", rule="indicator must be in the goals")
    has_satisfaction = any(GROUPS.get(i.level1) == "satisfaction" for i in indicators)
    used = weights if has_satisfaction else weights.without_satisfaction()
    weighted: dict[str, tuple[Decimal, Decimal]] = {}
    for ind in indicators:
        group = GROUPS.get(ind.level1, "output")
        done, total = weighted.get(group, (Decimal(0), Decimal(0)))
        w = ind.weight
        weighted[group] = (done + w * completion(ind, by_name[ind.name]), total + w)
    rate = min(execution_rate(budget, executed), Decimal(100))
    parts = {"budget_execution": (used.budget_execution * rate / 100).quantize(CENT)}
    for group in ("output", "outcome", "satisfaction"):
        done, total = weighted.get(group, (Decimal(0), Decimal(0)))
        share = done / total if total else Decimal(0)
        parts[group] = (getattr(used, group) * share).quantize(CENT)
    return sum(parts.values(), Decimal(0)).quantize(CENT), parts
