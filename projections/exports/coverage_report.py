"""Exportable tables at a moment: the annex tables and the coverage view, as Reports.

One place decides what an export at a moment contains and which provenance it
carries (the position, its recorded time, and the earliest signed checkpoint that
covers the position), so the CLI, the HTTP downloads and the disclosure packages
print the same thing for the same state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from ledger.annex import AnnexKind, Provenance
from ledger.errors import RuleViolation
from projections.exports.csv_export import sidecar_path, write_csv
from projections.exports.fdp_export import write_fdp
from projections.exports.pdf_export import write_pdf
from projections.exports.report import Cell, Report, report_from_annex
from projections.exports.results_ledger_report import ledger_report
from projections.exports.review_report import review_report
from projections.exports.xlsx_export import write_xlsx
from projections.review import review_results
from projections.values import Coverage, Moment
from projections.views import ReadModel

TableName = Literal["key-projects", "department-overall", "coverage", "review",
                    "results-ledger"]
TABLES: tuple[TableName, ...] = ("key-projects", "department-overall", "coverage", "review",
                                 "results-ledger")
FormatName = Literal["xlsx", "csv", "pdf", "fdp"]
FORMATS: tuple[FormatName, ...] = ("xlsx", "csv", "pdf", "fdp")
COVERAGE_HEADERS = ("序号", "指标", "数值", "计量单位")
NO_FDP_FOR_COVERAGE = (
    "the coverage table has no money column per subject (its rows are counts, "
    "percentages and sums of different things), so it is not a fiscal data package; "
    "export it as xlsx, csv or pdf, or export key-projects / department-overall as fdp")


NO_FDP_FOR_REVIEW = (
    "the review result table (复评结果) holds scores, not money per subject, so it is not a "
    "fiscal data package; export it as xlsx, csv or pdf")
NO_FDP_FOR_RESULTS_LEDGER = (
    "the results ledger (结果应用台账) is a table in parts (consequences, totals, next year's "
    "requests), not one money column per subject, so it is not a fiscal data package; "
    "export it as xlsx, csv or pdf")
NO_FDP: dict[str, str] = {"coverage": NO_FDP_FOR_COVERAGE, "review": NO_FDP_FOR_REVIEW,
                          "results-ledger": NO_FDP_FOR_RESULTS_LEDGER}


class ExportRefused(ValueError):
    """A request for an export that cannot be made; the message says why.

    `parameter` names the part of the request at fault (year, table, format, asOf,
    position), so the HTTP layer can point at it.
    """

    def __init__(self, message: str, parameter: str = "request") -> None:
        super().__init__(message)
        self.parameter = parameter


VIEWS_DIFFER_NOTE = ("检查点：无——读模型与已签名日志的重放不一致 (no checkpoint: the views differ "
                     "from a replay of the sealed log; see the server's /health and run "
                     "`jixiao verify`)")


@dataclass(frozen=True)
class CheckpointStatus:
    """The checkpoint an export cites, or why there is none (said in the output)."""

    provenance: Provenance
    note: str  # one line for people: which checkpoint, or why none
    signed: str | None = None  # the cited checkpoint's signed note, verbatim (C2SP)


def check_request(table: str, fmt: str) -> tuple[TableName, FormatName]:
    """Validate the table and format names (the CLI and HTTP share the messages)."""
    if table not in TABLES:
        raise ExportRefused(f"unknown table {table!r}; use one of {', '.join(TABLES)}",
                            "table")
    if fmt not in FORMATS:
        raise ExportRefused(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}",
                            "format")
    if table in NO_FDP and fmt == "fdp":
        raise ExportRefused(NO_FDP[table], "format")
    found_table = next(t for t in TABLES if t == table)
    found_format = next(f for f in FORMATS if f == fmt)
    return found_table, found_format


def resolve_moment(read: ReadModel, *, position: int | None = None,
                   as_of: datetime | None = None) -> Moment:
    """The moment of an export; a position beyond the ledger's head is refused, not clamped."""
    if as_of is not None and as_of.tzinfo is None:
        raise ExportRefused(f"asOf {as_of.isoformat()!r} has no timezone; write e.g. "
                            "2022-09-30T18:00:00+08:00", "asOf")
    if position is not None and position < 0:
        raise ExportRefused("position must not be negative", "position")
    head = read.catch_up()
    if position is not None and position > head:
        raise ExportRefused(f"position {position} is beyond the ledger's head {head}",
                            "position")
    return read.resolve(position=position, as_of=as_of)


def checkpoint_status(read: ReadModel, moment: Moment) -> CheckpointStatus:
    """Provenance at the moment, with the earliest signed checkpoint covering its position."""
    base = Provenance(position=moment.position, recorded_at=moment.recorded_at)
    return cite_checkpoint(read, base)


def cite_checkpoint(read: ReadModel, base: Provenance) -> CheckpointStatus:
    """Add the earliest signed checkpoint that covers the position, else say there is none.

    The earliest, not the latest: any covering checkpoint proves the rows (a later one is a
    consistent extension of it), but only the earliest never changes once it is signed
    (checkpoints are append-only and signed in size order). So an export of a pinned position
    that cites one is fixed for good, byte for byte, and can be kept and served without
    asking the store again; one that cites none yet cites the first checkpoint signed after
    it (docs/domain.md, "Which checkpoint an export cites").
    None is cited while the views are known to differ from a replay of the sealed log: the
    table came from them, and the checkpoint does not vouch for it.
    """
    from ledger.integrity.service import earliest_checkpoint_covering

    if read.integrity.views.differ:
        return CheckpointStatus(base, VIEWS_DIFFER_NOTE)
    found = earliest_checkpoint_covering(read.db, base.position)
    if found is None:
        return CheckpointStatus(base, f"检查点：无——尚无覆盖账本位置 {base.position} 的签名检查点 "
                                f"(no signed checkpoint covers position {base.position} yet; "
                                "the first one signed later will be cited)")
    cited = replace(base, checkpoint_origin=found.origin, checkpoint_size=found.size,
                    checkpoint_root=found.root)
    return CheckpointStatus(cited, f"检查点 {found.origin} 大小 {found.size} 根 {found.root}："
                            f"最早覆盖账本位置 {base.position} 的签名检查点，签名后不再改变 "
                            f"(the earliest signed checkpoint covering position "
                            f"{base.position}: it never changes, so neither does this export)",
                            found.note)


def make_checkpoint(read: ReadModel, base: Provenance, signed_for: str = "this package",
                    refused: str = "a disclosure"
                    ) -> tuple[dict[str, Any] | None, CheckpointStatus]:
    """Sign a checkpoint covering `base.position` now, and cite exactly that one (the note
    says what it was signed for: a disclosure package, a year's closing; `refused` names
    what a refusal stops).

    Without a signing key the answer is "no checkpoint", said in words. Only a missing
    key degrades so: any other failure is an error, because a disclosure that silently
    lacks its proof would be worse than none.
    """
    from ledger.integrity.service import checkpoint_now, load_key

    if read.integrity.views.differ:
        raise RuleViolation("VIEWS_DIFFER_FROM_LOG", f"{refused} is refused while the views "
                            "differ from a replay of the sealed log (see the server's /health "
                            "and run `jixiao verify`)", field="checkpoint",
                            rule=f"{refused} is made from views that match the sealed log")
    try:
        signer = load_key(read.db)
    except FileNotFoundError:
        return None, CheckpointStatus(base, "检查点：无——未配置签名密钥 (no checkpoint: no "
                                      "signing key configured; set JIXIAO_KEY_FILE or run "
                                      "`jixiao keys init`)")
    info = checkpoint_now(read.db, read.ledger, signer)
    if info.last_position < base.position:  # the sealer covers the whole log, or fails
        raise RuntimeError(f"checkpoint {info.size} ends at position {info.last_position}, "
                           f"before {base.position}")
    cited = replace(base, checkpoint_origin=info.origin, checkpoint_size=info.size,
                    checkpoint_root=info.root)
    return info.for_disclosure(), CheckpointStatus(
        cited, f"检查点 {info.origin} 大小 {info.size} 根 {info.root} (checkpoint signed for "
        f"{signed_for})", info.note)


def table_report(read: ReadModel, fiscal_year: int, table: TableName, moment: Moment,
                 provenance: Provenance | None = None) -> Report:
    """The named table as it stood at the moment, stamped with its provenance."""
    if provenance is None:
        provenance = checkpoint_status(read, moment).provenance
    if table == "coverage":
        return coverage_report(read.coverage(moment, fiscal_year), provenance)
    if table == "review":
        return review_report(review_results(read, moment, fiscal_year), provenance)
    if table == "results-ledger":
        return ledger_report(read, moment, read.results_ledger(moment, fiscal_year), provenance)
    kind = AnnexKind(table)
    return report_from_annex(read.evaluation_table(moment, fiscal_year, kind), provenance)


def coverage_report(coverage: Coverage, provenance: Provenance) -> Report:
    """The coverage figures of a year, one labelled row each, in the words of the report."""
    rows: list[tuple[str, int | Decimal, str]] = [
        ("有评价对象的预算单位", coverage.units, "家"),
        ("评价对象", coverage.subjects, "个"),
        ("其中：项目支出和政策", coverage.project_subjects, "个"),
        ("评价对象资金", coverage.funds, "万元"),
        ("绩效目标已批复的评价对象", coverage.subjects_with_approved_goals, "个"),
        ("绩效目标已批复的项目", coverage.projects_with_approved_goals, "个"),
        ("绩效目标覆盖资金", coverage.funds_with_approved_goals, "万元"),
        ("其中：项目支出资金", coverage.project_funds_with_approved_goals, "万元"),
    ]
    for r in coverage.monitoring_rounds:
        rows += [(f"{r.round_name}：监控项目", r.subjects, "个"),
                 (f"{r.round_name}：监控资金", r.funds, "万元"),
                 (f"{r.round_name}：偏差预警", r.warnings, "条")]
    rows += [
        ("绩效自评覆盖率", coverage.self_evaluation_coverage, "%"),
        ("项目支出绩效自评覆盖率", coverage.project_self_evaluation_coverage, "%"),
        ("部门整体支出绩效自评覆盖率", coverage.department_self_evaluation_coverage, "%"),
        ("抽查复核评价对象", coverage.spot_checked_subjects, "个"),
        ("抽查复核涉及单位", coverage.spot_checked_units, "家"),
        ("抽查复核涉及资金", coverage.spot_checked_funds, "万元"),
    ]
    rows += [(f"评价等级为{label}", count, "个")
             for label, count in coverage.grade_distribution.items()]
    rows += [
        ("结果运用：优先安排", coverage.priority_subjects, "个"),
        ("结果运用：核减预算", coverage.reduced_amount, "万元"),
        ("结果运用：取消", coverage.cancelled_subjects, "个"),
        ("结果运用：收回结余沉淀资金", coverage.recovered_amount, "万元"),
    ]
    body: tuple[tuple[Cell, ...], ...] = tuple(
        (index, label, value, unit) for index, (label, value, unit) in enumerate(rows, start=1))
    return Report(
        title=f"{coverage.fiscal_year}年度预算绩效管理覆盖情况",
        headers=COVERAGE_HEADERS,
        rows=body,
        provenance=provenance,
        numeric_columns=frozenset({2}),
        name=f"coverage-{coverage.fiscal_year}",
        fiscal_year=coverage.fiscal_year,
    )


def write_export(report: Report, fmt: FormatName, out: Path, note: str,
                 signed: str | None = None) -> list[Path]:
    """Write the report in a format; returns the paths written (a directory for fdp).

    The writers carry the provenance; the csv sidecar and the fdp descriptor also get
    `checkpoint_note`, the cited checkpoint's signed note verbatim (`signed`: the bytes that
    verify with the log's public key; null without one), and `checkpoint_summary`, which
    says in words which checkpoint, or why there is none.
    """
    if fmt == "xlsx":
        write_xlsx(report, out)
        return [out]
    if fmt == "pdf":
        write_pdf(report, out)
        return [out]
    if fmt == "csv":
        write_csv(report, out)
        sidecar = sidecar_path(out)
        document = json.loads(sidecar.read_text(encoding="utf-8"))
        document.update(checkpoint_note=signed, checkpoint_summary=note)
        sidecar.write_bytes((json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
                             + "\n").encode())
        return [out, sidecar]
    for table, refusal in NO_FDP.items():
        if report.name.startswith(f"{table}-"):
            raise ExportRefused(refusal, "format")
    write_fdp(report, out)
    descriptor_path = out / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    descriptor["provenance"].update(checkpoint_note=signed, checkpoint_summary=note)
    descriptor_path.write_bytes((json.dumps(descriptor, ensure_ascii=False, indent=2)
                                 + "\n").encode())
    return [out]
