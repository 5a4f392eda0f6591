"""A monitoring round's summary as a table (监控汇总表): one row per subject in scope with its
status, amounts, warnings and actions, the 合计 of the money monitored, and the round's
figures in the report's words in the header block above the table; written by the shared
writers (xlsx, PDF, CSV) with the provenance of the moment, like the annex exports.
`jixiao export-round`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.annex import TOTAL_LABEL, Provenance
from ledger.cli import parse_time
from ledger.domain.monitoring_round import WARNING_ACTIONS
from ledger.store import Database
from projections.exports.report import Cell, Report
from projections.monitoring_rounds import RoundSummary

if TYPE_CHECKING:
    from projections.views import ReadModel

HEADERS = ("序号", "项目名称", "实施单位", "财政资金(万元)", "报送状态", "报送日期",
           "监控预算数(万元)", "执行数(万元)", "执行率(%)", "偏差预警", "预警处理")
FORMATS = ("xlsx", "pdf", "csv")


def round_report(summary: RoundSummary, provenance: Provenance) -> Report:
    info = summary.round
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (i, s.name, s.unit_name, s.funds, s.status_label,
         s.reported_on.isoformat() if s.reported_on else None, s.budget_amount,
         s.executed_amount, s.execution_rate, "、".join(s.warnings) or None,
         "、".join(WARNING_ACTIONS.get(a, a) for a in s.actions) or None)
        for i, s in enumerate(summary.subjects, start=1))
    total: tuple[Cell, ...] = (TOTAL_LABEL, None, None, summary.funds_in_scope, None, None,
                               summary.monitored_amount, summary.executed_amount,
                               summary.execution_rate, None, None)
    window = f"{info.window_start.month}-{info.window_end.month}月"
    preamble = (
        ("监控期间", f"{info.window_start.isoformat()} 至 {info.window_end.isoformat()}"
                     f"（{window}），报送截止 {info.due_on.isoformat()}"
                     + ("，已结束" if info.closed else "")),
        ("报送情况", summary.statements()[1]),
        ("监控汇总", summary.statements()[0]),
        ("偏差预警", "；".join(f"{w.code} {w.count}条" for w in summary.warnings) or "无"),
        ("预警处理", "；".join(f"{a.label} {a.count}项" for a in summary.actions) or "无"))
    slug = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-"
                   for c in info.round_id)
    return Report(title=f"{info.name}汇总表", headers=HEADERS, rows=rows, provenance=provenance,
                  total_row=total, numeric_columns=frozenset({3, 6, 7, 8}),
                  name=f"monitoring-round-{slug}", fiscal_year=info.fiscal_year,
                  preamble=preamble)


def register(sub: Any) -> None:
    p = sub.add_parser("export-round", help="export a monitoring round's summary",
                       description="A monitoring round as it stood at a moment (default: "
                       "now): each subject in scope with its status (已报送 / 逾期报送 / 未报送), "
                       "amounts, warnings and actions, the 合计, and the round's figures; the "
                       "provenance (position, checkpoint) is printed under the table.")
    p.add_argument("--round", dest="round_id", required=True, metavar="ROUND_ID")
    p.add_argument("--format", dest="fmt", required=True, choices=FORMATS)
    p.add_argument("--out", type=Path, required=True, metavar="PATH")
    moment = p.add_mutually_exclusive_group()
    moment.add_argument("--as-of", type=parse_time, metavar="ISO-TIME")
    moment.add_argument("--position", type=int, metavar="N")
    p.set_defaults(handler=cmd_export_round)


def cmd_export_round(args: argparse.Namespace, db: Database) -> int:
    from projections.exports.cli import run_export

    def body(read: ReadModel) -> list[str]:
        from projections.exports.coverage_report import (
            ExportRefused,
            checkpoint_status,
            resolve_moment,
            write_export,
        )
        from projections.monitoring_rounds import round_summary

        moment = resolve_moment(read, position=args.position, as_of=args.as_of)
        summary = round_summary(read, moment, args.round_id)
        if summary is None:
            raise ExportRefused(f"no monitoring round {args.round_id!r} at position "
                                f"{moment.position}", "round")
        status = checkpoint_status(read, moment)
        report = round_report(summary, status.provenance)
        written = write_export(report, args.fmt, args.out, status.note, status.signed)
        return [f"wrote {', '.join(str(p) for p in written)}: {report.title}, "
                f"{len(report.rows)} rows", f"ledger position {moment.position}", status.note]
    return run_export(db, body)
