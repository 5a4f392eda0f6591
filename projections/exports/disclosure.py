"""Disclosure packages (公开): the files an audience receives, and the event that says so.

A package is a directory of tables (each as xlsx, pdf and csv with its provenance
sidecar) and a manifest.json listing every file with its SHA-256. The ledger
records the disclosure with the SHA-256 of the manifest bytes, the position the
package was built at and the subjects it covers, so anyone holding the files can
show they are exactly what was handed over, and rebuild them from the ledger.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from ledger.annex import TOTAL_LABEL, AnnexKind, Provenance
from ledger.domain.records import GoalIndicator
from ledger.runtime import SYSTEM, Actor
from projections.exports.coverage_report import (
    CheckpointStatus,
    ExportRefused,
    FormatName,
    make_checkpoint,
    write_export,
)
from projections.exports.report import Cell, Report, report_from_annex
from projections.exports.results_ledger_report import ledger_report
from projections.values import Moment
from projections.views import ReadModel

Audience = Literal["peoples-congress", "standing-committee", "public"]
AUDIENCES: dict[Audience, str] = {"peoples-congress": "peoples_congress",
                                  "standing-committee": "standing_committee",
                                  "public": "public"}
MANIFEST = "manifest.json"
GOAL_HEADERS = ("序号", "项目名称", "实施单位/牵头单位", "财政资金(单位:万元)", "目标状态",
                "一级指标", "二级指标", "三级指标", "指标值", "权重")
GOAL_STATUS = {"none": "未申报", "declared": "已申报待审核", "returned": "已退回",
               "approved": "已批复"}
COMPARATORS = {">=": "≥", "<=": "≤", "=": "=", "qualitative": ""}


@dataclass(frozen=True)
class DisclosureResult:
    """What was disclosed: the files, the manifest hash and the recorded event."""

    disclosure_id: str
    fiscal_year: int
    audience: Audience
    title: str
    directory: Path
    files: tuple[str, ...]
    subject_codes: tuple[str, ...]
    content_hash: str
    content_position: int
    recorded_position: int
    checkpoint: dict[str, Any] | None
    checkpoint_note: str


def title_for(audience: Audience, fiscal_year: int) -> str:
    return {
        "peoples-congress": f"{fiscal_year}年度重点项目绩效目标（随预算草案报送人民代表大会）",
        "standing-committee": f"{fiscal_year}年度重点绩效评价结果（报送人大常委会）",
        "public": f"{fiscal_year}年度预算绩效信息公开",
    }[audience]


def _goal_value(indicator: GoalIndicator) -> str:
    comparator = COMPARATORS.get(indicator.comparator, "")
    return f"{comparator}{indicator.target}{indicator.unit}"


def _weight(value: Decimal) -> str:
    return format(value.normalize(), "f")


def goals_report(read: ReadModel, fiscal_year: int, moment: Moment,
                 provenance: Provenance) -> tuple[Report, list[str]]:
    """Key subjects of the year with their goal trees, one line per third-level indicator.

    Subject cells are printed on its first line only (as the merged cells of a paper
    table), so the 合计 of 财政资金 counts each subject once.
    """
    rows: list[tuple[Cell, ...]] = []
    codes: list[str] = []
    total = Decimal("0.00")
    keys = [r for r in read.year_rows(moment, fiscal_year) if r.is_key]
    for seq, row in enumerate(keys, start=1):
        detail = read.subject(moment, row.code)
        if detail is None:
            continue
        head = detail.summary
        codes.append(head.code)
        total += head.funds
        first: tuple[Cell, ...] = (seq, head.name, head.unit_name, head.funds,
                                   GOAL_STATUS.get(head.goal_status, head.goal_status))
        blank: tuple[Cell, ...] = (None, None, None, None, None)
        if not detail.goals:
            rows.append((*first, None, None, None, None, None))
        for index, goal in enumerate(detail.goals):
            rows.append((*(first if index == 0 else blank), goal.level1, goal.level2,
                         goal.name, _goal_value(goal), _weight(goal.weight)))
    report = Report(
        title=f"{fiscal_year}年度重点项目绩效目标表",
        headers=GOAL_HEADERS,
        rows=tuple(rows),
        provenance=provenance,
        total_row=(TOTAL_LABEL, None, None, total.quantize(Decimal("0.01")), None, None, None,
                   None, None, None),
        numeric_columns=frozenset({3}),
        wrap_columns=frozenset({1}),
        name=f"goals-key-{fiscal_year}",
        fiscal_year=fiscal_year,
    )
    return report, codes


def package_reports(read: ReadModel, fiscal_year: int, audience: Audience, moment: Moment,
                    provenance: Provenance) -> tuple[list[Report], list[str]]:
    """The tables an audience receives, and the codes of the subjects they show."""
    reports: list[Report] = []
    codes: list[str] = []
    if audience in ("standing-committee", "public"):
        by_id = {r.subject_id: r.code for r in read.year_rows(moment, fiscal_year)}
        for kind in (AnnexKind.KEY_PROJECTS, AnnexKind.DEPARTMENT_OVERALL):
            annex = read.evaluation_table(moment, fiscal_year, kind)
            codes += [by_id[r.subject_id] for r in annex.rows if r.subject_id in by_id]
            reports.append(report_from_annex(annex, provenance))
    if audience in ("peoples-congress", "public"):
        report, goal_codes = goals_report(read, fiscal_year, moment, provenance)
        reports.append(report)
        codes += goal_codes
    if audience == "peoples-congress":  # the budget draft of the year: what last year's
        found = read.results_ledger(moment, fiscal_year - 1)  # results did to it
        if found.rows:
            reports.append(ledger_report(read, moment, found, provenance))
            codes += [r.subject_code for r in found.rows]
    return reports, sorted(set(codes))


def write_package(reports: Sequence[Report], out: Path, status: CheckpointStatus) -> list[str]:
    """Each report as xlsx, pdf and csv (+ provenance sidecar); the relative file names."""
    formats: tuple[FormatName, ...] = ("xlsx", "pdf", "csv")
    for report in reports:
        for fmt in formats:
            write_export(report, fmt, out / f"{report.name}.{fmt}", status.note, status.signed)
    return sorted(p.name for p in out.iterdir() if p.is_file() and p.name != MANIFEST)


def manifest_bytes(*, fiscal_year: int, audience: Audience, title: str, status: CheckpointStatus,
                   checkpoint: dict[str, Any] | None, subject_codes: Sequence[str],
                   out: Path, files: Sequence[str]) -> bytes:
    """The manifest, canonical enough to hash: sorted keys, fixed indent, no wall clock."""
    p = status.provenance
    document = {
        "fiscal_year": fiscal_year,
        "audience": AUDIENCES[audience],
        "title": title,
        "position": p.position,
        "recorded_at": p.recorded_at.isoformat() if p.recorded_at else None,
        "checkpoint": checkpoint,
        "checkpoint_note": status.signed,
        "checkpoint_summary": status.note,
        "subject_codes": list(subject_codes),
        "files": [{"path": name, "bytes": (out / name).stat().st_size,
                   "sha256": hashlib.sha256((out / name).read_bytes()).hexdigest()}
                  for name in files],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def disclose(read: ReadModel, *, fiscal_year: int, audience: Audience, out: Path,
             actor: Actor = SYSTEM) -> DisclosureResult:
    """Build the package for an audience in `out` (new or empty) and record the disclosure.

    With a signing key configured, a checkpoint is signed just before the package is
    built and cited by every file; without one, the package and the event say there
    is none. Refuses (ExportRefused) an empty package and a non-empty directory.
    """
    if audience not in AUDIENCES:
        raise ExportRefused(f"unknown audience {audience!r}; use one of {', '.join(AUDIENCES)}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportRefused(f"{out} exists and is not an empty directory")
    moment = read.resolve()
    base = Provenance(position=moment.position, recorded_at=moment.recorded_at)
    reports, codes = package_reports(read, fiscal_year, audience, moment, base)
    if not codes:
        raise ExportRefused(f"nothing to disclose to {audience} for {fiscal_year}: "
                            "no key subjects or evaluation results in the ledger")
    checkpoint, status = make_checkpoint(read, base, refused=f"disclosing to {audience}")
    reports = [r.stamped(status.provenance) for r in reports]
    out.mkdir(parents=True, exist_ok=True)
    files = write_package(reports, out, status)
    title = title_for(audience, fiscal_year)
    manifest = manifest_bytes(fiscal_year=fiscal_year, audience=audience, title=title,
                              status=status, checkpoint=checkpoint, subject_codes=codes,
                              out=out, files=files)
    (out / MANIFEST).write_bytes(manifest)
    content_hash = hashlib.sha256(manifest).hexdigest()
    request = json.dumps([content_hash, checkpoint], sort_keys=True, default=str)
    command_id = "disclosure-" + hashlib.sha256(request.encode()).hexdigest()[:40]
    result = read.ledger.record_disclosure({
        "command_id": command_id, "fiscal_year": fiscal_year, "audience": AUDIENCES[audience],
        "title": title, "subject_codes": codes, "content_hash": content_hash,
        "content_position": moment.position,
        "checkpoint": None if checkpoint is None else {**checkpoint, "note": status.signed}},
        actor)
    return DisclosureResult(
        disclosure_id=result.ids.get("disclosureId", command_id), fiscal_year=fiscal_year,
        audience=audience, title=title, directory=out, files=(*files, MANIFEST),
        subject_codes=tuple(codes), content_hash=content_hash,
        content_position=moment.position, recorded_position=result.position,
        checkpoint=checkpoint, checkpoint_note=status.note)
