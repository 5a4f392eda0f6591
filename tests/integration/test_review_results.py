"""复评结果 and the sample's frameworks, read from the real stores: as of a moment, filtered by
visibility, and exported as xlsx and PDF with the annex exports' provenance (re-read with
openpyxl and pdftotext)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ledger.application import Ledger
from ledger.runtime import Actor
from ledger.store import Database
from projections import visibility as seen
from projections.exports.coverage_report import checkpoint_status, table_report, write_export
from projections.review import frameworks_at, review_results
from projections.views import ReadModel

pytestmark = [pytest.mark.slow, pytest.mark.sample(publish=True)]

PUBLIC = Actor(id="anonymous", role="public")


@pytest.fixture
def read(ledger: Ledger, database: Database) -> Iterator[ReadModel]:
    model = ReadModel(database, ledger)
    yield model
    model.close()


def test_review_results_as_of_any_moment_and_as_published(read: ReadModel) -> None:
    now = read.resolve()
    found = review_results(read, now, 2022)
    assert [r.subject_code for r in found.rows] == [
        "XS-2022-KP-05", "XS-2022-KP-06", *(f"XS-2022-DO-0{i}" for i in range(1, 6))]
    kp06 = found.rows[1]
    assert (kp06.reviewed, kp06.review_grade_label, kp06.difference) == (
        "单位自评", "优", Decimal("-4.00"))
    assert kp06.reviewed_score is not None and kp06.review_score == kp06.reviewed_score - 4
    assert [(i.name, i.score) for i in kp06.indicators] == [("按期完成率", Decimal("16"))]
    assert kp06.plan_title == "2022年度单位自评和部门评价抽查复核"
    assert kp06.method_label == "重点抽取"
    (plan,) = found.plans
    assert len(plan.subjects) == 7 and len(plan.unit_codes) == 6
    assert all(s.reason for s in plan.subjects)
    reviews = {r.spot_check_id for r in found.rows}  # 2022's (2021 has its own, earlier)
    first = min(e.position for e in read.events_of_type("Subject.SpotCheckRecorded", now)
                if e.changes.get("spot_check_id") in reviews)
    before = read.resolve(position=first - 1)
    assert review_results(read, before, 2022).rows == ()
    assert len(review_results(read, before, 2022).plans) == 1  # drawn, not yet reviewed
    public = seen.review(read, seen.visibility(read, PUBLIC, now), now, 2022)
    assert [r.subject_code for r in public.rows] == [r.subject_code for r in found.rows]
    undisclosed = read.resolve(position=next(
        e.position for e in read.events_of_type("Disclosure.Recorded", now)) - 1)
    hidden = seen.review(read, seen.visibility(read, PUBLIC, undisclosed), undisclosed, 2022)
    assert hidden.rows == () and hidden.plans == ()


def test_the_sample_scores_each_subject_on_its_sources_framework(read: ReadModel) -> None:
    now = read.resolve()
    frameworks = {(e.framework.code if e.framework else None)
                  for code in ("XS-2022-KP-08",)
                  for e in (read.subject(now, code) or pytest.fail()).evaluations}
    assert frameworks == {"fiscal_operations"}
    by_code = {f.code: f for f in frameworks_at(read, now, date(2022, 12, 31))}
    expected = {"XS-2022-KP-08": "fiscal_operations", "XS-2022-DO-06": "township_overall",
                "XS-2022-DO-01": "department_overall", "XS-2022-KP-01": "project"}
    for code, framework in expected.items():
        detail = read.subject(now, code)
        assert detail is not None
        (evaluation,) = detail.evaluations
        assert evaluation.framework is not None and evaluation.framework.code == framework
        assert [d.name for d in evaluation.dimensions] == [
            d.name for d in by_code[framework].dimensions]
    assert read.subject(now, "XS-2022-DO-06").summary.kind == "township"  # type: ignore[union-attr]
    assert read.subject(now, "XS-2022-DO-02").summary.kind == "subdistrict"  # type: ignore[union-attr]


def test_review_exports_carry_provenance(read: ReadModel, tmp_path: Path) -> None:
    moment = read.resolve()
    status = checkpoint_status(read, moment)
    report = table_report(read, 2022, "review", moment, status.provenance)
    xlsx = tmp_path / "review.xlsx"
    write_export(report, "xlsx", xlsx, status.note)
    values = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert values[0][0] == "2022年度绩效评价抽查复评结果"
    header = next(i for i, row in enumerate(values) if row[0] == "序号")
    assert values[header][5:8] == ("原评分", "复评得分", "差异")
    body = values[header + 1:header + 8]
    assert [row[2] for row in body][:2] == [
        "相山区民政局2022年农村最低生活保障金", "相山区渠沟镇人民政府2022年环卫保洁作业市场化项目"]
    assert Decimal(str(body[1][7])) == Decimal("-4.00")
    assert any(f"数据截至账本位置 {moment.position}" in str(c) for row in values for c in row)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = tmp_path / "review.pdf"
    write_export(report, "pdf", pdf, status.note)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "2022年度绩效评价抽查复评结果" in text and "按期完成率" in text
    assert f"数据截至账本位置 {moment.position}" in text
