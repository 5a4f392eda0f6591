"""One spreadsheet cell read as an exact value, or a CellError naming the rule it breaks."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ledger.grades import LABELS_TEXT, Grade

CENT = Decimal("0.01")


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def cell_text(value: Any) -> str:
    """A cell as text; integral floats from spreadsheets print without '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_blank(values: Sequence[Any]) -> bool:
    return all(cell_text(v).strip() == "" for v in values)


# ASCII digits (after NFKC has folded full-width ones): \d would also match "١٢٣".
_PLAIN_AMOUNT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_GROUPED_AMOUNT = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")


class CellError(ValueError):
    """A cell breaks `rule`; the table reader adds where (row and column) and collects it."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule, self.message = rule, message


def parse_amount(value: Any) -> Decimal:
    """万元 with at most two decimals, exactly; floats only when exact to 0.01."""
    not_a_number = CellError("non-numeric-amount", f"amount {cell_text(value)!r} is not a number")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CellError("missing-amount", "amount is empty")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise not_a_number
    if isinstance(value, float) and not math.isfinite(value):
        raise not_a_number
    text = unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else None
    if text is not None and _GROUPED_AMOUNT.fullmatch(text):
        text = text.replace(",", "")  # 1,116.10
    if text is not None and not _PLAIN_AMOUNT.fullmatch(text):
        raise not_a_number
    # A float cell is read through its shortest repr: 548.95 -> Decimal("548.95").
    amount = Decimal(text if text is not None else str(value))
    if amount < 0:
        raise CellError("negative-amount", f"amount {cell_text(value)} is negative")
    if amount != amount.quantize(CENT):
        message = f"amount {cell_text(value)} has more than two decimals (万元)"
        raise CellError("too-many-decimals", message)
    return amount.quantize(CENT)


def parse_seq(value: Any) -> int:
    """序号 as a positive integer; '3' and 3.0 are fine, '3.5' and '三' are not."""
    text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    if not text:
        raise CellError("missing-seq", "序号 is empty")
    if isinstance(value, bool) or not (text.isascii() and text.isdecimal()) or int(text) <= 0:
        raise CellError("non-integer-seq", f"序号 {text!r} is not a positive integer")
    return int(text)


def parse_grade(value: Any) -> Grade:
    text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    if text == "":
        raise CellError("missing-grade", "评价等级 is empty")
    try:
        return Grade.from_label(text)
    except ValueError:
        raise CellError("unknown-grade", f"grade {text!r} is not one of {LABELS_TEXT}") from None
