"""Custom scalars: exact money and unambiguous instants, refused early when malformed.

Money and scores are public figures, so they travel as decimal strings ("640.85") and
never as floats; a time without a timezone is ambiguous between the bureau's clock and
UTC, so it is refused rather than guessed.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

CENT = Decimal("0.01")
# Plain positional notation only: no exponents, NaN or Infinity, bounded length, so
# nothing downstream can be made to quantize a 10**999999 amount. ASCII digits: \d would also
# take "١٢٣" (and Decimal() read it as 123).
DECIMAL_TEXT = re.compile(r"^[+-]?[0-9]{1,18}(?:\.[0-9]{1,12})?$")


def refuse(message: str) -> StrawberryInputCoercionError:
    return StrawberryInputCoercionError(message)


def parse_decimal(value: object) -> Decimal:
    """Accept "640.85" or an integer; refuse floats, exponents and anything non-finite.

    Places beyond two are passed on unrounded: the ledger refuses them with a typed
    validation error naming the field (rounding public money silently is not ours to do).
    """
    if isinstance(value, bool | float):
        raise refuse(f"Decimal refuses {type(value).__name__} {value!r}; send a decimal "
                     "string such as \"640.85\"")
    if isinstance(value, int):
        if abs(value) >= 10**18:
            raise refuse("Decimal is out of range")
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if not DECIMAL_TEXT.match(text):
            raise refuse(f"Decimal cannot represent {value[:40]!r}; send a decimal string "
                         "such as \"640.85\"")
        return Decimal(text)
    raise refuse(f"Decimal cannot represent a {type(value).__name__}")



def serialize_decimal(value: object) -> str:
    """Two places, always: 6441.47, 100.00."""
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        return format(Decimal(value).quantize(CENT), "f")
    raise TypeError(f"not a decimal: {type(value).__name__}")


def parse_datetime(value: object) -> datetime:
    """ISO-8601 with an offset ("2022-09-30T18:00:00+08:00" or "...Z"); naive is refused."""
    if not isinstance(value, str):
        raise refuse("DateTime takes an ISO-8601 string with a timezone offset")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise refuse(f"DateTime cannot represent {value[:40]!r}; write e.g. "
                     "2022-09-30T18:00:00+08:00") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise refuse(f"DateTime {value[:40]!r} has no timezone; write e.g. "
                     "2022-09-30T18:00:00+08:00")
    return moment



def serialize_datetime(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not a datetime: {type(value).__name__}")


def parse_date(value: object) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise refuse("Date takes an ISO-8601 date such as 2022-08-31")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise refuse(f"Date cannot represent {value!r}") from None



def serialize_date(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not a date: {type(value).__name__}")


DecimalScalar: ScalarDefinition = strawberry.scalar(
    name="Decimal",
    description="An exact decimal as a string with two places, e.g. \"640.85\" (万元 for money). "
                "Input: a decimal string or an integer; floats are refused.",
    serialize=serialize_decimal, parse_value=parse_decimal)

DateTimeScalar: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description="An instant as ISO-8601 with a timezone offset, e.g. 2022-09-30T18:00:00+08:00. "
                "Times without an offset are refused.",
    serialize=serialize_datetime, parse_value=parse_datetime)

DateScalar: ScalarDefinition = strawberry.scalar(
    name="Date", description="A calendar date, ISO-8601: 2022-08-31.",
    serialize=serialize_date, parse_value=parse_date)

SCALARS: dict[object, ScalarDefinition] = {
    Decimal: DecimalScalar,
    datetime: DateTimeScalar,
    date: DateScalar,
}
