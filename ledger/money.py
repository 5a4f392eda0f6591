"""Money in 万元 (10,000 yuan): exact decimals with two places, never floats."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from ledger.text import DECIMAL_TEXT

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** 12  # 万元: far above any budget, and quantize stays exact
# Commas only as thousands separators (what people write: 1,116.10).
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")


def parse_money(value: Any) -> Decimal:
    """Turn an input into 万元 with two places, refusing floats and sub-cent digits.

    Floats are refused because 0.1 + 0.2 style errors in public money are not acceptable;
    clients send amounts as strings ("640.85") or integers.
    """
    if isinstance(value, bool | float):
        raise ValueError("money must be a decimal string such as \"640.85\", not a float")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip()
        if _GROUPED.fullmatch(text):
            text = text.replace(",", "")  # 1,116.10
        if not DECIMAL_TEXT.fullmatch(text):  # Decimal() would also read "١٢٣" and "1_000"
            raise ValueError(f"not a decimal amount written with ASCII digits: {value!r}")
        try:
            amount = Decimal(text)
        except InvalidOperation:  # pragma: no cover - DECIMAL_TEXT admits only what Decimal reads
            raise ValueError(f"not a decimal amount: {value!r}") from None
    else:
        raise ValueError(f"money must be a decimal string, got {type(value).__name__}")
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"money must be a finite amount below {MAX_AMOUNT:,} 万元")
    if amount != amount.quantize(CENT):
        raise ValueError("money has at most two decimal places (万元 to the 元 hundred)")
    if amount < 0:
        raise ValueError("money must not be negative")
    return amount.quantize(CENT)


Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
"""A non-negative amount in 万元 with exactly two places."""
