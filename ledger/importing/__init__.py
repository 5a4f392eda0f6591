"""Importing published tables: parsing and checking only, never writing the ledger."""

from ledger.importing.table_reader import (
    ParsedAnnex,
    ParsedRow,
    TableImportError,
    TableProblem,
    parse_annex_rows,
    read_annex_file,
)

__all__ = [
    "ParsedAnnex",
    "ParsedRow",
    "TableImportError",
    "TableProblem",
    "parse_annex_rows",
    "read_annex_file",
]
