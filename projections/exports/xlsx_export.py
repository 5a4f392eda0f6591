"""The annex tables as .xlsx, the working format of finance bureaus.

Layout follows the published annex: a merged bold title row, the header row,
the rows, the 合计 row, then the provenance lines under the table. Amounts are
real numbers (format 0.00) so that the bureau can sum and check them in Excel.
The file is made byte-reproducible: timestamps inside come from the ledger and
the zip entries carry a fixed date.
"""

from __future__ import annotations

import io
import math
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.packaging.custom import IntProperty, StringProperty
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.xml.functions import tostring

from projections.exports.report import (
    Cell,
    Report,
    column_is_integer,
    display_width,
    fixed_timestamp,
    format_cell,
    longest_line,
    provenance_lines,
)

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="F2F2F2", end_color="F2F2F2")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_MIN_WIDTH, _MAX_WIDTH, _WRAP_WIDTH = 6, 40, 60
_LINE_HEIGHT = 15.0  # points per text line at 11 pt with CJK glyphs
_INVALID_SHEET_CHARS = set("[]:*?/\\")


def _sheet_title(title: str) -> str:
    cleaned = "".join("_" if c in _INVALID_SHEET_CHARS else c for c in title).strip("'")
    return (cleaned or "Sheet1")[:31]


def _column_widths(report: Report) -> list[int]:
    """Readable widths in Excel character units; prose columns get a fixed wide one."""
    widths = []
    for column, header in enumerate(report.headers):
        if column in report.wrap_columns:
            widths.append(_WRAP_WIDTH)
            continue
        texts = [header] + [format_cell(row[column]) for row in report.all_rows]
        natural = longest_line(texts) + 2
        widths.append(max(_MIN_WIDTH, min(_MAX_WIDTH, natural)))
    return widths


def _lines_needed(text: str, width: int) -> int:
    usable = max(1, int(width * 0.95))
    return sum(
        max(1, math.ceil(display_width(line) / usable)) for line in text.splitlines() or [""]
    )


def _row_height(texts: list[str], widths: list[int]) -> float:
    """Excel does not grow rows for wrapped text on open, so estimate the height."""
    lines = max(_lines_needed(text, width) for text, width in zip(texts, widths, strict=True))
    return min(409.0, max(1, lines) * _LINE_HEIGHT + 4)


def _set_text(cell: Any, value: str) -> None:
    """Store text as text: a name starting with '=' must never become a formula."""
    cell.value = value
    cell.data_type = "s"


def _fill_row(
    ws: Any,
    row_index: int,
    report: Report,
    cells: tuple[Cell, ...],
    widths: list[int],
    integer_columns: set[int],
    *,
    bold: bool,
) -> None:
    for column, value in enumerate(cells):
        cell = ws.cell(row=row_index, column=column + 1)
        horizontal = "left"
        if column in report.numeric_columns:
            horizontal = "right"
        elif column in integer_columns or (bold and isinstance(value, str)):
            horizontal = "center"
        if isinstance(value, Decimal):
            cell.value = value
            cell.number_format = "0.00"
        elif isinstance(value, int):
            cell.value = value
        elif isinstance(value, str):
            _set_text(cell, value)
        cell.alignment = Alignment(horizontal=horizontal, vertical="center", wrap_text=True)
        cell.border = _BORDER
        cell.font = Font(bold=bold)
    texts = [format_cell(v) for v in cells]
    ws.row_dimensions[row_index].height = _row_height(texts, widths)


def _write_preamble(ws: Any, report: Report, widths: list[int]) -> int:
    """The header block under the title: the label in the first column, the value merged
    across the others. Returns the rows written."""
    ncols = len(report.headers)
    rest = sum(widths[1:]) or widths[0]
    for offset, (label, value) in enumerate(report.preamble):
        row = 2 + offset
        for column, text in ((1, label), (2, value)):
            cell = ws.cell(row=row, column=column)
            _set_text(cell, text)
            cell.font = Font(bold=column == 1)
            cell.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
            cell.border = _BORDER
        if ncols > 2:
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=ncols)
        ws.row_dimensions[row].height = _row_height([label, value], [widths[0], rest])
    return len(report.preamble)


def build_workbook(report: Report) -> Any:
    """The workbook object, for callers that add sheets (e.g. a coverage view): the report
    on the first sheet, each of its parts on a sheet of its own, every sheet with the
    report's provenance under its table."""
    wb = Workbook()
    lines = provenance_lines(report.provenance)
    _fill_sheet(wb.active, report, lines)
    for part in report.parts:
        _fill_sheet(wb.create_sheet(), part, lines)
    _set_properties(wb, report, lines)
    return wb


def _fill_sheet(ws: Any, report: Report, lines: list[str]) -> None:
    """Title, preamble, header, rows, total and the provenance lines, on one sheet."""
    ws.title = _sheet_title(report.title)
    ncols = len(report.headers)
    widths = _column_widths(report)
    for column, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(column)].width = width
    integer_columns = {c for c in range(ncols) if column_is_integer(report, c)}

    _set_text(ws.cell(row=1, column=1), report.title)
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
    if ncols > 1:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws.row_dimensions[1].height = 30

    head = 2 + _write_preamble(ws, report, widths)
    for column, header in enumerate(report.headers, start=1):
        cell = ws.cell(row=head, column=column)
        _set_text(cell, header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[head].height = _row_height(list(report.headers), widths)

    row_index = head + 1
    for row in report.rows:
        _fill_row(ws, row_index, report, row, widths, integer_columns, bold=False)
        row_index += 1
    if report.total_row is not None:
        _fill_row(ws, row_index, report, report.total_row, widths, integer_columns, bold=True)
        row_index += 1

    row_index += 1  # one blank row between the table and its provenance
    for line in lines:
        cell = ws.cell(row=row_index, column=1)
        _set_text(cell, line)
        cell.font = Font(italic=True, size=9, color="595959")
        if ncols > 1:
            ws.merge_cells(start_row=row_index, start_column=1, end_row=row_index, end_column=ncols)
        row_index += 1

    ws.freeze_panes = f"A{head + 1}"
    ws.print_title_rows = f"{head}:{head}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _set_properties(wb: Any, report: Report, lines: list[str]) -> None:
    p = report.provenance
    moment = fixed_timestamp(p).replace(tzinfo=None)  # openpyxl writes naive UTC
    props = wb.properties
    props.title = report.title
    props.subject = "预算绩效评价 (budget performance evaluation)"
    props.creator = "Jixiao"
    props.lastModifiedBy = "Jixiao"
    props.description = "\n".join(lines)
    props.keywords = f"ledger-position={p.position}"
    props.identifier = p.checkpoint_root
    props.created = moment
    props.modified = moment
    custom = wb.custom_doc_props
    custom.append(IntProperty(name="jixiao.position", value=p.position))
    optional = {
        "jixiao.recorded_at": p.recorded_at.isoformat() if p.recorded_at else None,
        "jixiao.checkpoint_origin": p.checkpoint_origin,
        "jixiao.checkpoint_size": str(p.checkpoint_size) if p.checkpoint_size is not None else None,
        "jixiao.checkpoint_root": p.checkpoint_root,
    }
    for name, value in optional.items():
        if value is not None:
            custom.append(StringProperty(name=name, value=value))


def _reproducible(data: bytes, core_xml: bytes) -> bytes:
    """Rewrite the zip with fixed entry dates and the ledger-dated core properties.

    openpyxl stamps docProps/core.xml and every zip entry with the wall clock on
    save; both are replaced so that one report gives one byte sequence.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = core_xml if info.filename == "docProps/core.xml" else source.read(info)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    return target_buffer.getvalue()


def xlsx_bytes(report: Report) -> bytes:
    """The workbook as bytes, identical for identical reports (same openpyxl/zlib)."""
    wb = build_workbook(report)
    buffer = io.BytesIO()
    wb.save(buffer)
    wb.properties.modified = fixed_timestamp(report.provenance).replace(tzinfo=None)
    return _reproducible(buffer.getvalue(), tostring(wb.properties.to_tree()))


def write_xlsx(report: Report, out: Path) -> None:
    """Write the report as an .xlsx workbook with one sheet."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(xlsx_bytes(report))
