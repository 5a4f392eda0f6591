"""结果应用台账 exported from the real stores: the sample's 2022 consequences (and one
override added here) as xlsx, CSV with its provenance sidecar and PDF, read back with
openpyxl, the csv module and pdftotext; the totals and next year's requests travel in the
same file; a text cell meant as a formula stays text."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ledger.application import Ledger
from ledger.store import Database
from projections.exports.coverage_report import (
    ExportRefused,
    check_request,
    checkpoint_status,
    table_report,
    write_export,
)
from projections.exports.report import Report
from projections.views import ReadModel
from tests.integration.helpers import do

pytestmark = [pytest.mark.slow,  # renders a PDF
              pytest.mark.sample]  # every test starts from the sample

FORMULA = '=HYPERLINK("http://example.invalid","点此")'


@pytest.fixture
def read(ledger: Ledger, database: Database) -> Iterator[ReadModel]:
    # 核减 on a subject graded 优 contradicts the rule: the bureau overrides it, with a
    # reason that a spreadsheet would run as a formula.
    do(ledger, "apply_result", subject_code="XS-2022-KP-01", kind="reduce", amount="48.95",
       cites_kind="grade", target_kind="budget_request", target_id="XS-2023-REQ-01",
       override_reason=FORMULA, remarks="@SUM(1)")
    model = ReadModel(database, ledger)
    yield model
    model.close()


def report_now(read: ReadModel) -> tuple[Report, str, int]:
    moment = read.resolve()
    status = checkpoint_status(read, moment)
    return (table_report(read, 2022, "results-ledger", moment, status.provenance), status.note,
            moment.position)


def body_of(rows: list[tuple[object, ...]], header: str) -> list[tuple[object, ...]]:
    """The rows under the header row whose first cell is `header`, up to the first blank."""
    start = next(i for i, row in enumerate(rows) if row[0] == header) + 1
    end = next((i for i in range(start, len(rows)) if rows[i][0] is None), len(rows))
    return rows[start:end]


def test_the_xlsx_holds_the_ledger_its_totals_and_next_years_requests(
        read: ReadModel, tmp_path: Path) -> None:
    report, note, position = report_now(read)
    out = tmp_path / "results-ledger.xlsx"
    write_export(report, "xlsx", out, note)
    book = load_workbook(out)
    assert [s.title for s in book.worksheets] == [
        "2022年度绩效评价结果应用台账", "2022年度结果应用合计",
        "2023年度预算申请与安排（结果应用后）"]
    ledger_sheet, totals_sheet, requests_sheet = book.worksheets
    rows = list(ledger_sheet.iter_rows(values_only=True))
    assert rows[1] == ("序号", "单位", "项目名称", "依据", "规则版本及表述", "结果应用方式",
                       "目标年度", "对象", "金额(万元)", "说明/调整理由")
    body = body_of(rows, "序号")
    assert [r[0] for r in body] == list(range(1, 20))
    [recovered] = [r for r in body if r[5] == "收回"]
    assert recovered[1:3] == ("相山区渠沟镇人民政府",
                              "相山区渠沟镇人民政府2022年环卫保洁作业市场化项目")
    assert (recovered[6], recovered[7], Decimal(str(recovered[8]))) == (
        2023, "项目 XS-2022-KP-06", Decimal("20.00"))
    assert recovered[3].startswith("等级 良（账本位置 ") and recovered[4] == "第2版：维持"
    [reduced] = [r for r in body if r[5] == "核减"]
    assert reduced[7] == "预算申请 XS-2023-REQ-01" and Decimal(str(reduced[8])) == Decimal("48.95")
    assert reduced[9] == f"调整理由：{FORMULA}；@SUM(1)"  # the xlsx keeps the text as it was
    cell = ledger_sheet.cell(row=rows.index(reduced) + 1, column=10)
    assert cell.data_type == "s"  # text, not a formula
    [transfer] = [r for r in body if r[5] == "与转移支付挂钩"]
    assert transfer[7] == "转移支付 XS-2023-TR-01 对镇街均衡性转移支付（示例）"

    totals = {r[1]: r[2] for r in body_of(list(totals_sheet.iter_rows(values_only=True)), "序号")}
    assert {k: Decimal(str(v)) for k, v in totals.items()} == {
        "核减合计": Decimal("48.95"), "收回合计": Decimal("20.00"), "优先安排": 2,
        "调整（未按规则，附理由）": 1}
    requests = list(requests_sheet.iter_rows(values_only=True))
    first, second, total = body_of(requests, "序号")
    assert first[1:4] == ("XS-2023-REQ-01", "淮北市相山区住房和城乡建设局",
                          "相山区住房和城乡建设局2022年市政应急维修项目")
    assert [Decimal(str(v)) for v in first[5:9]] == [
        Decimal("548.95"), Decimal("48.95"), Decimal("500.00"), Decimal("548.95")]
    assert first[9] == "延续 XS-2022-KP-01；优先安排" and second[1] == "XS-2023-REQ-02"
    assert total[0] == "合计" and Decimal(str(total[5])) == Decimal(str(total[8])) == Decimal(
        "1073.30")
    for sheet in book.worksheets:  # every sheet traces back to the same position
        assert any(row[0] == f"数据截至账本位置 {position} (ledger position)"
                   for row in sheet.iter_rows(values_only=True))


def test_the_csv_and_its_sidecar(read: ReadModel, tmp_path: Path) -> None:
    report, note, position = report_now(read)
    out = tmp_path / "results-ledger.csv"
    written = write_export(report, "csv", out, note)
    assert written == [out, tmp_path / "results-ledger.csv.provenance.json"]
    data = out.read_bytes()
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    recovered = next(r for r in rows if len(r) > 5 and r[5] == "收回")
    assert (recovered[7], recovered[8]) == ("项目 XS-2022-KP-06", "20.00")
    reduced = next(r for r in rows if len(r) > 5 and r[5] == "核减")
    assert reduced[9] == f"调整理由：{FORMULA}；@SUM(1)"  # starts with 调: nothing to run
    assert not any(c.startswith(("=", "@", "+", "-")) for r in rows for c in r)
    assert ["2022年度结果应用合计"] in rows and ["2023年度预算申请与安排（结果应用后）"] in rows
    assert ["2", "收回合计", "20.00", "万元"] in rows and ["1", "核减合计", "48.95", "万元"] in rows
    assert ["合计", "", "", "", "", "1073.30", "", "", "1073.30", ""] in rows
    sidecar = json.loads((tmp_path / "results-ledger.csv.provenance.json").read_text("utf-8"))
    assert sidecar["sha256"] == hashlib.sha256(data).hexdigest()
    assert (sidecar["position"], sidecar["title"]) == (position, "2022年度绩效评价结果应用台账")
    assert "no signed checkpoint covers" in sidecar["checkpoint_summary"]


def test_a_formula_in_a_csv_cell_gets_its_apostrophe(read: ReadModel, tmp_path: Path) -> None:
    """The remarks alone, starting with '=', reach the CSV as text."""
    do(read.ledger, "apply_result", subject_code="XS-2022-KP-06", kind="recover",
       amount="1.00", cites_kind="grade", remarks=FORMULA)
    report, note, _position = report_now(read)
    write_export(report, "csv", tmp_path / "rl.csv", note)
    rows = list(csv.reader((tmp_path / "rl.csv").read_text("utf-8-sig").splitlines()))
    assert next(r for r in rows if len(r) > 8 and r[8] == "1.00")[9] == "'" + FORMULA
    assert ["2", "收回合计", "21.00", "万元"] in rows


def test_the_pdf_prints_every_part_with_the_provenance(read: ReadModel, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    report, note, position = report_now(read)
    out = tmp_path / "results-ledger.pdf"
    write_export(report, "pdf", out, note)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True,
                          capture_output=True, text=True).stdout
    for expected in ("2022年度绩效评价结果应用台账", "2022年度结果应用合计", "收回合计",
                     "2023年度预算申请与安排（结果应用后）", "XS-2023-REQ-01", "1073.30",
                     "20.00", "48.95", f"数据截至账本位置 {position}"):
        assert expected in text, expected


def test_the_results_ledger_is_no_fiscal_data_package(read: ReadModel, tmp_path: Path) -> None:
    with pytest.raises(ExportRefused, match="not a fiscal data package") as refused:
        check_request("results-ledger", "fdp")
    assert refused.value.parameter == "format"
    report, note, _position = report_now(read)
    with pytest.raises(ExportRefused, match="not a fiscal data package"):
        write_export(report, "fdp", tmp_path / "fdp", note)
