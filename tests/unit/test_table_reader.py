"""The annex table reader on real .xlsx and .csv files written into tmp_path.

The files are written here with openpyxl and the csv module directly (not with
our exporters), so the reader is checked against independently made input.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from ledger.grades import Grade
from ledger.importing import TableImportError, TableProblem, read_annex_file
from ledger.importing.cells import parse_amount

SAMPLE = Path(__file__).resolve().parents[2] / "ledger" / "sample" / "xiangshan_2022_annexes.json"
SEED: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
HEADERS = ["序号", "项目名称", "实施单位/牵头单位", "财政资金(单位:万元)", "评价情况", "评价等级"]
EXPECTED = {
    "key_projects": (Decimal("6441.47"), 10),
    "department_overall": (Decimal("24589.14"), 6),
}

Grid = list[list[Any]]


def seed_grid(key: str, *, numbers: bool = False, title: bool = False) -> Grid:
    """The annex as a grid of cells, optionally with 附件 + title lines above the header."""
    annex = SEED[key]
    grid: Grid = []
    if title:
        grid += [["附件1" if key == "key_projects" else "附件2"], [annex["title"]]]
    grid.append(list(HEADERS))
    for r in annex["rows"]:
        funds: Any = float(r["funds"]) if numbers else r["funds"]
        if numbers and funds.is_integer():
            funds = int(funds)
        grid.append(
            [
                r["seq"] if numbers else str(r["seq"]),
                r["name"],
                r["unit"],
                funds,
                r["assessment"],
                r["grade"],
            ]
        )
    grid.append(
        ["合计", None, None, float(annex["total"]) if numbers else annex["total"], None, None]
    )
    return grid


def write_xlsx(path: Path, grid: Grid) -> Path:
    wb = Workbook()
    ws = wb.active
    for row in grid:
        ws.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, grid: Grid, encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(
        [["" if v is None else v for v in row] for row in grid]
    )
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def assert_matches_seed(key: str, parsed: Any, *, assessments: bool = True) -> None:
    total, count = EXPECTED[key]
    assert parsed.declared_total == total
    assert parsed.total_funds == total
    assert len(parsed.rows) == count
    for row, source in zip(parsed.rows, SEED[key]["rows"], strict=True):
        assert row.seq == source["seq"]
        assert row.subject_name == source["name"]
        assert row.unit_name == source["unit"]
        assert row.funds == Decimal(source["funds"]).quantize(Decimal("0.01"))
        assert row.grade is Grade.from_label(source["grade"])
        assert row.assessment == (source["assessment"] if assessments else None)


def refusal(path: Path) -> list[TableProblem]:
    with pytest.raises(TableImportError) as caught:
        read_annex_file(path)
    return list(caught.value.problems)


# ---------------------------------------------------------------- accepted layouts


@pytest.mark.parametrize("key", list(EXPECTED))
def test_xlsx_with_numeric_cells_and_title(key: str, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "annex.xlsx", seed_grid(key, numbers=True, title=True))
    parsed = read_annex_file(path)
    assert_matches_seed(key, parsed)
    assert parsed.title == SEED[key]["title"]
    assert parsed.annex_label in {"附件1", "附件2"}
    assert parsed.header_row == 3
    assert parsed.rows[0].source_row == 4
    assert parsed.unit_column_is_supervising is False


@pytest.mark.parametrize("key", list(EXPECTED))
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_encodings(key: str, encoding: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "annex.csv", seed_grid(key), encoding)
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")
    parsed = read_annex_file(path)
    assert_matches_seed(key, parsed)
    assert parsed.title is None


def test_csv_with_title_lines_and_blank_rows(tmp_path: Path) -> None:
    grid = seed_grid("key_projects", title=True)
    grid.insert(2, [])  # blank line between the title and the header
    grid.insert(6, ["", "", ""])  # blank row inside the body
    path = write_csv(tmp_path / "annex.csv", grid)
    parsed = read_annex_file(path)
    assert_matches_seed("key_projects", parsed)
    assert parsed.title == "2022年度重点项目支出和政策绩效评价情况表"
    assert parsed.annex_label == "附件1"


def test_header_variants_without_assessment(tmp_path: Path) -> None:
    grid = [[c for i, c in enumerate(row) if i != 4] for row in seed_grid("department_overall")]
    grid[0] = ["序号", "项目名称", "主管部门", "金额(万元)", "等级"]
    path = write_xlsx(tmp_path / "variant.xlsx", grid)
    parsed = read_annex_file(path, unit_column_is_supervising=True)
    assert_matches_seed("department_overall", parsed, assessments=False)
    assert parsed.unit_column_is_supervising is True
    assert parsed.header_map == {
        "seq": "序号",
        "subject": "项目名称",
        "unit": "主管部门",
        "funds": "金额(万元)",
        "grade": "等级",
    }


def test_full_width_brackets_and_spaces_in_headers(tmp_path: Path) -> None:
    grid = seed_grid("key_projects")
    grid[0] = ["序 号", "项目名称", "主管部门（单位）", "资金量（万元）", "评价情况", " 评价等级 "]
    parsed = read_annex_file(write_csv(tmp_path / "fw.csv", grid))
    assert_matches_seed("key_projects", parsed)
    assert parsed.header_map["unit"] == "主管部门（单位）"
    grid[0][3] = "财政资金（单位：万元）"
    assert read_annex_file(write_csv(tmp_path / "fw2.csv", grid)).declared_total == Decimal(
        "6441.47"
    )


def test_total_label_in_second_column(tmp_path: Path) -> None:
    grid = seed_grid("department_overall")
    grid[-1] = [None, "合 计", None, "24589.14", None, None]
    parsed = read_annex_file(write_csv(tmp_path / "t.csv", grid))
    assert parsed.declared_total == Decimal("24589.14")


def test_no_total_row_is_allowed(tmp_path: Path) -> None:
    parsed = read_annex_file(write_csv(tmp_path / "n.csv", seed_grid("key_projects")[:-1]))
    assert parsed.declared_total is None
    assert parsed.total_funds == Decimal("6441.47")


def test_text_is_kept_verbatim(tmp_path: Path) -> None:
    grid = seed_grid("key_projects")
    grid[1][1] = "  " + grid[1][1] + " "
    grid[1][4] = "  前后有空格的评价情况。 "
    parsed = read_annex_file(write_xlsx(tmp_path / "v.xlsx", grid))
    assert parsed.rows[0].subject_name == SEED["key_projects"]["rows"][0]["name"]
    assert parsed.rows[0].assessment == "  前后有空格的评价情况。 "
    # the source's own copy-editing slip (row 2) and full-width brackets (row 10) survive
    assert "养老机构建设及运营项目" in (parsed.rows[1].assessment or "")
    assert parsed.rows[1].subject_name.endswith("国有企业退休人员社会化管理补助资金项目")
    assert parsed.rows[9].subject_name.endswith("（生活污水处理）")


def test_amount_forms(tmp_path: Path) -> None:
    grid = seed_grid("department_overall")
    grid[1][3] = "2,016.23"
    grid[2][3] = "１３０８.５８"  # full-width digits
    grid[3][3] = " 5042.190 "
    parsed = read_annex_file(write_csv(tmp_path / "a.csv", grid))
    assert [r.funds for r in parsed.rows[:3]] == [
        Decimal("2016.23"),
        Decimal("1308.58"),
        Decimal("5042.19"),
    ]
    assert all(r.funds.as_tuple().exponent == -2 for r in parsed.rows)


# ---------------------------------------------------------------- refusals


def only(problems: list[TableProblem], rule: str) -> TableProblem:
    matching = [p for p in problems if p.rule == rule]
    assert len(matching) == 1, problems
    return matching[0]


def test_wrong_total_is_refused(tmp_path: Path) -> None:
    grid = seed_grid("key_projects", title=True)
    grid[-1][3] = "6441.48"
    problems = refusal(write_csv(tmp_path / "annex.csv", grid))
    problem = only(problems, "total-mismatch")
    assert (problem.row, problem.column) == (14, "财政资金(单位:万元)")
    assert "6441.47" in problem.message and "0.01" in problem.message
    assert problem.file == "annex.csv"


def test_unknown_grade_is_refused(tmp_path: Path) -> None:
    grid = seed_grid("key_projects", numbers=True)
    grid[3][5] = "A"
    problem = only(refusal(write_xlsx(tmp_path / "g.xlsx", grid)), "unknown-grade")
    assert (problem.row, problem.column) == (4, "评价等级")
    assert "F4" in problem.message


def test_chinese_numeral_amount_is_refused(tmp_path: Path) -> None:
    grid = seed_grid("key_projects")
    grid[2][3] = "五百"
    problems = refusal(write_csv(tmp_path / "m.csv", grid))
    problem = only(problems, "non-numeric-amount")
    assert (problem.row, problem.column) == (3, "财政资金(单位:万元)")
    assert "五百" in problem.message
    assert not [p for p in problems if p.rule == "total-mismatch"]  # no follow-on noise


def test_duplicate_seq_is_refused(tmp_path: Path) -> None:
    grid = seed_grid("department_overall")
    grid[4][0] = "2"
    problem = only(refusal(write_csv(tmp_path / "d.csv", grid)), "duplicate-seq")
    assert (problem.row, problem.column) == (5, "序号")
    assert "row 3" in problem.message


def test_unknown_header_is_refused(tmp_path: Path) -> None:
    grid = seed_grid("department_overall", title=True)
    grid[2].append("备注")
    problem = only(refusal(write_xlsx(tmp_path / "h.xlsx", grid)), "unknown-header")
    assert (problem.row, problem.column) == (3, "备注")
    assert "G3" in problem.message


def test_missing_required_column_is_refused(tmp_path: Path) -> None:
    grid = [row[:5] for row in seed_grid("department_overall")]  # no grade column
    problem = only(refusal(write_csv(tmp_path / "c.csv", grid)), "missing-column")
    assert (problem.row, problem.column) == (1, "评价等级")


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (1 / 3, "too-many-decimals"),
        (548.951, "too-many-decimals"),
        (-3, "negative-amount"),
        ("-548.95", "negative-amount"),
        ("548.955", "too-many-decimals"),
        (None, "missing-amount"),
        (True, "non-numeric-amount"),
    ],
)
def test_bad_amounts(value: Any, rule: str, tmp_path: Path) -> None:
    grid = seed_grid("key_projects", numbers=True)
    grid[1][3] = value
    problem = only(refusal(write_xlsx(tmp_path / "b.xlsx", grid)), rule)
    assert (problem.row, problem.column) == (2, "财政资金(单位:万元)")


def test_every_problem_is_collected(tmp_path: Path) -> None:
    grid = seed_grid("key_projects")
    grid[1][0] = "1.5"  # non-integer 序号
    grid[2][1] = "   "  # empty subject name
    grid[3][5] = "A"
    grid[4][3] = "五百"
    grid[6][0] = "5"  # duplicate of row 6's 序号 5
    with pytest.raises(TableImportError) as caught:
        read_annex_file(write_csv(tmp_path / "many.csv", grid))
    rules = [(p.row, p.rule) for p in caught.value.problems]
    assert rules == [
        (2, "non-integer-seq"),
        (3, "empty-subject"),
        (4, "unknown-grade"),
        (5, "non-numeric-amount"),
        (7, "duplicate-seq"),
    ]
    text = str(caught.value)
    assert text.startswith("5 problems in the annex table:")
    assert "many.csv, row 4, column 评价等级: [unknown-grade]" in text


def test_total_is_checked_alongside_other_problems(tmp_path: Path) -> None:
    grid = seed_grid("key_projects")
    grid[3][5] = "A"
    grid[-1][3] = "6441.00"
    rules = {p.rule for p in refusal(write_csv(tmp_path / "t.csv", grid))}
    assert rules == {"unknown-grade", "total-mismatch"}


def test_unreadable_and_unsupported_files(tmp_path: Path) -> None:
    (tmp_path / "x.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    assert refusal(tmp_path / "x.xls")[0].rule == "unsupported-format"
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    assert refusal(tmp_path / "broken.xlsx")[0].rule == "unreadable-file"
    (tmp_path / "nohead.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert refusal(tmp_path / "nohead.csv")[0].rule == "missing-header"


def test_float_cells_are_taken_through_their_shortest_repr() -> None:
    """openpyxl hands numeric cells over as float: 548.95 is fine, 0.1 + 0.2 is not."""
    assert parse_amount(548.95) == Decimal("548.95")
    assert parse_amount(53.0) == Decimal("53.00")
    assert parse_amount(12872.16) == Decimal("12872.16")
    for inexact in (0.1 + 0.2, 1 / 3, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            parse_amount(inexact)


def test_xlsx_row_numbers_count_empty_rows(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    grid = seed_grid("department_overall", numbers=True)
    for offset, row in enumerate(grid):
        target = offset + 3 if offset < 4 else offset + 5  # two empty rows inside the body
        for column, value in enumerate(row, start=1):
            ws.cell(row=target, column=column, value=value)
    ws.cell(row=9, column=6, value="X")  # 序号 4 sits on row 9, after rows 7 and 8 stay empty
    wb.save(tmp_path / "gaps.xlsx")
    problem = only(refusal(tmp_path / "gaps.xlsx"), "unknown-grade")
    assert (problem.row, problem.column) == (9, "评价等级")
