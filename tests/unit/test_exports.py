"""Exports of the seed's two annex tables to CSV, XLSX, PDF and the fiscal data package.

Real files in tmp_path, re-read with openpyxl, our own reader and poppler-utils.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from ledger.annex import ANNEX_HEADERS, AnnexKind, AnnexRow, AnnexTable, Provenance
from ledger.grades import Grade
from ledger.importing import read_annex_file
from projections.exports import (
    CjkFontNotFoundError,
    Report,
    find_cjk_font,
    provenance_lines,
    report_from_annex,
    write_csv,
    write_fdp,
    write_pdf,
    write_xlsx,
)

SAMPLE = Path(__file__).resolve().parents[2] / "ledger" / "sample" / "xiangshan_2022_annexes.json"
IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = "q7mZc3Yk1nJ0b7o6QdCqX5r6F0p2m4Hq8X0y9Z1a2B4="
PROVENANCE = Provenance(
    position=1234,
    recorded_at=datetime(2023, 5, 1, 8, 30, tzinfo=UTC),
    checkpoint_origin="jixiao.xiangshan.example/ledger",
    checkpoint_size=1234,
    checkpoint_root=ROOT,
)
ANNEXES = {
    "key_projects": (AnnexKind.KEY_PROJECTS, Decimal("6441.47"), 10),
    "department_overall": (AnnexKind.DEPARTMENT_OVERALL, Decimal("24589.14"), 6),
}


def seed_table(key: str) -> AnnexTable:
    raw = json.loads(SAMPLE.read_text(encoding="utf-8"))
    kind = ANNEXES[key][0]
    rows = tuple(
        AnnexRow(
            seq=r["seq"],
            subject_id=f"{key}-{r['seq']}",
            subject_name=r["name"],
            unit_name=r["unit"],
            funds=Decimal(r["funds"]),
            assessment=r["assessment"],
            grade=Grade.from_label(r["grade"]),
        )
        for r in raw[key]["rows"]
    )
    table = AnnexTable(fiscal_year=raw["fiscal_year"], kind=kind, rows=rows)
    assert table.title == raw[key]["title"]
    return table


@pytest.fixture(params=list(ANNEXES))
def annex(request: pytest.FixtureRequest) -> tuple[AnnexTable, Decimal, int]:
    key: str = request.param
    return seed_table(key), ANNEXES[key][1], ANNEXES[key][2]


def require_poppler() -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        if IN_CI:
            pytest.fail("poppler-utils (pdftotext, pdffonts) must be installed under CI=true")
        pytest.skip("poppler-utils not installed (apt-get install -y poppler-utils)")


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


# ---------------------------------------------------------------- the Report value


def test_report_from_annex_has_the_published_layout() -> None:
    table = seed_table("key_projects")
    report = report_from_annex(table, PROVENANCE)
    assert report.headers == (
        "序号",
        "项目名称",
        "实施单位/牵头单位",
        "财政资金(单位:万元)",
        "评价情况",
        "评价等级",
    )
    assert report.headers == ANNEX_HEADERS
    assert report.title == "2022年度重点项目支出和政策绩效评价情况表"
    assert len(report.rows) == 10
    assert report.rows[3][:4] == (
        4,
        "相山区教育局2022年安心托幼行动项目",
        "相山区教育局",
        Decimal("53"),
    )
    assert report.total_row == ("合计", None, None, Decimal("6441.47"), None, None)
    assert report.numeric_columns == {3}
    assert report.wrap_columns == {4}
    assert [r[5] for r in report.rows].count("优") == 6
    assert [r[5] for r in report.rows].count("良") == 4


def test_report_rejects_ragged_rows() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 cells"):
        Report(title="t", headers=("a", "b"), rows=(("x",),), provenance=PROVENANCE)


NO_CHECKPOINT = "检查点 (checkpoint): 无，尚无覆盖此位置的签名检查点 (none covers this position)"


def test_provenance_lines_are_bilingual() -> None:
    lines = provenance_lines(PROVENANCE)
    assert lines[0] == "数据截至账本位置 1234 (ledger position)"
    assert f"检查点根 {ROOT} (checkpoint root)" in lines
    assert any("2023-05-01T08:30:00+00:00" in line for line in lines)
    assert provenance_lines(Provenance(position=7)) == [
        "数据截至账本位置 7 (ledger position)", NO_CHECKPOINT]


# ---------------------------------------------------------------- CSV


def test_csv_is_excel_friendly_and_reads_back(
    annex: tuple[AnnexTable, Decimal, int], tmp_path: Path
) -> None:
    table, total, count = annex
    out = tmp_path / "table.csv"
    write_csv(report_from_annex(table, PROVENANCE), out)
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == data.count(b"\n")  # CRLF only
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(ANNEX_HEADERS)
    assert text.rstrip("\r\n").splitlines()[-1] == f"合计,,,{total},,"

    parsed = read_annex_file(out)
    assert parsed.declared_total == total
    assert parsed.total_funds == total
    assert len(parsed.rows) == count
    for row, source in zip(parsed.rows, table.rows, strict=True):
        assert (row.seq, row.subject_name, row.unit_name) == (
            source.seq,
            source.subject_name,
            source.unit_name,
        )
        assert row.funds == source.funds
        assert row.assessment == source.assessment
        assert row.grade is source.grade


def test_csv_writes_53_as_53_00(tmp_path: Path) -> None:
    out = tmp_path / "k.csv"
    write_csv(report_from_annex(seed_table("key_projects"), PROVENANCE), out)
    text = out.read_bytes().decode("utf-8-sig")
    assert ",相山区教育局,53.00," in text
    assert ",170.00," in text and ",1116.10," in text


def test_csv_is_byte_identical_and_has_a_provenance_sidecar(tmp_path: Path) -> None:
    report = report_from_annex(seed_table("department_overall"), PROVENANCE)
    first, second = tmp_path / "a" / "table.csv", tmp_path / "b" / "table.csv"
    write_csv(report, first)
    write_csv(report, second)
    assert first.read_bytes() == second.read_bytes()
    sidecar = tmp_path / "a" / "table.csv.provenance.json"
    assert sidecar.read_bytes() == (tmp_path / "b" / "table.csv.provenance.json").read_bytes()
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    assert meta["sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()
    assert meta["position"] == 1234
    assert meta["recorded_at"] == "2023-05-01T08:30:00+00:00"
    assert meta["checkpoint_root"] == ROOT
    assert meta["checkpoint_size"] == 1234
    assert meta["checkpoint_origin"] == "jixiao.xiangshan.example/ledger"
    assert meta["title"] == "2022年度部门整体支出绩效评价情况表"


# ---------------------------------------------------------------- XLSX


def test_xlsx_layout_numbers_and_provenance(
    annex: tuple[AnnexTable, Decimal, int], tmp_path: Path
) -> None:
    table, total, count = annex
    out = tmp_path / "table.xlsx"
    write_xlsx(report_from_annex(table, PROVENANCE), out)
    wb = load_workbook(out)
    ws = wb.active
    assert ws["A1"].value == table.title
    assert ws["A1"].font.b
    assert "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
    assert tuple(c.value for c in ws[2]) == ANNEX_HEADERS
    body = [tuple(c.value for c in ws[i]) for i in range(3, 3 + count)]
    for values, source in zip(body, table.rows, strict=True):
        assert values[0] == source.seq
        assert values[1] == source.subject_name
        assert values[2] == source.unit_name
        assert isinstance(values[3], int | float)
        assert Decimal(str(values[3])) == source.funds
        assert values[4] == source.assessment
        assert values[5] == (source.grade.label if source.grade else None)
    assert ws.cell(row=3, column=4).number_format == "0.00"
    assert ws.cell(row=3, column=5).alignment.wrap_text
    total_row = 3 + count
    assert ws.cell(row=total_row, column=1).value == "合计"
    assert Decimal(str(ws.cell(row=total_row, column=4).value)) == total
    assert ws.cell(row=total_row, column=4).number_format == "0.00"
    assert ws.cell(row=total_row, column=1).font.b
    footer = [ws.cell(row=r, column=1).value for r in range(total_row + 1, ws.max_row + 1)]
    assert "数据截至账本位置 1234 (ledger position)" in footer
    assert f"检查点根 {ROOT} (checkpoint root)" in footer
    assert ws.column_dimensions["E"].width >= 40  # 评价情况 readable, not squeezed
    props = wb.properties
    assert props.title == table.title
    assert props.created == datetime(2023, 5, 1, 8, 30)
    assert "1234" in (props.description or "")
    custom = {p.name: p.value for p in wb.custom_doc_props.props}
    assert custom["jixiao.position"] == 1234
    assert custom["jixiao.checkpoint_root"] == ROOT


def test_xlsx_reads_back_through_the_importer(
    annex: tuple[AnnexTable, Decimal, int], tmp_path: Path
) -> None:
    table, total, count = annex
    out = tmp_path / "table.xlsx"
    write_xlsx(report_from_annex(table, PROVENANCE), out)
    parsed = read_annex_file(out)
    assert parsed.title == table.title
    assert parsed.declared_total == total
    assert [(r.seq, r.subject_name, r.funds, r.grade) for r in parsed.rows] == [
        (r.seq, r.subject_name, r.funds, r.grade) for r in table.rows
    ]
    assert len(parsed.rows) == count
    assert parsed.notes[0] == "数据截至账本位置 1234 (ledger position)"


def test_xlsx_is_reproducible(tmp_path: Path) -> None:
    report = report_from_annex(seed_table("key_projects"), PROVENANCE)
    write_xlsx(report, tmp_path / "a.xlsx")
    write_xlsx(report, tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_xlsx_keeps_formula_like_text_as_text(tmp_path: Path) -> None:
    report = Report(
        title="t",
        headers=("名称", "金额(万元)"),
        rows=(('=HYPERLINK("x")', Decimal("1.50")),),
        provenance=PROVENANCE,
        numeric_columns=frozenset({1}),
    )
    write_xlsx(report, tmp_path / "f.xlsx")
    cell = load_workbook(tmp_path / "f.xlsx").active["A3"]
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("x")'


# ---------------------------------------------------------------- PDF


@pytest.mark.slow
def test_pdf_embeds_the_cjk_font_and_text_is_extractable(
    annex: tuple[AnnexTable, Decimal, int], tmp_path: Path
) -> None:
    require_poppler()
    table, total, _count = annex
    out = tmp_path / "table.pdf"
    write_pdf(report_from_annex(table, PROVENANCE), out)
    fonts = run("pdffonts", str(out)).splitlines()[2:]
    assert fonts, "no fonts listed"
    for line in fonts:
        columns = line.split()
        emb = columns[-5]  # name type... encoding emb sub uni object-id generation
        assert emb == "yes", line
    assert any("CJK" in line or "Hei" in line or "Ming" in line for line in fonts)
    text = run("pdftotext", "-layout", str(out), "-")
    assert "合计" in text
    assert "相山区" in text
    assert table.title in text
    assert str(total) in text
    pages = int(re.search(r"Pages:\s+(\d+)", run("pdfinfo", str(out))).group(1))  # type: ignore[union-attr]
    assert re.search(rf"第\s*1\s*页\s*/\s*共\s*{pages}\s*页", text)
    assert "数据截至账本位置 1234" in text
    for page in range(1, pages + 1):  # the header row repeats on every page
        page_text = run("pdftotext", "-f", str(page), "-l", str(page), str(out), "-")
        assert "评价情况" in page_text and "序号" in page_text


@pytest.mark.slow
def test_pdf_is_landscape_a4_and_reproducible(tmp_path: Path) -> None:
    require_poppler()
    report = report_from_annex(seed_table("department_overall"), PROVENANCE)
    write_pdf(report, tmp_path / "a.pdf")
    write_pdf(report, tmp_path / "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    info = run("pdfinfo", str(tmp_path / "a.pdf"))
    assert re.search(r"Page size:\s+841\.\d+ x 595\.\d+ pts \(A4\)", info), info


def test_pdf_font_override_must_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIXIAO_CJK_FONT", "/nonexistent/font.ttf")
    with pytest.raises(CjkFontNotFoundError, match="JIXIAO_CJK_FONT"):
        find_cjk_font()


@pytest.mark.slow
def test_pdf_font_override_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require_poppler()
    default = find_cjk_font()
    monkeypatch.setenv("JIXIAO_CJK_FONT", f"{default.path}#{default.index}")
    chosen = find_cjk_font()
    assert (chosen.path, chosen.index) == (default.path, default.index)
    write_pdf(report_from_annex(seed_table("department_overall"), PROVENANCE), tmp_path / "o.pdf")
    assert "合计" in run("pdftotext", str(tmp_path / "o.pdf"), "-")


# ---------------------------------------------------------------- fiscal data package


def no_network(*args: object, **kwargs: object) -> Any:
    raise OSError("no network in this test")



def test_fiscal_data_package(annex: tuple[AnnexTable, Decimal, int], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    table, total, count = annex
    out = tmp_path / "fdp"
    write_fdp(report_from_annex(table, PROVENANCE), out)
    package: dict[str, Any] = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    # A profile every Frictionless tool knows offline; the FDP is said beside it.
    assert package["profile"] == "tabular-data-package"
    assert package["fiscalDataPackage"]["version"] == "0.3"
    frictionless = pytest.importorskip("frictionless")
    monkeypatch.setattr(socket, "getaddrinfo", no_network)  # validated offline
    report = frictionless.validate(str(out / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])
    assert package["title"] == table.title
    assert package["provenance"]["position"] == 1234
    assert package["provenance"]["checkpoint_root"] == ROOT
    assert package["fiscalPeriod"] == {"start": "2022-01-01", "end": "2022-12-31"}
    (resource,) = package["resources"]
    data = (out / resource["path"]).read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert resource["bytes"] == len(data)
    field_names = [f["name"] for f in resource["schema"]["fields"]]

    model = package["model"]
    funds = model["measures"]["funds"]
    assert (funds["currency"], funds["factor"], funds["source"]) == ("CNY", 10000, "funds")
    dims = model["dimensions"]
    assert dims["unit"]["dimensionType"] == "entity"
    assert dims["subject"]["dimensionType"] == "activity"
    assert dims["grade"]["dimensionType"] == "classification"
    assert dims["date"]["dimensionType"] == "datetime"
    for dimension in dims.values():
        assert dimension["primaryKey"] in dimension["attributes"]
        for attribute in dimension["attributes"].values():
            assert attribute["source"] in field_names

    records = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert len(records) == count  # no 合计 row in the data
    assert sum(Decimal(r["funds"]) for r in records) == total
    assert {r["fiscal_year"] for r in records} == {"2022"}
    assert records[0]["grade"] in {"优", "良"}
    assert records[0]["grade_code"] == Grade.from_label(records[0]["grade"]).value


# ---------------------------------------------------------------- a non-annex report


@pytest.mark.slow
def test_writers_accept_any_report(tmp_path: Path) -> None:
    """Coverage tables come as Reports too: no total row, no prose column."""
    report = Report(
        title="2022年度绩效自评覆盖情况",
        headers=("类别", "单位数", "覆盖率(%)"),
        rows=(("项目支出", 62, Decimal("100.00")), ("部门整体支出", 62, Decimal("100"))),
        provenance=Provenance(position=99),
        numeric_columns=frozenset({2}),
        name="coverage-2022",
    )
    write_csv(report, tmp_path / "c.csv")
    assert "项目支出,62,100.00" in (tmp_path / "c.csv").read_text(encoding="utf-8-sig")
    write_xlsx(report, tmp_path / "c.xlsx")
    assert load_workbook(tmp_path / "c.xlsx").active["C4"].value == 100
    with pytest.raises(ValueError, match="money column"):
        write_fdp(report, tmp_path / "fdp")
    if shutil.which("pdftotext") is not None or IN_CI:
        write_pdf(report, tmp_path / "c.pdf")
        assert "部门整体支出" in run("pdftotext", str(tmp_path / "c.pdf"), "-")
