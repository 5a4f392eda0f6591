"""CSV for data exchange: UTF-8 with BOM and CRLF, because that is what Excel opens.

The CSV is pure data (header, rows, 合计); provenance goes into a JSON sidecar
next to it, with the SHA-256 of the CSV bytes so the pair can be checked.

Every CSV the project writes (this one, the fiscal data package's) goes through
`csv_document`: amounts and counts are written as numbers, and text that a spreadsheet
would run as a formula (= + - @ tab CR first) gets an apostrophe in front
(ledger.csv_cells); the ledger and the xlsx keep the text as it was.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from ledger.csv_cells import neutralise
from projections.exports.report import Cell, Report, format_cell, provenance_dict

BOM = "\ufeff"
# Said in the fiscal data package's descriptor. Not in the csv sidecar: that would change
# the bytes of every disclosure package already recorded, not only those it concerns.
TEXT_CELL_RULE = ("以 = + - @、制表符或回车开头的文字单元格前加撇号 (')，"
                  "电子表格不会将其作为公式执行；原文见账本与 xlsx "
                  "(text cells starting with = + - @, tab or CR carry a leading apostrophe, "
                  "so no spreadsheet runs them as formulas; the ledger and the xlsx keep the "
                  "original text)")


def csv_field(cell: Cell) -> str:
    """One cell as CSV text: a number as a number, text never as a formula."""
    return neutralise(cell) if isinstance(cell, str) else format_cell(cell)


def csv_document(rows: Iterable[Sequence[Cell]], *, bom: bool) -> bytes:
    """The one way the project writes CSV: CRLF, minimal quoting, every cell `csv_field`."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        writer.writerow([csv_field(cell) for cell in row])
    return ((BOM if bom else "") + buffer.getvalue()).encode("utf-8")


def csv_bytes(report: Report, *, bom: bool = True) -> bytes:
    """The CSV text as bytes; the same report always gives the same bytes. Each part of the
    report follows after a blank row: its title alone on a row, then its header and rows."""
    rows: list[Sequence[Cell]] = [report.headers, *report.all_rows]
    for part in report.parts:
        rows += [(), (part.title,), part.headers, *part.all_rows]
    return csv_document(rows, bom=bom)


def sidecar_path(out: Path) -> Path:
    """`table.csv` -> `table.csv.provenance.json`."""
    return out.with_name(out.name + ".provenance.json")


def sidecar_bytes(report: Report, file_name: str, data: bytes, fmt: str) -> bytes:
    """The provenance sidecar for an exported file, as sorted, indented JSON."""
    document: dict[str, object] = {
        "file": file_name,
        "format": fmt,
        "sha256": hashlib.sha256(data).hexdigest(),
        "title": report.title,
        **provenance_dict(report.provenance),
    }
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def write_csv(report: Report, out: Path) -> None:
    """Write `out` (UTF-8 BOM, CRLF) and `<out>.provenance.json` beside it."""
    data = csv_bytes(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    sidecar_path(out).write_bytes(sidecar_bytes(report, out.name, data, "csv"))
