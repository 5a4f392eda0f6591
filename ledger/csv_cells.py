"""Text in a CSV cell that no spreadsheet will run as a formula (CSV injection, OWASP's rule).

Excel, LibreOffice and WPS read a CSV cell starting with = + - @ tab or CR as a formula, so a
subject named `=HYPERLINK(…)` or `=cmd|' /C calc'!A0` would run on the reader's machine.
Every CSV the project writes passes its text cells through `neutralise`, which puts an
apostrophe in front of such a cell (also when blanks precede the character). Numbers are
not text: an amount is written as a number (`-5.00` is data, not a formula), and only the
writers' own Decimal and int cells are written so; text that looks like a number is text.

The ledger keeps the original, and the xlsx holds it as a typed text cell. The rule is a
bijection on text, and `restore` is its inverse, so a CSV we wrote reads back (import-table)
as exactly what the ledger holds: a text that already starts with an apostrophe before
such a character gets one more.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BLANKS = " \u00a0\u3000\n"  # skipped before the first character: a blank does not disarm it
QUOTE = "'"


def starts_formula(text: str) -> bool:
    """True when a spreadsheet could run the cell, or when it is only apostrophes away from
    that (such a text gets one more apostrophe, so that `restore` can tell it from ours)."""
    return text.lstrip(QUOTE).lstrip(BLANKS).startswith(FORMULA_STARTS)


def neutralise(text: str) -> str:
    """The text as a CSV cell: an apostrophe in front when it would start a formula."""
    return QUOTE + text if starts_formula(text) else text


def restore(cell: str) -> str:
    """The inverse of `neutralise`: the text a CSV cell we wrote stands for."""
    if cell.startswith(QUOTE) and starts_formula(cell[1:]):
        return cell[1:]
    return cell
