"""复评结果 as a Report: the review result table as the finance bureau publishes it, one row
per re-review, with the score reviewed, the re-review's score and their difference, and the
per-indicator differences in words."""

from __future__ import annotations

from ledger.annex import Provenance
from projections.exports.report import Cell, Report, format_decimal
from projections.review import ReviewResultRow, ReviewResults

REVIEW_HEADERS = ("序号", "被抽查单位", "项目名称", "抽取方式", "复核对象", "原评分", "复评得分",
                  "差异", "复评等级", "指标复核", "发现问题")


def indicator_text(row: ReviewResultRow) -> str:
    """"任务完成数：自评 30.00，复评 28.00，差异 -2.00" per indicator, one a line."""
    lines = []
    for i in row.indicators:
        own = "—" if i.reviewed_score is None else format_decimal(i.reviewed_score)
        diff = "—" if i.difference is None else format_decimal(i.difference)
        lines.append(f"{i.name}：自评 {own}，复评 {format_decimal(i.score)}，差异 {diff}"
                     + (f"（{i.remarks}）" if i.remarks else ""))
    return "\n".join(lines)


def review_report(results: ReviewResults, provenance: Provenance) -> Report:
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (r.seq, r.unit_name, r.subject_name, r.method_label, r.reviewed, r.reviewed_score,
         r.review_score, r.difference, r.review_grade_label, indicator_text(r),
         "；".join(r.findings))
        for r in results.rows)
    return Report(title=results.title, headers=REVIEW_HEADERS, rows=rows,
                  provenance=provenance, numeric_columns=frozenset({5, 6, 7}),
                  wrap_columns=frozenset({2, 9, 10}), name=f"review-{results.fiscal_year}",
                  fiscal_year=results.fiscal_year)
