"""Read a published annex table (.xlsx or .csv) into checked, exact values.

Parsing only: nothing here touches the ledger. Every problem in the file is
collected (not just the first) and reported with its spreadsheet row and
column, because the person fixing the file needs the whole list at once.
Names and assessments are kept verbatim: the source's own slips are facts too. (A CSV
cell's leading apostrophe that guards a formula character is the CSV's, not the name's:
ledger.csv_cells.restore takes it off, as Excel does.)
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.csv_cells import restore
from ledger.grades import Grade
from ledger.importing import limits
from ledger.importing.cells import (
    CENT,
    CellError,
    cell_text,
    column_letter,
    is_blank,
    parse_amount,
    parse_grade,
    parse_seq,
)

TOTAL_LABEL = "合计"
_HEADER_SEARCH_ROWS = 20

# Canonical field -> accepted header texts (compared after `normalise_header`).
HEADER_ALIASES: Mapping[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "subject": ("项目名称",),
    "unit": ("实施单位/牵头单位", "主管部门", "主管部门(单位)"),
    "funds": ("财政资金(单位:万元)", "财政资金(万元)", "资金量(万元)", "金额(万元)"),
    "assessment": ("评价情况",),
    "grade": ("评价等级", "等级"),
}
REQUIRED_FIELDS = ("seq", "subject", "unit", "funds", "grade")


def normalise_header(text: str) -> str:
    """Fold full-width forms (（）：／) to ASCII and drop all whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).split())


_ALIAS_INDEX = {normalise_header(a): f for f, aliases in HEADER_ALIASES.items() for a in aliases}


@dataclass(frozen=True)
class TableProblem:
    """One rule broken at one place; `row` is 1-based as the spreadsheet shows it."""

    file: str
    row: int | None
    column: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: [{self.rule}] {self.message}"


class TableImportError(ValueError):
    """All problems found in one file, raised together."""

    def __init__(self, problems: Sequence[TableProblem]) -> None:
        self.problems: tuple[TableProblem, ...] = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the annex table:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


@dataclass(frozen=True)
class ParsedRow:
    seq: int
    subject_name: str
    unit_name: str
    funds: Decimal
    assessment: str | None
    grade: Grade
    source_row: int


@dataclass(frozen=True)
class ParsedAnnex:
    """What the file says, checked for internal consistency, not yet a ledger fact."""

    file: str
    title: str | None
    rows: tuple[ParsedRow, ...]
    declared_total: Decimal | None
    header_map: Mapping[str, str]  # canonical field -> header text as found in the file
    header_row: int
    unit_column_is_supervising: bool
    annex_label: str | None = None  # e.g. 附件1, when a line before the header says so
    notes: tuple[str, ...] = field(default=())  # lines after the 合计 row

    @property
    def total_funds(self) -> Decimal:
        return sum((r.funds for r in self.rows), Decimal("0.00")).quantize(CENT)


# ---------------------------------------------------------------------------- sources


def _read_xlsx(path: Path) -> list[tuple[int, list[Any]]]:
    """The first sheet's rows, within the limits (ledger.importing.limits)."""
    from openpyxl import load_workbook

    limits.check_xlsx(path)
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some producers write a wrong <dimension>; read all rows
        return limits.bounded_rows(sheet.iter_rows(
            max_row=limits.MAX_SHEET_ROWS + 1, max_col=limits.MAX_COLUMNS + 1,
            values_only=True))
    finally:
        workbook.close()


def decode_csv_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM) when it decodes strictly, else GB18030."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")
    return text.removeprefix("\ufeff")


def _read_csv(path: Path) -> list[tuple[int, list[Any]]]:
    """The records, each cell `restore`d: a CSV we wrote reads back as the ledger's text."""
    text = decode_csv_bytes(path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    return limits.bounded_rows([restore(cell) for cell in record] for record in reader)


def _is_total_label(value: Any) -> bool:
    return normalise_header(cell_text(value)) == TOTAL_LABEL


# ---------------------------------------------------------------------------- layout


_ANNEX_LABEL = re.compile(r"附件\s*\d+")


def _cell(values: Sequence[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def _find_header(rows: Sequence[tuple[int, Sequence[Any]]]) -> int | None:
    """Index into `rows` of the first row naming at least two known columns."""
    seen = 0
    for position, (_number, values) in enumerate(rows):
        if is_blank(values):
            continue
        known = sum(1 for v in values if normalise_header(cell_text(v)) in _ALIAS_INDEX)
        if known >= 2:
            return position
        seen += 1
        if seen >= _HEADER_SEARCH_ROWS:
            break
    return None


def _title_lines(rows: Sequence[tuple[int, Sequence[Any]]]) -> tuple[str | None, str | None]:
    """(title, annex label) from the lines above the header."""
    lines = [
        " ".join(cell_text(v).strip() for v in values if cell_text(v).strip())
        for _number, values in rows
        if not is_blank(values)
    ]
    label = next(
        (ln for ln in lines if _ANNEX_LABEL.fullmatch(unicodedata.normalize("NFKC", ln))), None
    )
    others = [ln for ln in lines if ln != label]
    title = next((ln for ln in others if "表" in ln), others[0] if others else None)
    return title, label


class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[TableProblem] = []

    def add(self, row: int | None, column: str | None, rule: str, message: str) -> None:
        self.items.append(TableProblem(self.file, row, column, rule, message))


_KNOWN_HEADERS = "、".join(a for aliases in HEADER_ALIASES.values() for a in aliases)


def _accepted(field_name: str) -> str:
    return " / ".join(HEADER_ALIASES[field_name])


def _map_headers(
    number: int, values: Sequence[Any], problems: _Problems
) -> tuple[dict[str, int], dict[str, str], list[int]]:
    """field -> column index, field -> header text as found, and the named columns."""
    columns: dict[str, int] = {}
    texts: dict[str, str] = {}
    named: list[int] = []
    for index, value in enumerate(values):
        raw = cell_text(value).strip()
        if not raw:
            continue
        named.append(index)
        name = _ALIAS_INDEX.get(normalise_header(raw))
        cell = f"{column_letter(index)}{number}"
        if name is None:
            message = f"unknown column header {raw!r} in {cell}; known: {_KNOWN_HEADERS}"
            problems.add(number, raw, "unknown-header", message)
        elif name in columns:
            message = f"{raw!r} in {cell} repeats column {texts[name]!r}"
            problems.add(number, raw, "duplicate-column", message)
        else:
            columns[name], texts[name] = index, raw
    for name in REQUIRED_FIELDS:
        if name not in columns:
            message = f"required column missing; accepted headers: {_accepted(name)}"
            problems.add(number, HEADER_ALIASES[name][0], "missing-column", message)
    return columns, texts, named


def parse_annex_rows(
    rows: Sequence[tuple[int, Sequence[Any]]],
    *,
    file: str,
    unit_column_is_supervising: bool = False,
) -> ParsedAnnex:
    """Check and convert (row number, cell values) pairs; the format-free core."""
    problems = _Problems(file)
    header_at = _find_header(rows)
    if header_at is None:
        message = f"no header row (序号, 项目名称, …) in the first {_HEADER_SEARCH_ROWS} lines"
        problems.add(None, None, "missing-header", message)
        raise TableImportError(problems.items)
    title, annex_label = _title_lines(rows[:header_at])
    header_number, header_values = rows[header_at]
    columns, texts, named = _map_headers(header_number, header_values, problems)
    if any(name not in columns for name in REQUIRED_FIELDS):
        raise TableImportError(problems.items)

    parsed: list[ParsedRow] = []
    seq_rows: dict[int, int] = {}
    declared_total: Decimal | None = None
    total_row: int | None = None
    amounts_ok = True
    computed = Decimal("0.00")
    notes: list[str] = []
    unnamed_reported: set[int] = set()
    label_columns = named[:2]

    for number, values in rows[header_at + 1 :]:
        if is_blank(values):
            continue
        if total_row is not None:
            notes.append(" ".join(cell_text(v).strip() for v in values if cell_text(v).strip()))
            continue
        if any(_is_total_label(_cell(values, i)) for i in label_columns):
            total_row = number
            try:
                declared_total = parse_amount(_cell(values, columns["funds"]))
            except CellError as err:
                amounts_ok = False
                problems.add(number, texts["funds"], err.rule, f"合计 {err.message}")
            continue
        for index, value in enumerate(values):
            if index not in named and index not in unnamed_reported and cell_text(value).strip():
                unnamed_reported.add(index)
                letter = column_letter(index)
                message = f"{letter}{number} holds data but its column has no header"
                problems.add(number, letter, "unnamed-column", message)
        row, funds = _parse_row(number, values, columns, texts, problems)
        if funds is None:
            amounts_ok = False
        else:
            computed += funds
        if row is None:
            continue
        if row.seq in seq_rows:
            message = f"序号 {row.seq} already used on row {seq_rows[row.seq]}"
            problems.add(number, texts["seq"], "duplicate-seq", message)
        else:
            seq_rows[row.seq] = number
        parsed.append(row)

    if not parsed and not problems.items:
        problems.add(None, None, "no-rows", "the table has a header but no rows")
    # Checked even when other cells are wrong: every amount parsed, so the sum is real.
    if declared_total is not None and amounts_ok and computed != declared_total:
        message = (
            f"合计 {declared_total} differs from the sum of the rows {computed} "
            f"(difference {declared_total - computed})"
        )
        problems.add(total_row, texts["funds"], "total-mismatch", message)
    if problems.items:
        raise TableImportError(problems.items)
    return ParsedAnnex(
        file=file,
        title=title,
        rows=tuple(parsed),
        declared_total=declared_total,
        header_map=dict(texts),
        header_row=header_number,
        unit_column_is_supervising=unit_column_is_supervising,
        annex_label=annex_label,
        notes=tuple(notes),
    )


def _parse_row(
    number: int,
    values: Sequence[Any],
    columns: Mapping[str, int],
    texts: Mapping[str, str],
    problems: _Problems,
) -> tuple[ParsedRow | None, Decimal | None]:
    """One body row (None after recording every problem in it) and its amount if valid."""
    before = len(problems.items)

    def where(name: str) -> str:
        return f"{column_letter(columns[name])}{number}"

    def attempt(name: str, parse: Any) -> Any:
        try:
            return parse(_cell(values, columns[name]))
        except CellError as err:
            problems.add(number, texts[name], err.rule, f"{err.message} (cell {where(name)})")
            return None

    seq = attempt("seq", parse_seq)
    subject = cell_text(_cell(values, columns["subject"])).strip()
    if not subject:
        problems.add(number, texts["subject"], "empty-subject", f"empty (cell {where('subject')})")
    unit = cell_text(_cell(values, columns["unit"])).strip()
    if not unit:
        problems.add(number, texts["unit"], "empty-unit", f"empty (cell {where('unit')})")
    funds = attempt("funds", parse_amount)
    grade = attempt("grade", parse_grade)
    assessment: str | None = None
    if "assessment" in columns:
        raw = cell_text(_cell(values, columns["assessment"]))
        assessment = raw if raw.strip() else None
    if len(problems.items) != before:
        return None, funds
    return ParsedRow(seq, subject, unit, funds, assessment, grade, number), funds


def _load(path: Path) -> list[tuple[int, list[Any]]]:
    """The rows of the file, or a TableImportError naming why it cannot be read."""
    from openpyxl.utils.exceptions import InvalidFileException

    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        message = f"unsupported file type {suffix or '(none)'!r}; use .xlsx or .csv"
        raise TableImportError([TableProblem(path.name, None, None, "unsupported-format", message)])
    try:
        limits.check_file(path)
        return _read_xlsx(path) if suffix == ".xlsx" else _read_csv(path)
    except limits.TooLarge as e:
        problem = TableProblem(path.name, e.row, e.column, e.rule, e.message)
        raise TableImportError([problem]) from None
    except (
        OSError,
        ValueError,
        KeyError,
        csv.Error,
        zipfile.BadZipFile,
        InvalidFileException,
    ) as e:
        problem = TableProblem(path.name, None, None, "unreadable-file", f"cannot read it: {e}")
        raise TableImportError([problem]) from e


def read_annex_file(path: Path, *, unit_column_is_supervising: bool = False) -> ParsedAnnex:
    """Parse an annex table from .xlsx (first sheet) or .csv (UTF-8 ± BOM, else GB18030).

    `unit_column_is_supervising` is the caller's statement that the unit column
    names the supervising department (主管部门) rather than the implementing unit;
    it is echoed so the importer can record it alongside the facts.
    """
    rows = _load(path)
    return parse_annex_rows(
        rows, file=path.name, unit_column_is_supervising=unit_column_is_supervising
    )
