"""The sample's goal tables (绩效目标表) and a small indicator library (核心指标库).

ILLUSTRATIVE throughout: the source report gives no goal tables, no overall goals and no
split of funds by source, so the texts and splits below are invented (and say so in the
overall goal); only each subject's total funds are the report's. A few subjects get a full
goal table (header and library codes); one goes through a return with comments before its
approval, as the exchange between the 绩效科 and a unit usually runs. Every other subject
keeps the plain declaration and approval the loader always made.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Protocol

ILLUSTRATIVE = "（示例：原报告未载明，系演示用）"


class Run(Protocol):
    def __call__(self, method: str, key: str, **fields: Any) -> Any: ...


# (code, sector, level1, level2, name, unit, direction, reference value)
LIBRARY: tuple[tuple[str, str, str, str, str, str, str, str], ...] = (
    ("TY-SX-001", "通用", "产出", "时效", "按期完成率", "%", ">=", "95"),
    ("TY-MY-001", "通用", "满意度", "服务对象满意度", "服务对象满意度", "%", ">=", "90"),
    ("SB-SL-001", "社会保障", "产出", "数量", "保障对象覆盖率", "%", ">=", "100"),
    ("CZ-SL-001", "城乡建设", "产出", "数量", "维修任务完成率", "%", ">=", "100"),
)
CITED = {"按期完成率": "TY-SX-001", "服务对象满意度": "TY-MY-001"}

# Subject code -> (年度总体目标, share of the funds that is 本年财政拨款, 其他资金 share);
# 上年结转 is the rest, so the three always add up to the subject's funds.
FULL_TABLES: dict[str, tuple[str, Decimal, Decimal]] = {
    "XS-2022-KP-01": ("及时完成辖区市政道路、排水设施应急维修，保障城市运行安全。",
                      Decimal("0.90"), Decimal("0")),
    "XS-2022-KP-05": ("按时足额发放农村最低生活保障金，做到应保尽保。",
                      Decimal("1"), Decimal("0")),
    "XS-2022-DO-04": ("保障民政局履职和各项民政业务正常开展，提升基本民生保障水平。",
                      Decimal("0.85"), Decimal("0.05")),
}
RETURNED_FIRST = "XS-2022-KP-05"  # declared without a library code, returned, resubmitted


def load_library(run: Run) -> None:
    for code, sector, level1, level2, name, unit, direction, reference in LIBRARY:
        run("add_library_indicator", code, code=code, sector=sector, level1=level1,
            level2=level2, name=name, unit=unit, direction=direction,
            reference_value=reference, effective_on=date(2021, 9, 1))


def header(code: str, funds: Decimal) -> dict[str, Any]:
    overall, appropriated, other_share = FULL_TABLES[code]
    current = (funds * appropriated).quantize(Decimal("0.01"))
    other = (funds * other_share).quantize(Decimal("0.01"))
    return {"overall_goal": overall + ILLUSTRATIVE, "funds_by_source": {
        "current_appropriation": str(current), "carried_over": str(funds - current - other),
        "other": str(other)}}


def cited(indicators: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**i, "library_code": CITED[i["name"]]} if i["name"] in CITED else i
            for i in indicators]


def declare_and_approve(run: Run, code: str, funds: Decimal,
                        indicators: list[dict[str, Any]]) -> None:
    """The goal exchange of one subject, ending approved as the loader always had it."""
    if code not in FULL_TABLES:
        run("declare_goals", code, subject_code=code, indicators=indicators,
            effective_on=date(2021, 11, 15))
    elif code == RETURNED_FIRST:
        run("declare_goals", code, subject_code=code, indicators=indicators,
            effective_on=date(2021, 11, 15))
        run("review_goals", f"{code}-return", subject_code=code, decision="return",
            comments="请填报年度总体目标和资金来源，并引用核心指标库的通用指标" + ILLUSTRATIVE,
            effective_on=date(2021, 11, 25))
        run("declare_goals", f"{code}-again", subject_code=code, indicators=cited(indicators),
            **header(code, funds), effective_on=date(2021, 12, 2))
    else:
        run("declare_goals", code, subject_code=code, indicators=cited(indicators),
            **header(code, funds), effective_on=date(2021, 11, 15))
    run("review_goals", code, subject_code=code, decision="approve", comments="同意",
        effective_on=date(2022, 1, 10))
