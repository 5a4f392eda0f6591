"""Importing published tables: the reader checks a file; the importer records it all or nothing."""

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
