"""Self-evaluation scoring (项目支出绩效自评表): budget execution plus each indicator by weight.

The rule is data (ledger.rules.SelfEvaluationWeights, in the versioned rule set); the table
this builds is what SelfEvaluationSubmitted stores, so a later rule never rescores it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ledger.domain.records import GoalIndicator
from ledger.errors import InvalidInput
from ledger.rules import QUALITATIVE_BANDS, SelfEvaluationWeights
from ledger.text import parse_decimal_text

ONE = Decimal(1)
HUNDRED = Decimal(100)
GROUPS = {"产出": "output", "成本": "output", "效益": "outcome", "满意度": "satisfaction"}
GROUP_LABELS = {"output": "产出指标", "outcome": "效益指标", "satisfaction": "满意度指标"}
FUND_SOURCES = ("本年财政拨款", "上年结转", "其他资金")
_LEADING_NUMBER = re.compile(r"\s*([0-9][0-9,]*(\.[0-9]+)?)")


def group_of(indicator: GoalIndicator) -> str:
    return GROUPS.get(indicator.level1, "output")


def rounded(value: Decimal, rule: SelfEvaluationWeights) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-rule.places), rounding=rule.rounding)


def band_of(result: Mapping[str, Any]) -> str | None:
    band = result.get("band")
    if band is None and result.get("achieved") is not None:
        band = "达成" if result["achieved"] else "未达成"
    return None if band is None else str(band)


def _number(text: str, what: str) -> Decimal:
    try:
        return Decimal(str(parse_decimal_text(text)))
    except (ArithmeticError, ValueError):
        found = _LEADING_NUMBER.match(text)  # a target such as "50个" or "≤90万元" names units
        if found is None:
            raise InvalidInput(f"{what} {text!r} is not a number",
                               field="indicatorResults.actual",
                               rule="quantitative values are numbers") from None
        return Decimal(found.group(1).replace(",", ""))


def target_number(indicator: GoalIndicator) -> Decimal:
    return _number(indicator.target.lstrip("≥≤=<>＞＜ "), f"target of {indicator.name!r}")


def fraction(indicator: GoalIndicator, result: Mapping[str, Any],
             rule: SelfEvaluationWeights) -> Decimal:
    """The share of an indicator's points it earns, between 0 and 1."""
    if indicator.comparator == "qualitative":
        band = band_of(result)
        if band not in QUALITATIVE_BANDS:
            raise InvalidInput(f"qualitative indicator {indicator.name!r} needs a band: "
                               f"{' / '.join(QUALITATIVE_BANDS)}",
                               field="indicatorResults.band", rule="定性指标 three bands")
        return rule.qualitative_bands[band]
    if result.get("actual") in (None, ""):
        raise InvalidInput(f"indicator {indicator.name!r} needs a numeric actual value",
                           field="indicatorResults.actual", rule="quantitative actual")
    actual = _number(str(result["actual"]), f"actual of {indicator.name!r}")
    target = target_number(indicator)
    if indicator.comparator == ">=":
        return min(ONE, actual / target) if target else ONE
    if indicator.comparator == "<=":
        return min(ONE, target / actual) if actual else ONE
    allowed = abs(target) * rule.equal_tolerance_percent / HUNDRED
    return ONE if abs(actual - target) <= allowed else Decimal(0)


def budget_table(lines: Sequence[Mapping[str, Any]], budget: Decimal | None,
                 executed: Decimal | None) -> dict[str, Any]:
    """The 项目资金 rows and their totals; the totals, when also given, must agree."""
    sources = [str(line["source"]) for line in lines]
    if len(set(sources)) != len(sources):
        raise InvalidInput("a fund source appears twice", field="budgetLines.source",
                           rule="one row per source")
    order = sorted(lines, key=lambda line: FUND_SOURCES.index(str(line["source"])))
    columns = ("initial_budget", "full_year_budget", "executed")
    amounts = [{c: Decimal(line[c]) for c in columns} for line in order]
    kept = [{"source": str(line["source"]), **a} for line, a in zip(order, amounts, strict=True)]
    initial: Decimal | None = None
    if kept:
        initial, full, spent = (sum((a[c] for a in amounts), Decimal("0.00")) for c in columns)
        for name, given, total in (("budgetAmount", budget, full),
                                   ("executedAmount", executed, spent)):
            if given is not None and given != total:
                raise InvalidInput(f"{name} {given} is not the sum of the rows ({total})",
                                   field=name, rule="年度资金总额 = the sum of its sources")
        budget, executed = full, spent
    if budget is None or executed is None:
        raise InvalidInput("give the budget rows by source, or budgetAmount and "
                           "executedAmount", field="budgetLines", rule="项目资金 is stated")
    return {"lines": kept, "initial_budget": initial, "full_year_budget": budget,
            "executed": executed}


def score_table(indicators: Sequence[GoalIndicator], results: Sequence[Mapping[str, Any]],
                budget: dict[str, Any], weights: SelfEvaluationWeights
                ) -> tuple[Decimal, dict[str, Decimal], dict[str, Any]]:
    """(score, parts by group, the scored table) for the approved indicators' results."""
    by_name = {str(r["name"]): r for r in results}
    names = {i.name for i in indicators}
    missing = sorted(names - set(by_name))
    if missing:
        raise InvalidInput(f"no result for indicators: {', '.join(missing)}",
                           field="indicatorResults", rule="every approved indicator is evaluated")
    unknown = sorted(set(by_name) - names)
    if unknown:
        raise InvalidInput(f"results for unknown indicators: {', '.join(unknown)}",
                           field="indicatorResults", rule="indicator must be in the goals")
    has_satisfaction = any(group_of(i) == "satisfaction" for i in indicators)
    used = weights if has_satisfaction else weights.without_satisfaction()
    group_weight = {g: Decimal(getattr(used, g)) for g in GROUP_LABELS}
    declared: dict[str, Decimal] = {}
    for ind in indicators:
        declared[group_of(ind)] = declared.get(group_of(ind), Decimal(0)) + ind.weight
    rows: list[dict[str, Any]] = []
    earned = dict.fromkeys(GROUP_LABELS, Decimal(0))
    for ind in indicators:
        group, result = group_of(ind), by_name[ind.name]
        share = declared[group]
        points = rounded(group_weight[group] * ind.weight / share if share else Decimal(0),
                         used)
        score = rounded(fraction(ind, result, used) * points, used)
        earned[group] += score
        rows.append({"level1": ind.level1, "level2": ind.level2, "name": ind.name,
                     "comparator": ind.comparator, "target": ind.target, "unit": ind.unit,
                     "actual": str(result.get("actual") or ""), "band": band_of(result),
                     "points": points, "score": score,
                     "deviation_reason": str(result.get("deviation_reason") or "")})
    full, spent = budget["full_year_budget"], budget["executed"]
    rate = (spent / full * HUNDRED).quantize(Decimal("0.01")) if full else Decimal("0.00")
    execution = (rounded(used.budget_execution * min(ONE, spent / full), used) if full
                 else rounded(Decimal(0), used))
    parts = {"budget_execution": execution, **earned}
    totals = [{"name": "预算执行率", "points": used.budget_execution, "score": execution}]
    totals += [{"name": GROUP_LABELS[g], "points": group_weight[g], "score": earned[g]}
               for g in GROUP_LABELS if group_weight[g] or earned[g]]
    score = sum(parts.values(), Decimal(0))
    table = {**budget, "execution_rate": rate, "indicators": rows, "totals": totals,
             "rule": used.describe()}
    return score, parts, table
