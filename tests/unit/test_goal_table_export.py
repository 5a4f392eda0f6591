"""A form's header block (Report.preamble) in the xlsx writer: under the title, text kept as
text (a value starting with '=' is never a formula), and the table's header row after it."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from ledger.annex import Provenance
from projections.exports.goal_table import GOAL_TABLE_HEADERS, goal_table_bytes
from projections.exports.report import Report
from projections.exports.xlsx_export import xlsx_bytes

PROVENANCE = Provenance(position=42)


def report(preamble: tuple[tuple[str, str], ...]) -> Report:
    row = ("产出", "数量", "任务完成数", "≥", "100", "%", Decimal("30.00"), "TY-SL-001")
    return Report(title="2022年度项目支出绩效目标表", headers=GOAL_TABLE_HEADERS, rows=(row,),
                  provenance=PROVENANCE, numeric_columns=frozenset({6}), name="goal-table-t",
                  preamble=preamble)


def test_the_preamble_sits_between_title_and_table_as_text() -> None:
    book = load_workbook(io.BytesIO(xlsx_bytes(report((
        ("项目名称", "=HYPERLINK(\"http://x\")"), ("年度总体目标", "按时足额发放")))))).active
    assert book["A1"].value == "2022年度项目支出绩效目标表"
    assert (book["A2"].value, book["B2"].value) == ("项目名称", "=HYPERLINK(\"http://x\")")
    assert book["B2"].data_type == "s"  # text, never a formula
    assert "B2:H2" in {str(r) for r in book.merged_cells.ranges}
    assert book["A4"].value == "一级指标" and book["C5"].value == "任务完成数"
    assert book.freeze_panes == "A5"


def test_without_a_preamble_the_annex_layout_is_unchanged() -> None:
    book = load_workbook(io.BytesIO(goal_table_bytes(report(()), "xlsx"))).active
    assert book["A2"].value == "一级指标" and book.freeze_panes == "A3"
