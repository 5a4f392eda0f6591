"""Self-evaluation tables imported from an .xlsx in the published layout: all or nothing,
every refusal naming its sheet, row and column."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from ledger.application import Ledger
from ledger.importing.self_evaluation_import import import_self_evaluations
from ledger.importing.table_reader import TableImportError
from tests.integration.helpers import max_position
from tests.unit.test_self_evaluation_table import subject

INDICATOR_ROWS = [
    ("产出指标", "数量指标", "建成数量", "≥50个", 45, 8, 7.2, "两处选址调整，顺延至次年"),
    (None, "成本指标", "单位成本", "≤90万元", "100", 8, None, None),
    (None, "时效指标", "按期完成率", "≥95%", 95, 34, None, None),
    ("效益指标", "社会效益指标", "服务保障水平", "有效提升", "部分达成", 30, None, None),
    ("满意度指标", "服务对象满意度指标", "满意度", "≥90%", 92, 10, None, None),
]


def sheet_rows(code: str = "S9", year: int = 2022,
               indicators: list[tuple[Any, ...]] | None = None) -> list[list[Any]]:
    """The published layout: title, 项目名称/编码, 项目资金, 绩效指标, 总分."""
    return [
        [f"项目支出绩效自评表 ({year}年度)"],
        ["项目名称", "相山区民政局2022年养老服务设施"],
        ["项目编码", code],
        ["主管部门", "相山区民政局", None, "实施单位", "相山区民政局"],
        ["项目资金（万元）", None, "年初预算数", "全年预算数", "全年执行数", "分值", "执行率",
         "得分"],
        [None, "年度资金总额", 9000, 9000, "8997.40", 10, None, None],
        [None, "其中：本年财政拨款", 8000, 8000, "7997.40", None, None, None],
        [None, "上年结转", 1000, 1000, 1000, None, None, None],
        [None, "其他资金", None, None, None, None, None, None],
        ["年度总体目标", "预期目标", None, None, "实际完成情况"],
        ["绩效指标", "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值",
         "得分", "偏差原因分析及改进措施"],
        *[["", *row] for row in (indicators if indicators is not None else INDICATOR_ROWS)],
        ["总分", None, None, None, None, None, 100, None],
    ]


def workbook(path: Path, *sheets: list[list[Any]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for number, rows in enumerate(sheets, start=1):
        ws = wb.create_sheet(f"自评表{number}")
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_a_table_in_the_published_layout_is_scored_by_the_ledger(
        memory_ledger: Ledger, tmp_path: Path) -> None:
    subject(memory_ledger)
    result = import_self_evaluations(memory_ledger, workbook(tmp_path / "自评.xlsx",
                                                             sheet_rows()))
    assert (result.subjects, result.scores) == (("S9",), ("86.40",))
    kept = memory_ledger.subject("S9").self_evaluations[-1]
    assert kept.status == "submitted"
    assert [(b.source, b.executed) for b in kept.budget_lines] == [
        ("本年财政拨款", Decimal("7997.40")), ("上年结转", Decimal("1000.00"))]
    assert kept.indicators[0].deviation_reason == "两处选址调整，顺延至次年"
    assert kept.indicators[3].band == "部分达成"
    before = max_position(memory_ledger)
    again = import_self_evaluations(memory_ledger, tmp_path / "自评.xlsx")
    assert not again.appended and max_position(memory_ledger) == before


def problems(app: Ledger, path: Path) -> list[tuple[int | None, str | None, str]]:
    before = max_position(app)
    with pytest.raises(TableImportError) as info:
        import_self_evaluations(app, path)
    assert max_position(app) == before, "a refused file records nothing"
    return [(p.row, p.column, p.rule) for p in info.value.problems]


def test_refusals_name_the_row_and_the_column_and_record_nothing(
        memory_ledger: Ledger, tmp_path: Path) -> None:
    subject(memory_ledger)
    bad = [list(r) for r in INDICATOR_ROWS]
    bad[0][4] = "许多"  # 实际完成值 not a number: row 12, column F
    bad[3][4] = "基本达成"  # not a band: row 15, column F
    bad[4][2] = "群众满意度"  # not an approved indicator: row 16, column D
    rows = sheet_rows(indicators=[tuple(r) for r in bad])
    rows[5][4] = "8997.41"  # 年度资金总额 is not the sum: row 6, column E
    good = sheet_rows()  # a good sheet in the same file is not recorded either
    found = problems(memory_ledger, workbook(tmp_path / "bad.xlsx", good, rows))
    assert (6, "E", "total-mismatch") in found
    assert (12, "F", "invalid-value") in found
    assert (15, "F", "invalid-band") in found
    assert (16, "D", "unknown-indicator") in found
    assert (None, None, "missing-indicator") in found
    assert memory_ledger.subject("S9").self_evaluations == ()


def test_a_wrong_title_year_or_subject_is_refused(memory_ledger: Ledger,
                                                  tmp_path: Path) -> None:
    subject(memory_ledger)
    assert (1, "A", "year-mismatch") in problems(
        memory_ledger, workbook(tmp_path / "y.xlsx", sheet_rows(year=2023)))
    assert (3, "B", "unknown-subject") in problems(
        memory_ledger, workbook(tmp_path / "s.xlsx", sheet_rows(code="S404")))
    untitled = sheet_rows()[1:]
    assert problems(memory_ledger, workbook(tmp_path / "t.xlsx", untitled)) == [
        (1, "A", "missing-title")]
