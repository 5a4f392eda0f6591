"""结果应用台账 as a Report: one row per consequence of a year's results (basis → rule →
effect → amount), then two parts in the same file: the totals (核减合计, 收回合计, 优先安排,
调整) and the next year's requests against the amounts arranged after consequences
(docs/domain.md, step 8).

The ledger (projections.results_ledger) names units by code; the unit names printed are
those of the year's and the next year's subject rows as of the same moment, so the same
moment always prints the same names.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.annex import TOTAL_LABEL, Provenance
from projections.exports.report import Cell, Report, format_decimal
from projections.results_ledger import RequestLine, ResultsLedger, ResultsLedgerRow
from projections.values import Moment
from projections.views import ReadModel

HEADERS = ("序号", "单位", "项目名称", "依据", "规则版本及表述", "结果应用方式", "目标年度",
           "对象", "金额(万元)", "说明/调整理由")
TOTALS_HEADERS = ("序号", "项目", "数值", "计量单位")
REQUEST_HEADERS = ("序号", "申请编号", "单位", "项目名称", "资金来源", "申请数(万元)",
                   "核减(万元)", "结果应用后(万元)", "安排数(万元)", "说明")
BASIS_LABELS = {"grade": "等级", "evaluation": "评价", "spot_check": "抽查复核",
                "self_evaluation": "绩效自评", "monitoring": "监控预警"}
TARGET_LABELS = {"subject": "项目", "budget_request": "预算申请", "unit": "单位",
                 "transfer": "转移支付"}
STOPPED = "取消或暂停"


def basis_text(row: ResultsLedgerRow) -> str:
    """"等级 良（账本位置 159）": what the consequence rests on, and where in the log."""
    text = BASIS_LABELS.get(row.basis_kind, row.basis_kind)
    if row.basis_grade_label:
        text += f" {row.basis_grade_label}"
    if row.basis_position is not None:
        text += f"（账本位置 {row.basis_position}）"
    return text


def rule_text(row: ResultsLedgerRow) -> str:
    if row.rule_version is None:
        return row.rule_wording or "—"
    return f"第{row.rule_version}版：{row.rule_wording}" if row.rule_wording else (
        f"第{row.rule_version}版")


def effect_text(row: ResultsLedgerRow) -> str:
    if row.percentage is None:
        return row.effect_label
    return f"{row.effect_label} {format_decimal(row.percentage)}%"


def target_text(found: ResultsLedger, row: ResultsLedgerRow, units: Mapping[str, str]) -> str:
    """The target in words: 项目 XS-2022-KP-06, 转移支付 XS-2023-TR-01 with its programme…"""
    label = TARGET_LABELS.get(row.target_kind, row.target_kind)
    if row.target_kind == "unit":
        return f"{label} {units.get(row.target_id, row.target_id)}"
    text = f"{label} {row.target_id}"
    if row.target_kind == "transfer":
        programme = next((t.programme for t in found.transfers if t.code == row.target_id), "")
        text += f" {programme}" if programme else ""
    return text


def remarks_text(row: ResultsLedgerRow) -> str:
    """The remarks, after the reason for departing from the rule when there is one."""
    parts = [f"调整理由：{row.override_reason}"] if row.override_reason else []
    return "；".join(parts + ([row.remarks] if row.remarks else []))


def request_row(seq: int, q: RequestLine, units: Mapping[str, str],
                subjects: Mapping[str, str]) -> tuple[Cell, ...]:
    name = q.project_name or subjects.get(q.subject_code, "")
    notes = [f"延续 {q.subject_code}"] if q.subject_code else ["新增项目"]
    notes += ["优先安排"] if q.priority else []
    after: Cell = STOPPED if q.after_consequences is None else q.after_consequences
    return (seq, q.code, units.get(q.unit_code, q.unit_code), name, q.funding_source,
            q.requested_amount, q.reduced_amount, after, q.arranged_amount, "；".join(notes))


def results_ledger_report(found: ResultsLedger, provenance: Provenance,
                          units: Mapping[str, str], subjects: Mapping[str, str]) -> Report:
    """The ledger with its totals and the next year's requests; `units` and `subjects` map
    codes to the names to print (a code without one is printed as it is)."""
    year, following = found.fiscal_year, found.fiscal_year + 1
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (seq, units.get(r.unit_code, r.unit_code), r.subject_name, basis_text(r), rule_text(r),
         effect_text(r), r.target_fiscal_year, target_text(found, r, units), r.amount,
         remarks_text(r))
        for seq, r in enumerate(found.rows, start=1))
    totals: tuple[tuple[Cell, ...], ...] = (
        (1, "核减合计", found.reduced_total, "万元"),
        (2, "收回合计", found.recovered_total, "万元"),
        (3, "优先安排", found.priority_count, "项"),
        (4, "调整（未按规则，附理由）", found.overridden_count, "项"),
    )
    requests = tuple(request_row(seq, q, units, subjects)
                     for seq, q in enumerate(found.requests, start=1))
    parts = (
        Report(title=f"{year}年度结果应用合计", headers=TOTALS_HEADERS, rows=totals,
               provenance=provenance, numeric_columns=frozenset({2}),
               name=f"results-ledger-totals-{year}", fiscal_year=year),
        Report(title=f"{following}年度预算申请与安排（结果应用后）", headers=REQUEST_HEADERS,
               rows=requests, provenance=provenance,
               total_row=(TOTAL_LABEL, None, None, None, None, found.requested_total, None,
                          None, found.arranged_total, None),
               numeric_columns=frozenset({5, 6, 7, 8}), wrap_columns=frozenset({3, 9}),
               name=f"results-ledger-requests-{following}", fiscal_year=following),
    )
    return Report(title=f"{year}年度绩效评价结果应用台账", headers=HEADERS, rows=rows,
                  provenance=provenance, numeric_columns=frozenset({8}),
                  wrap_columns=frozenset({2, 9}), name=f"results-ledger-{year}",
                  fiscal_year=year, parts=parts)


def unit_names(read: ReadModel, moment: Moment, fiscal_year: int) -> dict[str, str]:
    """Unit names of the year's and the next year's subject rows at the moment."""
    names: dict[str, str] = {}
    for year in (fiscal_year + 1, fiscal_year):  # the year's own names win
        names.update((r.unit_code, r.unit_name) for r in read.year_rows(moment, year))
    return names


def ledger_report(read: ReadModel, moment: Moment, found: ResultsLedger,
                  provenance: Provenance) -> Report:
    """The report of a ledger read (or restricted) at the moment, with the names of then.
    A request's continuing subject is named only if the ledger shows its row: the name
    of a subject the caller may not read is not printed (its code is, as in the API)."""
    subjects = {r.subject_code: r.subject_name for r in found.rows}
    return results_ledger_report(found, provenance, unit_names(read, moment,
                                                               found.fiscal_year), subjects)
