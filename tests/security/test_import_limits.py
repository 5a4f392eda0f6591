"""Oversized tables for import-table: refused before they are read, not after.

Attack: an .xlsx of 200k rows was read whole (59 s, 255 MB) before its rows were refused;
a sheet can also lie about its dimension, or unpack from kilobytes to gigabytes.

Defence (ledger/importing/limits.py, used by table_reader): the file's size and the
workbook's declared unpacked size, the sheet's declared dimension, and while reading the
number of rows and columns are checked against fixed limits; a refusal is one typed
problem naming the rule, and nothing is imported.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

from jixiao.cli import main as jixiao
from ledger.importing import limits
from ledger.importing.cli import EXIT_REFUSED
from tests.security.conftest import Served, assert_public_annex_intact

HEADER = ("序号", "项目名称", "实施单位/牵头单位", "财政资金(单位:万元)", "评价等级")
ROWS = 200_000


def template() -> bytes:
    """A real workbook (openpyxl) with the annex header, whose sheet the attacks replace."""
    book = Workbook()
    sheet = book.active
    sheet.append(list(HEADER))
    sheet.append([1, "项目", "单位", 1.0, "优"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sheet_xml(dimension: str | None, rows: int, padding_mib: int = 0,
              first: int = 2) -> Iterator[bytes]:
    """A sheet with the header and `rows` short body rows from row `first`, declaring
    `dimension`, with `padding_mib` MiB of comment (that deflates to almost nothing)."""
    head = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in HEADER)
    body = "".join(f'<row r="{n}"><c><v>{n}</v></c></row>' for n in range(first, first + rows))
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    yield ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
           'openxmlformats.org/spreadsheetml/2006/main">' + declared).encode()
    if padding_mib:
        yield b"<!-- "
        for _ in range(padding_mib):
            yield b"A" * (1 << 20)
        yield b" -->"
    yield f'<sheetData><row r="1">{head}</row>{body}</sheetData></worksheet>'.encode()


def workbook(path: Path, sheet: Iterable[bytes]) -> Path:
    """The template with its sheet replaced by `sheet`, written (and deflated) in chunks."""
    source = zipfile.ZipFile(io.BytesIO(template()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, source.read(info))
                continue
            with target.open(info.filename, "w") as part:
                for chunk in sheet:
                    part.write(chunk)
    return path


def import_refused(served: Served, path: Path, capsys: pytest.CaptureFixture[str],
                   rule: str) -> float:
    """Run `jixiao import-table` on the file; it must refuse by `rule` and append nothing."""
    before = served.graphql("{ ledger { position } }").json()["data"]["ledger"]["position"]
    began = time.monotonic()
    code = jixiao(["--database", served.db.url, "import-table", str(path), "--year", "2022",
                   "--table", "key-projects"])
    took = time.monotonic() - began
    err = capsys.readouterr().err
    assert code == EXIT_REFUSED, err
    assert "refused, nothing imported" in err and f"[{rule}]" in err, err
    after = served.graphql("{ ledger { position } }").json()["data"]["ledger"]["position"]
    assert after == before
    assert_public_annex_intact(served.url)
    return took


def test_an_xlsx_declaring_200k_rows_is_refused_before_a_row_is_read(
        served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = workbook(tmp_path / "big.xlsx", sheet_xml(f"A1:E{ROWS + 1}", ROWS))
    assert path.stat().st_size < limits.MAX_FILE_BYTES
    assert import_refused(served, path, capsys, "too-many-rows") < 5


def test_an_xlsx_lying_about_its_dimension_costs_no_more_than_an_honest_one(
        served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {  # name: (sheet, the rule that stops it)
        "lying.xlsx": (sheet_xml("A1:E3", ROWS), "too-many-elements"),
        "undeclared.xlsx": (sheet_xml(None, ROWS), "too-many-elements"),
        "lying-6000.xlsx": (sheet_xml("A1:E3", 6_000), "too-many-rows"),
        "far-row.xlsx": (sheet_xml("A1:E3", 1, first=1_000_000), "too-many-rows"),
    }
    for name, (sheet, rule) in cases.items():
        path = workbook(tmp_path / name, sheet)
        assert import_refused(served, path, capsys, rule) < 10, name


def test_an_xlsx_that_unpacks_far_beyond_its_size_is_refused_before_it_is_opened(
        served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = workbook(tmp_path / "bomb.xlsx", sheet_xml("A1:E2", 1, padding_mib=96))
    assert path.stat().st_size < 1 << 20  # 96 MiB of sheet in a file of kilobytes
    assert import_refused(served, path, capsys, "unpacked-too-large") < 5


def test_a_csv_of_200k_rows_or_a_far_column_is_refused_while_read(
        served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "\r\n".join(f"{n},项目{n},单位,1.00,优" for n in range(1, ROWS + 1))
    path = tmp_path / "big.csv"
    path.write_text(",".join(HEADER) + "\r\n" + rows + "\r\n", encoding="utf-8")
    assert import_refused(served, path, capsys, "too-many-rows") < 10
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(HEADER) + "\r\n1,项目,单位,1.00,优" + "," * 20_000 + "x\r\n",
                    encoding="utf-8")
    assert import_refused(served, wide, capsys, "too-many-columns") < 5
