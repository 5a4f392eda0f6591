"""CSV for data exchange: UTF-8 with BOM and CRLF, because that is what Excel opens.

The CSV is pure data (header, rows, 合计); provenance goes into a JSON sidecar
next to it, with the SHA-256 of the CSV bytes so the pair can be checked.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from projections.exports.report import Report, format_cell, provenance_dict

BOM = "\ufeff"


def csv_bytes(report: Report, *, bom: bool = True) -> bytes:
    """The CSV text as bytes; the same report always gives the same bytes."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(report.headers)
    for row in report.all_rows:
        writer.writerow([format_cell(cell) for cell in row])
    text = buffer.getvalue()
    return ((BOM if bom else "") + text).encode("utf-8")


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
