"""A subject's self-evaluation table (项目支出绩效自评表) as a Report, for the xlsx and PDF
writers: the same provenance as the annex exports, the scores as the ledger computed them,
and the rule version that computed them."""

from __future__ import annotations

from decimal import Decimal

from ledger.annex import Provenance
from ledger.domain.records import SelfEvaluation
from projections.exports.report import Cell, Report
from projections.values import SubjectDetail

HEADERS = ("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
           "偏差原因分析及改进措施")
STATUS_LABELS = {"submitted": "待审核", "accepted": "已审核通过", "returned": "已退回"}
COMPARATORS = {">=": "≥", "<=": "≤", "=": "=", "qualitative": ""}


class NoSelfEvaluation(LookupError):
    """The subject has no such version of its self-evaluation at the moment."""


def chosen_version(detail: SubjectDetail, version: int | None) -> SelfEvaluation:
    """The version asked for, else the latest submitted (accepted or not)."""
    versions = detail.self_evaluations
    if not versions:
        raise NoSelfEvaluation(f"subject {detail.summary.code} has no self-evaluation")
    if version is None:
        return versions[-1]
    for found in versions:
        if found.version == version:
            return found
    raise NoSelfEvaluation(f"subject {detail.summary.code} has no self-evaluation version "
                           f"{version} (it has {len(versions)})")


def self_evaluation_report(detail: SubjectDetail, provenance: Provenance,
                           version: int | None = None) -> Report:
    s = detail.summary
    table = chosen_version(detail, version)
    rule = f"v{table.rule_version}" if table.rule_version is not None else "（未记录）"
    status = STATUS_LABELS.get(table.status, table.status)
    reasons = "；".join(table.review_reasons)
    rows: list[tuple[Cell, ...]] = [
        ("项目名称", s.name, None, None, "项目编码", s.code, None, None),
        ("主管部门", s.unit_name, None, None, "版本", f"第{table.version}版", status, reasons),
        ("评分规则版本", rule, None, None, None, None, None, table.rule),
    ]
    for ind in table.indicators:
        actual = ind.band if ind.band is not None else f"{ind.actual}{ind.unit}"
        target = f"{COMPARATORS.get(ind.comparator, '')}{ind.target}{ind.unit}"
        rows.append((ind.level1, ind.level2, ind.name, target, actual, ind.points, ind.score,
                     ind.deviation_reason))
    rows.append(("项目资金（万元）", None, "年初预算数", "全年预算数", "全年执行数", None,
                 None, "执行率"))
    for line in table.budget_lines:
        rows.append((None, line.source, line.initial_budget, line.full_year_budget,
                     line.executed, None, None, None))
    rate = None if table.execution_rate is None else f"{table.execution_rate}%"
    rows.append((None, "年度资金总额", table.initial_budget, table.full_year_budget,
                 table.executed, None, None, rate))
    for total in table.totals:
        rows.append((total.name, "合计", None, None, None, total.points, total.score, None))
    points = sum((t.points for t in table.totals), Decimal(0)) if table.totals else None
    return Report(
        title=f"项目支出绩效自评表 ({s.fiscal_year}年度)", headers=HEADERS, rows=tuple(rows),
        provenance=provenance,
        total_row=("总分", None, None, None, None, points, table.score, None),
        wrap_columns=frozenset({7}),
        name=f"self-evaluation-{s.code.replace(':', '-')}-v{table.version}",
        fiscal_year=s.fiscal_year)
