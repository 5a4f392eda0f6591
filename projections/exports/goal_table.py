"""One subject's goal table (绩效目标表) as a Report, in the standard layout: the header
block (项目名称, 实施单位, 资金 by source, 年度总体目标, the review exchange) above the
indicator table (一级指标, 二级指标, 三级指标 with direction, value, unit and weight).

Written by the annex exports' writers (xlsx and PDF), with the same provenance."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ledger.annex import Provenance
from ledger.domain.goal_records import GoalStep, GoalTable
from projections.exports.pdf_export import pdf_bytes
from projections.exports.report import Cell, Report, format_decimal
from projections.exports.xlsx_export import xlsx_bytes
from projections.values import SubjectDetail

GOAL_TABLE_HEADERS = ("一级指标", "二级指标", "三级指标", "指标方向", "指标值", "计量单位",
                      "权重", "指标库编码")
GOAL_TABLE_FORMATS = ("xlsx", "pdf")
DIRECTIONS = {">=": "≥", "<=": "≤", "=": "=", "qualitative": "定性"}
STATUS_LABELS = {"none": "未申报", "declared": "已申报，待审核", "returned": "已退回",
                 "approved": "已批复"}
ACTION_LABELS = {"declared": "申报", "returned": "退回", "approved": "批复", "adjusted": "调整"}
KIND_TITLES = {"department_overall": "部门整体支出绩效目标表",
               "fiscal_operations": "财政运行综合绩效目标表"}
NOT_STATED = "（未填报）"


def step_text(step: GoalStep) -> str:
    when = f"（{step.effective_on.isoformat()}）" if step.effective_on else ""
    said = f"：{step.text}" if step.text else ""
    return f"第{step.revision}版 {ACTION_LABELS.get(step.action, step.action)}{when}{said}"


def _amount(value: Decimal | None) -> str:
    return NOT_STATED if value is None else format_decimal(value)


def goal_table_report(detail: SubjectDetail, provenance: Provenance) -> Report:
    """The subject's goal table as of the detail's moment."""
    s = detail.summary
    table = detail.goal_table or GoalTable(status=s.goal_status, revision=0, overall_goal="",
                                           funds_by_source=None, indicators=detail.goals,
                                           history=())
    funds = table.funds_by_source
    preamble: tuple[tuple[str, str], ...] = (
        ("项目名称", s.name),
        ("评价对象编码", s.code),
        ("实施单位", s.unit_name),
        ("年度资金总额（万元）", _amount(funds.total if funds else s.funds)),
        ("其中：本年财政拨款", _amount(funds.current_appropriation if funds else None)),
        ("上年结转", _amount(funds.carried_over if funds else None)),
        ("其他资金", _amount(funds.other if funds else None)),
        ("年度总体目标", table.overall_goal or NOT_STATED),
        ("目标状态", f"{STATUS_LABELS.get(table.status, table.status)}（第{table.revision}版）"),
        ("审核记录", "\n".join(step_text(h) for h in table.history) or "无"),
    )
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (i.level1, i.level2, i.name, DIRECTIONS.get(i.comparator, i.comparator), i.target,
         i.unit, i.weight, i.library_code or "")
        for i in table.indicators)
    title = f"{s.fiscal_year}年度{KIND_TITLES.get(s.kind, '项目支出绩效目标表')}"
    return Report(title=title, headers=GOAL_TABLE_HEADERS, rows=rows, provenance=provenance,
                  numeric_columns=frozenset({6}), wrap_columns=frozenset({2}),
                  name=f"goal-table-{_slug(s.code)}-{s.fiscal_year}",
                  fiscal_year=s.fiscal_year, preamble=preamble)


def _slug(code: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in code)


def goal_table_bytes(report: Report, fmt: str) -> bytes:
    """The goal table's file in a format of GOAL_TABLE_FORMATS."""
    if fmt not in GOAL_TABLE_FORMATS:
        raise ValueError(f"a goal table is exported as xlsx or pdf, not {fmt!r}")
    return pdf_bytes(report) if fmt == "pdf" else xlsx_bytes(report)


def write_goal_table(report: Report, fmt: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(goal_table_bytes(report, fmt))
