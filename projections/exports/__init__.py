"""Exports of read-side tables (annexes, later coverage views) to CSV, XLSX, PDF and FDP.

Every writer takes a `Report` and stamps its provenance (ledger position and
checkpoint) onto the output, so a printed or shared table can be traced back to
a verifiable point in the log.
"""

from projections.exports.csv_export import write_csv
from projections.exports.fdp_export import write_fdp
from projections.exports.pdf_export import CjkFontNotFoundError, find_cjk_font, write_pdf
from projections.exports.report import Cell, Report, provenance_lines, report_from_annex
from projections.exports.xlsx_export import write_xlsx

__all__ = [
    "Cell",
    "CjkFontNotFoundError",
    "Report",
    "find_cjk_font",
    "provenance_lines",
    "report_from_annex",
    "write_csv",
    "write_fdp",
    "write_pdf",
    "write_xlsx",
]
