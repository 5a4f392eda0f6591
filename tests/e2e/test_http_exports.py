"""`GET /exports/{year}/{table}.{format}` over real HTTP semantics (Starlette's TestClient).

A minimal app mounts only the export routes over a real SQLite file and a real
PostgreSQL schema, so these tests depend on nothing but the routes and the stores.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from starlette.applications import Starlette
from starlette.testclient import TestClient

from ledger.application import Ledger
from ledger.store import Database
from projections.views import ReadModel
from schema.exports import routes
from tests.integration.helpers import do, max_position

pytestmark = [pytest.mark.slow,  # renders PDF and every format per test
              pytest.mark.sample]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def no_signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(tmp_path / "no-such.key"))


@pytest.fixture
def read(database: Database) -> Iterator[ReadModel]:
    ledger = Ledger(database)
    model = ReadModel(database, ledger)
    yield model
    model.close()
    ledger.close()


@pytest.fixture
def http(read: ReadModel) -> Iterator[TestClient]:
    app = Starlette(routes=routes(lambda request: read))
    with TestClient(app) as client:
        yield client


def test_xlsx_download(http: TestClient, read: ReadModel) -> None:
    response = http.get("/exports/2022/key-projects.xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    title = "2022年度重点项目支出和政策绩效评价情况表.xlsx"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"annex-key-projects-2022.xlsx\"; "
        f"filename*=UTF-8''{quote(title, safe='')}")
    assert response.headers["x-jixiao-position"] == str(max_position(read.ledger))
    assert response.headers["x-jixiao-checkpoint"] == "none"
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [row for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "2022年度重点项目支出和政策绩效评价情况表"
    total = next(row for row in values if row[0] == "合计")
    assert Decimal(str(total[3])).quantize(Decimal("0.01")) == Decimal("6441.47")


def test_csv_pdf_and_fdp_downloads(http: TestClient) -> None:
    response = http.get("/exports/2022/department-overall.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(response.content.decode("utf-8-sig").splitlines()))
    assert rows[-1][0] == "合计" and rows[-1][3] == "24589.14"
    again = http.get("/exports/2022/department-overall.csv")
    assert again.content == response.content  # same state, same bytes
    etag = response.headers["etag"]
    assert http.get("/exports/2022/department-overall.csv",
                    headers={"If-None-Match": etag}).status_code == 304

    pdf = http.get("/exports/2022/key-projects.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    fdp = http.get("/exports/2022/key-projects.fdp")
    assert fdp.status_code == 200 and fdp.headers["content-type"] == "application/zip"
    assert 'filename="annex-key-projects-2022.datapackage.zip"' in fdp.headers[
        "content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(fdp.content))
    names = sorted(archive.namelist())
    assert names == ["annex-key-projects-2022/data/annex-key-projects-2022.csv",
                     "annex-key-projects-2022/datapackage.json"]
    descriptor = json.loads(archive.read("annex-key-projects-2022/datapackage.json"))
    assert descriptor["provenance"]["position"] == int(fdp.headers["x-jixiao-position"])
    assert descriptor["provenance"]["checkpoint_note"] is None
    assert "no signed checkpoint" in descriptor["provenance"]["checkpoint_summary"]

    coverage = http.get("/exports/2022/coverage.xlsx")
    assert coverage.status_code == 200
    assert "filename*=UTF-8''2022" in coverage.headers["content-disposition"]


def test_the_results_ledger_downloads(http: TestClient, read: ReadModel) -> None:
    """结果应用台账 of 2022: the sample's 2023 consequences, in xlsx, pdf and csv."""
    head = str(max_position(read.ledger))
    xlsx = http.get("/exports/2022/results-ledger.xlsx")
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["content-type"] == XLSX and xlsx.headers["x-jixiao-position"] == head
    title = "2022年度绩效评价结果应用台账"
    assert xlsx.headers["content-disposition"] == (
        "attachment; filename=\"results-ledger-2022.xlsx\"; "
        f"filename*=UTF-8''{quote(title + '.xlsx', safe='')}")
    book = load_workbook(io.BytesIO(xlsx.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == title
    recovered = next(r for r in rows if r[5] == "收回")
    assert (recovered[7], Decimal(str(recovered[8]))) == ("项目 XS-2022-KP-06", Decimal("20.00"))
    totals = {r[1]: r[2] for r in book.worksheets[1].iter_rows(values_only=True)}
    assert (Decimal(str(totals["收回合计"])), totals["优先安排"]) == (Decimal("20.00"), 2)

    text = http.get("/exports/2022/results-ledger.csv")
    assert text.status_code == 200 and text.headers["content-type"] == "text/csv; charset=utf-8"
    lines = text.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("序号,单位,项目名称,依据,规则版本及表述,结果应用方式,")
    assert "2,收回合计,20.00,万元" in lines and "合计,,,,,1073.30,,,1073.30," in lines

    pdf = http.get("/exports/2022/results-ledger.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.headers["x-jixiao-position"] == head
    if shutil.which("pdftotext") is not None:
        printed = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.content,
                                 check=True, capture_output=True).stdout.decode()
        assert title in printed and "收回合计" in printed and "1073.30" in printed

    refused = http.get("/exports/2022/results-ledger.fdp")
    assert refused.status_code == 400
    assert refused.json()["error"]["parameter"] == "format"


def test_as_of_and_position_pin_the_figures(http: TestClient, read: ReadModel) -> None:
    before = read.resolve()
    assert before.recorded_at is not None
    time.sleep(0.01)
    subject = read.ledger.subject("XS-2022-KP-05")
    do(read.ledger, "correct_event", position=read.ledger.position_of(subject.id, 1),
       values={"funds": "604.85"}, reason="金额录入错误")
    as_of = (before.recorded_at + timedelta(microseconds=1)).isoformat()
    old = http.get("/exports/2022/key-projects.csv", params={"asOf": as_of})
    assert old.status_code == 200, old.text
    assert old.headers["x-jixiao-position"] == str(before.position)
    assert "合计,,,6441.47" in old.content.decode("utf-8-sig")
    now = http.get("/exports/2022/key-projects.csv")
    assert "合计,,,6405.47" in now.content.decode("utf-8-sig")
    pinned = http.get("/exports/2022/key-projects.csv", params={"position": before.position})
    assert pinned.content == old.content


@pytest.mark.parametrize(("url", "params", "parameter", "words"), [
    ("/exports/20x2/key-projects.csv", {}, "year", "four-digit year"),
    ("/exports/1999/key-projects.csv", {}, "year", "outside"),
    ("/exports/2022/projects.csv", {}, "table", "unknown table"),
    ("/exports/2022/key-projects.docx", {}, "format", "unknown format"),
    ("/exports/2022/key-projects", {}, "format", "names no format"),
    ("/exports/2022/coverage.fdp", {}, "format", "no money column"),
    ("/exports/2022/key-projects.csv", {"asOf": "2022-09-30T18:00:00"}, "asOf", "timezone"),
    ("/exports/2022/key-projects.csv", {"asOf": "yesterday"}, "asOf", "ISO 8601"),
    ("/exports/2022/key-projects.csv", {"position": "-1"}, "position", "non-negative"),
    ("/exports/2022/key-projects.csv", {"position": "99999999"}, "position", "beyond"),
    ("/exports/2022/key-projects.csv", {"position": "1", "asOf": "2022-09-30T18:00:00Z"},
     "asOf", "not both"),
])
def test_bad_requests_are_400_with_a_clear_message(http: TestClient, url: str,
                                                   params: dict[str, str], parameter: str,
                                                   words: str) -> None:
    response = http.get(url, params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["parameter"] == parameter and words in error["message"]
