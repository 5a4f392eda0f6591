"""How big a table file may be, checked before and while it is read, never after.

An annex table has tens of rows and a handful of columns; a file of 200k rows used to be
read whole (a minute, a quarter of a gigabyte) before its rows were refused. Now:

* the file on disk, and for .xlsx the sum of its unpacked parts as the zip declares them
  (zipfile never inflates a part beyond its declared size), is at most MAX_FILE_BYTES;
* before openpyxl opens an .xlsx, one pass of expat over its XML parts (no tree built)
  counts their elements (at most MAX_XML_ELEMENTS: openpyxl's cost is per element, and
  it scans a whole sheet that declares no dimension), refuses a DOCTYPE (entity
  expansion), and refuses a sheet whose declared dimension (`<dimension ref="A1:F200000">`)
  is too large, at that element, before any row;
* rows are then read only up to MAX_SHEET_ROWS and MAX_COLUMNS + 1 columns, so a sheet that
  declares too little costs no more; at most MAX_TABLE_ROWS rows may hold anything, and no
  cell may lie beyond column MAX_COLUMNS.

What it cannot see: an .xlsx cell beyond column MAX_COLUMNS + 1 when its row has nothing in
column MAX_COLUMNS + 1 and the sheet declares no wider dimension is not read at all.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.parsers import expat

from ledger.importing.cells import cell_text, column_letter

MAX_FILE_BYTES = 16 << 20
MAX_ZIP_PARTS = 1000
MAX_XML_ELEMENTS = 250_000  # a 500-row annex with its styles and theme has about 20 000
MAX_TABLE_ROWS = 5_000
MAX_SHEET_ROWS = 50_000
MAX_COLUMNS = 64
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


class TooLarge(ValueError):
    """The file breaks one of the limits; `rule` names it, the message says by how much."""

    def __init__(self, rule: str, message: str, row: int | None = None,
                 column: str | None = None) -> None:
        super().__init__(message)
        self.rule, self.message, self.row, self.column = rule, message, row, column


def _mib(size: int) -> str:
    return f"{size:,} bytes" if size % (1 << 20) else f"{size >> 20} MiB"


def check_file(path: Path) -> None:
    """The file's size on disk, before anything reads it."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise TooLarge("file-too-large", f"the file is {_mib(size)}; an annex table file may "
                       f"be at most {_mib(MAX_FILE_BYTES)}")


def check_xlsx(path: Path) -> None:
    """The workbook's parts, their declared sizes and their XML, before openpyxl opens it."""
    with zipfile.ZipFile(path) as archive:
        parts = archive.infolist()
        if len(parts) > MAX_ZIP_PARTS:
            raise TooLarge("file-too-large", f"the workbook has {len(parts)} parts; at most "
                           f"{MAX_ZIP_PARTS} are read")
        unpacked = sum(part.file_size for part in parts)
        if unpacked > MAX_FILE_BYTES:
            raise TooLarge("unpacked-too-large", f"the workbook unpacks to {_mib(unpacked)}; "
                           f"an annex table may unpack to at most {_mib(MAX_FILE_BYTES)}")
        budget = [MAX_XML_ELEMENTS]
        for part in parts:
            if part.filename.endswith((".xml", ".rels")):
                with archive.open(part) as stream:
                    _scan(stream, part.filename, budget)


def _scan(stream: Any, name: str, budget: list[int]) -> None:
    """One XML part through expat: count its elements against the budget, refuse a DOCTYPE,
    check a worksheet's declared dimension."""
    parser = expat.ParserCreate(namespace_separator=" ")

    def start(tag: str, attributes: dict[str, str]) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise TooLarge("too-many-elements", f"the workbook has more than "
                           f"{MAX_XML_ELEMENTS:,} XML elements (at {name}); an annex table "
                           "has far fewer")
        if tag.rsplit(" ", 1)[-1] == "dimension":
            check_declared(attributes.get("ref", ""))

    def doctype(*_: Any) -> None:
        raise TooLarge("unreadable-file", f"{name} declares a DOCTYPE; a workbook has none")

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.ParseFile(stream)
    except expat.ExpatError as exc:
        raise TooLarge("unreadable-file", f"{name} is not well-formed XML: {exc}") from None


def check_declared(ref: str) -> None:
    """A sheet's declared dimension (e.g. A1:F200000), before its rows are parsed."""
    found = _CELL_REF.search(ref.strip())
    if found is None:
        return
    letters, digits = found.groups()
    max_row = int(digits)
    max_column = 0
    for letter in letters.upper():
        max_column = max_column * 26 + ord(letter) - ord("A") + 1
    if max_row > MAX_SHEET_ROWS:
        raise TooLarge("too-many-rows", f"the sheet declares {max_row} rows ({ref}); an annex "
                       f"table may have at most {MAX_TABLE_ROWS} (and reach row "
                       f"{MAX_SHEET_ROWS})")
    if max_column > MAX_COLUMNS:
        raise TooLarge("too-many-columns", f"the sheet declares {max_column} columns ({ref}); "
                       f"at most {MAX_COLUMNS} are read")


def bounded_rows(rows: Iterable[Sequence[Any]]) -> list[tuple[int, list[Any]]]:
    """(row number, values) of the rows that hold anything, trailing empty cells dropped;
    TooLarge as soon as a limit is passed, so the rest of the file is never read."""
    kept: list[tuple[int, list[Any]]] = []
    for number, values in enumerate(rows, start=1):
        if number > MAX_SHEET_ROWS:
            raise TooLarge("too-many-rows", f"the sheet runs past row {MAX_SHEET_ROWS}; an "
                           f"annex table may have at most {MAX_TABLE_ROWS} rows", number)
        width = len(values)
        while width and cell_text(values[width - 1]).strip() == "":
            width -= 1
        if not width:
            continue
        if width > MAX_COLUMNS:
            raise TooLarge("too-many-columns", f"row {number} has data in column "
                           f"{column_letter(width - 1)}; at most {MAX_COLUMNS} columns are "
                           "read", number, column_letter(width - 1))
        if len(kept) == MAX_TABLE_ROWS:
            raise TooLarge("too-many-rows", f"more than {MAX_TABLE_ROWS} rows hold data; an "
                           f"annex table may have at most {MAX_TABLE_ROWS}", number)
        kept.append((number, list(values[:width])))
    return kept
