"""Import the published annex tables, export them again, on SQLite and PostgreSQL.

The seed's two tables are written to .xlsx and .csv files here (as a finance bureau
would receive them), imported through the importer, and exported to every format;
what comes back must be what went in, and every refusal must leave the ledger as it was.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from ledger.application import Ledger
from ledger.importing.importer import (
    NO_ASSESSMENT_COLUMN,
    evaluated_on,
    import_table,
    subject_code_for,
    unit_code_for,
)
from ledger.importing.table_reader import TableImportError, read_annex_file
from ledger.store import Database
from projections.exports.coverage_report import (
    ExportRefused,
    check_request,
    checkpoint_status,
    resolve_moment,
    table_report,
    write_export,
)
from projections.views import ReadModel
from tests.conftest import IN_CI
from tests.integration.helpers import do, max_position

SEED: dict[str, Any] = json.loads(resources.files("ledger.sample")
                                  .joinpath("xiangshan_2022_annexes.json")
                                  .read_text(encoding="utf-8"))
HEADERS = ["序号", "项目名称", "实施单位/牵头单位", "财政资金(单位:万元)", "评价情况", "评价等级"]
TABLES = {"key_projects": ("key-projects", "附件1", Decimal("6441.47"), {"优": 6, "良": 4}),
          "department_overall": ("department-overall", "附件2", Decimal("24589.14"),
                                 {"优": 5, "良": 1})}


def seed_lines(key: str, *, headers: list[str] | None = None,
               change: dict[tuple[int, int], Any] | None = None,
               total: Any = None) -> list[list[Any]]:
    """The annex as spreadsheet lines: label, title, header, rows, 合计; cells may be changed."""
    rows: list[list[Any]] = [[r["seq"], r["name"], r["unit"], r["funds"], r["assessment"],
                              r["grade"]] for r in SEED[key]["rows"]]
    for (index, column), value in (change or {}).items():
        rows[index][column] = value
    closing = ["合计", None, None, total if total is not None else SEED[key]["total"], None,
               None]
    return [[TABLES[key][1]], [SEED[key]["title"]], headers or HEADERS, *rows, closing]


def write_xlsx_file(lines: list[list[Any]], path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for line in lines:  # amounts as real numbers, as Excel holds them
        sheet.append([float(v) if isinstance(v, str) and re.fullmatch(r"\d+(\.\d+)?", v)
                      and i == 3 else v for i, v in enumerate(line)])
    workbook.save(path)
    return path


def write_csv_file(lines: list[list[Any]], path: Path, encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows([["" if v is None else v for v in line] for line in lines])
    return path


def seed_file(key: str, fmt: str, directory: Path, **options: Any) -> Path:
    lines = seed_lines(key, **options)
    path = directory / f"{key}.{fmt}"
    return write_xlsx_file(lines, path) if fmt == "xlsx" else write_csv_file(lines, path)


def import_seed(ledger: Ledger, fmt: str, directory: Path) -> None:
    for key, (table, *_rest) in TABLES.items():
        import_table(ledger, seed_file(key, fmt, directory), fiscal_year=2022,
                     table=table)  # type: ignore[arg-type]


@pytest.fixture
def read(ledger: Ledger, database: Database) -> Iterator[ReadModel]:
    model = ReadModel(database, ledger)
    yield model
    model.close()


@pytest.fixture(autouse=True)
def no_signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoints only where a test makes a key: never a stray key file from the cwd."""
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(tmp_path / "no-such.key"))


def require_poppler() -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        if IN_CI:
            pytest.fail("poppler-utils (pdftotext, pdffonts) must be installed under CI=true")
        pytest.skip("poppler-utils not installed (apt-get install -y poppler-utils)")


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def export(read: ReadModel, table: str, fmt: str, out: Path, *, position: int | None = None,
           as_of: datetime | None = None) -> Path:
    """What `jixiao export` does, in process."""
    name, kind = check_request(table, fmt)
    moment = resolve_moment(read, position=position, as_of=as_of)
    status = checkpoint_status(read, moment)
    write_export(table_report(read, 2022, name, moment, status.provenance), kind, out,
                 status.note)
    return out


# ------------------------------------------------------------------------ import, export


@pytest.mark.slow
@pytest.mark.parametrize("source", ["xlsx", "csv"])
def test_imported_tables_export_to_every_format_and_read_back(
        ledger: Ledger, read: ReadModel, tmp_path: Path, source: str) -> None:
    import_seed(ledger, source, tmp_path)
    head = max_position(ledger)
    for key, (table, _label, total, grades) in TABLES.items():
        source_rows = SEED[key]["rows"]
        expected = [(r["name"], r["unit"], Decimal(r["funds"]).quantize(Decimal("0.01")),
                     r["assessment"], r["grade"]) for r in source_rows]
        for fmt in ("xlsx", "csv"):
            out = export(read, table, fmt, tmp_path / f"out-{table}.{fmt}")
            back = read_annex_file(out)
            assert [(r.subject_name, r.unit_name, r.funds, r.assessment, r.grade.label)
                    for r in back.rows] == expected
            assert back.declared_total == total == back.total_funds
            assert [r.seq for r in back.rows] == list(range(1, len(source_rows) + 1))
            counted = {g: sum(1 for r in back.rows if r.grade.label == g) for g in grades}
            assert counted == grades
        sidecar = json.loads((tmp_path / f"out-{table}.csv.provenance.json").read_text("utf-8"))
        assert sidecar["position"] == head and sidecar["checkpoint_root"] is None
        assert sidecar["checkpoint_note"] is None
        assert "no signed checkpoint covers position" in sidecar["checkpoint_summary"]

        package = export(read, table, "fdp", tmp_path / f"fdp-{table}")
        descriptor = json.loads((package / "datapackage.json").read_text("utf-8"))
        assert descriptor["provenance"]["position"] == head
        data = (package / descriptor["resources"][0]["path"]).read_text("utf-8")
        assert sum(Decimal(r["funds"]) for r in csv.DictReader(data.splitlines())) == total

        require_poppler()
        pdf = export(read, table, "pdf", tmp_path / f"out-{table}.pdf")
        fonts = run("pdffonts", str(pdf)).splitlines()[2:]
        assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts
        assert any("CJK" in line for line in fonts)
        text = run("pdftotext", "-layout", str(pdf), "-")
        assert "合计" in text and "相山区" in text and str(total) in text
        assert f"数据截至账本位置 {head}" in text


def test_imported_facts_are_what_the_issue_says(ledger: Ledger, tmp_path: Path) -> None:
    import_seed(ledger, "xlsx", tmp_path)
    fiscal = ledger.subject(subject_code_for(2022, "key-projects",
                                             "相山区渠沟镇人民政府2022年财政运行综合绩效评价"))
    assert (fiscal.kind, fiscal.is_key, fiscal.funds) == ("fiscal_operations", True,
                                                           Decimal("2841.81"))
    [evaluation] = fiscal.evaluations.values()
    assert evaluation.kind == "finance" and evaluation.published_grade == "GOOD"
    assert evaluation.score is None
    assert evaluation.evaluated_on == evaluated_on(2022) == date(2022, 12, 31)
    assert evaluation.narrative == SEED["key_projects"]["rows"][7]["assessment"]
    assert fiscal.grade is not None and fiscal.grade.grade == "GOOD"
    overall = ledger.subject(subject_code_for(2022, "department-overall",
                                              "相山区民政局2022年部门整体支出"))
    assert overall.kind == "department_overall"
    # One unit per name, shared by both tables: 民政局 appears in each.
    assert overall.unit_code == unit_code_for("相山区民政局")
    assert ledger.unit(unit_code_for("相山区西街道办事处")).kind == "street"
    assert ledger.unit(unit_code_for("相山区渠沟镇人民政府")).kind == "township"
    assert ledger.unit(unit_code_for("相山区环境卫生管理所")).kind == "other"


@pytest.mark.slow
def test_exports_are_byte_identical_for_the_same_state(ledger: Ledger, read: ReadModel,
                                                       tmp_path: Path) -> None:
    import_seed(ledger, "csv", tmp_path)
    for fmt in ("csv", "xlsx"):
        first = export(read, "key-projects", fmt, tmp_path / f"a.{fmt}").read_bytes()
        second = export(read, "key-projects", fmt, tmp_path / f"b.{fmt}").read_bytes()
        assert first == second, fmt
    a = json.loads((tmp_path / "a.csv.provenance.json").read_text("utf-8"))
    b = json.loads((tmp_path / "b.csv.provenance.json").read_text("utf-8"))
    assert a.pop("file") == "a.csv" and b.pop("file") == "b.csv" and a == b


@pytest.mark.slow
def test_coverage_exports_and_refuses_fdp(ledger: Ledger, read: ReadModel,
                                          tmp_path: Path) -> None:
    import_seed(ledger, "xlsx", tmp_path)
    out = export(read, "coverage", "csv", tmp_path / "coverage.csv")
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "序号,指标,数值,计量单位"
    assert "评价对象,16,个" in "\n".join(lines)
    assert "评价对象资金,31030.61,万元" in "\n".join(lines)
    assert "评价等级为优,11,个" in "\n".join(lines)
    export(read, "coverage", "xlsx", tmp_path / "coverage.xlsx")
    with pytest.raises(ExportRefused, match="no money column per subject"):
        export(read, "coverage", "fdp", tmp_path / "coverage-fdp")


# ------------------------------------------------------------------------ refusals


@pytest.mark.slow
@pytest.mark.parametrize(("options", "row", "column", "rule"), [
    ({"total": "6441.48"}, 14, "财政资金(单位:万元)", "total-mismatch"),
    ({"change": {(2, 5): "较好"}}, 6, "评价等级", "unknown-grade"),
    ({"change": {(4, 3): "六百四十万"}}, 8, "财政资金(单位:万元)", "non-numeric-amount"),
    ({"change": {(3, 0): 3}}, 7, "序号", "duplicate-seq"),
    ({"headers": [*HEADERS[:5], "评价结果"]}, 3, "评价结果", "unknown-header"),
])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_wrong_table_is_refused_with_row_and_column_and_nothing_moves(
        ledger: Ledger, tmp_path: Path, fmt: str, options: dict[str, Any], row: int,
        column: str, rule: str) -> None:
    before = max_position(ledger)
    path = seed_file("key_projects", fmt, tmp_path, **options)
    with pytest.raises(TableImportError) as refused:
        import_table(ledger, path, fiscal_year=2022, table="key-projects")
    found = [(p.row, p.column, p.rule) for p in refused.value.problems]
    assert (row, column, rule) in found, found
    assert path.name in str(refused.value) and f"row {row}" in str(refused.value)
    assert max_position(ledger) == before


@pytest.mark.slow
def test_a_file_contradicting_the_ledger_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    import_seed(ledger, "xlsx", tmp_path)
    before = max_position(ledger)
    (tmp_path / "changed").mkdir()
    path = seed_file("key_projects", "csv", tmp_path / "changed",
                     change={(4, 3): "604.85"}, total="6405.47")
    with pytest.raises(TableImportError) as refused:
        import_table(ledger, path, fiscal_year=2022, table="key-projects")
    [problem] = refused.value.problems
    assert (problem.row, problem.column, problem.rule) == (8, "财政资金(单位:万元)",
                                                           "contradicts-ledger")
    assert "correct_event" in problem.message
    assert max_position(ledger) == before


@pytest.mark.slow
def test_the_wrong_year_or_table_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    path = seed_file("key_projects", "xlsx", tmp_path)
    with pytest.raises(TableImportError, match="year-mismatch"):
        import_table(ledger, path, fiscal_year=2023, table="key-projects")
    with pytest.raises(TableImportError, match="table-mismatch"):
        import_table(ledger, path, fiscal_year=2022, table="department-overall")
    assert max_position(ledger) == 0


# ------------------------------------------------------------------------ idempotency


def test_reimporting_the_same_table_appends_nothing(ledger: Ledger, tmp_path: Path) -> None:
    path = seed_file("department_overall", "xlsx", tmp_path)
    first = import_table(ledger, path, fiscal_year=2022, table="department-overall")
    assert first.appended and len(first.subjects_recorded) == 6
    head = max_position(ledger)
    again = import_table(ledger, path, fiscal_year=2022, table="department-overall")
    assert not again.appended and len(again.rows_already_recorded) == 6
    # The same table from a GB18030 .csv (another file, another hash): recognised too.
    other = write_csv_file(seed_lines("department_overall"), tmp_path / "gb.csv", "gb18030")
    third = import_table(ledger, other, fiscal_year=2022, table="department-overall")
    assert not third.appended and third.sha256 != first.sha256
    assert max_position(ledger) == head


@pytest.mark.slow
def test_supervising_unit_column_and_missing_assessment(ledger: Ledger, read: ReadModel,
                                                        tmp_path: Path) -> None:
    lines = [[line[0], line[1], line[2], line[3], line[5]] if len(line) == 6 else line
             for line in seed_lines("department_overall",
                                    headers=["序号", "项目名称", "主管部门", "金额(万元)",
                                             "评价情况", "等级"])]
    path = write_csv_file(lines, tmp_path / "supervising.csv")
    result = import_table(ledger, path, fiscal_year=2022, table="department-overall")
    assert result.unit_column_is_supervising and "主管部门" in result.notes[0]
    assert ledger.unit(unit_code_for("相山区环境卫生管理所")).kind == "department"
    table = table_report(read, 2022, "department-overall", read.resolve())
    assert {row[4] for row in table.rows} == {NO_ASSESSMENT_COLUMN}
    assert table.total_row is not None and table.total_row[3] == Decimal("24589.14")


# ------------------------------------------------------------------------ point in time


@pytest.mark.slow
def test_export_as_of_before_a_correction_shows_the_earlier_figures(
        ledger: Ledger, read: ReadModel, tmp_path: Path) -> None:
    import_seed(ledger, "xlsx", tmp_path)
    earlier = read.resolve()
    time.sleep(0.01)
    code = subject_code_for(2022, "key-projects", "相山区民政局2022年农村最低生活保障金")
    registered = ledger.position_of(ledger.subject(code).id, 1)
    do(ledger, "correct_event", position=registered, values={"funds": "604.85"},
       reason="金额录入错误")
    assert earlier.recorded_at is not None
    as_of = (earlier.recorded_at + timedelta(microseconds=1)).astimezone(UTC)

    old = read_annex_file(export(read, "key-projects", "xlsx", tmp_path / "old.xlsx",
                                 as_of=as_of))
    new = read_annex_file(export(read, "key-projects", "xlsx", tmp_path / "new.xlsx"))
    assert old.rows[4].funds == Decimal("640.85") and old.declared_total == Decimal("6441.47")
    assert new.rows[4].funds == Decimal("604.85") and new.declared_total == Decimal("6405.47")
    export(read, "key-projects", "csv", tmp_path / "old.csv", as_of=as_of)
    sidecar = json.loads((tmp_path / "old.csv.provenance.json").read_text("utf-8"))
    assert sidecar["position"] == earlier.position < max_position(ledger)
    with pytest.raises(ExportRefused, match="no timezone"):
        export(read, "key-projects", "csv", tmp_path / "x.csv", as_of=as_of.replace(tzinfo=None))


@pytest.mark.slow
def test_provenance_cites_the_earliest_checkpoint_covering_the_position(
        ledger: Ledger, read: ReadModel, database: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.integrity.checkpoint import init_key_file
    from ledger.integrity.service import checkpoint_now, load_key

    key = tmp_path / "signing.key"
    init_key_file(key, "test.jixiao")
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key))
    import_seed(ledger, "csv", tmp_path)
    covered = max_position(ledger)
    checkpoint = checkpoint_now(database, ledger, load_key(database))
    export(read, "key-projects", "csv", tmp_path / "signed.csv")
    sidecar = json.loads((tmp_path / "signed.csv.provenance.json").read_text("utf-8"))
    assert sidecar["checkpoint_root"] == checkpoint.root
    assert sidecar["checkpoint_size"] == checkpoint.size and sidecar["position"] == covered
    unit = ledger.unit(unit_code_for("相山区民政局"))
    do(ledger, "correct_event", position=ledger.position_of(unit.id, 1),
       values={"name": "淮北市相山区民政局"}, reason="规范全称")
    export(read, "key-projects", "csv", tmp_path / "later.csv")
    later = json.loads((tmp_path / "later.csv.provenance.json").read_text("utf-8"))
    assert later["position"] > covered and later["checkpoint_root"] is None
    export(read, "key-projects", "csv", tmp_path / "then.csv", position=covered)
    then = json.loads((tmp_path / "then.csv.provenance.json").read_text("utf-8"))
    assert then["checkpoint_root"] == checkpoint.root

    # A later checkpoint covers both positions; each export cites the first that covers it.
    second = checkpoint_now(database, ledger, load_key(database))
    assert second.size > checkpoint.size
    for name, position, cited in (("then", covered, checkpoint),
                                  ("later", later["position"], second)):
        out = export(read, "key-projects", "csv", tmp_path / "again" / f"{name}.csv",
                     position=position)
        again = json.loads(out.with_name(f"{name}.csv.provenance.json").read_text("utf-8"))
        assert (again["checkpoint_size"], again["checkpoint_root"]) == (cited.size, cited.root)
        assert "earliest signed checkpoint covering" in again["checkpoint_summary"]
    for name in ("then.csv", "then.csv.provenance.json"):  # the pinned export did not change
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / name).read_bytes()


# ------------------------------------------------------------------------ the command line


def jixiao(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JIXIAO_DATABASE_URL": db.url}
    return subprocess.run([sys.executable, "-m", "jixiao.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow  # runs the CLI in processes
def test_cli_import_refusal_then_import_then_export(ledger: Ledger, database: Database,
                                                    tmp_path: Path) -> None:
    bad = seed_file("key_projects", "csv", tmp_path, change={(2, 5): "较好"})
    refused = jixiao(database, "import-table", str(bad), "--year", "2022", "--table",
                     "key-projects")
    assert refused.returncode == 3, refused.stderr
    assert "nothing imported" in refused.stderr
    assert "key_projects.csv, row 6, column 评价等级: [unknown-grade]" in refused.stderr
    assert max_position(ledger) == 0

    good = seed_file("key_projects", "xlsx", tmp_path)
    done = jixiao(database, "import-table", str(good), "--year", "2022", "--table",
                  "key-projects")
    assert done.returncode == 0, done.stderr
    assert "10 subjects" in done.stdout and "2022-12-31" in done.stdout
    head = max_position(ledger)
    again = jixiao(database, "import-table", str(good), "--year", "2022", "--table",
                   "key-projects")
    assert again.returncode == 0 and "nothing appended" in again.stdout
    assert max_position(ledger) == head

    out = tmp_path / "cli.csv"
    exported = jixiao(database, "export", "--year", "2022", "--table", "key-projects",
                      "--format", "csv", "--out", str(out), "--position", str(head))
    assert exported.returncode == 0, exported.stderr
    assert f"ledger position {head}" in exported.stdout and "检查点" in exported.stdout
    assert read_annex_file(out).declared_total == Decimal("6441.47")
    naive = jixiao(database, "export", "--year", "2022", "--table", "key-projects",
                   "--format", "csv", "--out", str(out), "--as-of", "2022-09-30T18:00:00")
    assert naive.returncode == 2 and "timezone" in naive.stderr
    beyond = jixiao(database, "export", "--year", "2022", "--table", "coverage", "--format",
                    "fdp", "--out", str(tmp_path / "c"))
    assert beyond.returncode == 2 and "no money column" in beyond.stderr
