"""The sample's self-evaluation tables (项目支出绩效自评表): illustrative, not from the report.

Every subject's unit submits its table with the funds by source; the bureau accepts it. Where
the published assessment says 预算执行不到位, the first version states a lower execution than
the ledger's monitoring supports and is returned with a reason; the corrected second version
is accepted, so the history shows both.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")


def budget_lines(funds: Decimal, executed_share: Decimal) -> list[dict[str, str]]:
    """Nine tenths of the funds this year's appropriation, the rest carried over."""
    current = (funds * Decimal("0.9")).quantize(CENT)
    lines = []
    for source, amount in (("本年财政拨款", current), ("上年结转", funds - current)):
        lines.append({"source": source, "initial_budget": str(amount),
                      "full_year_budget": str(amount),
                      "executed": str((amount * executed_share).quantize(CENT))})
    return lines


def results(lagging: bool) -> list[dict[str, Any]]:
    return [
        {"name": "任务完成数", "actual": "100"},
        {"name": "按期完成率", "actual": "90" if lagging else "96",
         "deviation_reason": "合同约定的付款节点滞后；已督促按节点验收付款" if lagging else ""},
        {"name": "服务保障水平", "band": "达成"},
        {"name": "服务对象满意度", "actual": "93"},
    ]


def submit_self_evaluation(run: Any, code: str, funds: Decimal, lagging: bool) -> None:
    """`run` is the loader's: (method, key, **fields) with a fixed command id per key."""
    if lagging:
        run("submit_self_evaluation", f"{code}-v1", subject_code=code,
            budget_lines=budget_lines(funds, Decimal("0.80")), indicator_results=results(True),
            effective_on=date(2023, 2, 20))
        run("review_self_evaluation", f"{code}-v1", subject_code=code, version=1,
            decision="return", reasons=["全年执行数与国库支付数据不一致，请核对后重新填报"],
            effective_on=date(2023, 2, 24))
    version = 2 if lagging else 1
    run("submit_self_evaluation", code, subject_code=code,
        budget_lines=budget_lines(funds, Decimal("0.97")), indicator_results=results(lagging),
        effective_on=date(2023, 2, 28))
    run("review_self_evaluation", code, subject_code=code, version=version, decision="accept",
        comments="同意", effective_on=date(2023, 3, 3))
