"""How a record reads a number back from an event: events store Decimals, or their text."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def as_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def opt_decimal(value: Any) -> Decimal | None:
    return None if value is None else as_decimal(value)
