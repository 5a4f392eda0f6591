"""Canonical bytes of a ledger record: the exact input of its Merkle leaf hash.

A record must hash identically on every machine, Python version and database
backend, or an auditor's recomputation would disagree with the sealed log. So the
Python values are first mapped to plain JSON values by fixed rules (below), and the
result is serialized with RFC 8785 (JSON Canonicalization Scheme): sorted keys, no
insignificant whitespace, strings as verbatim UTF-8.

Rules:

* ``Decimal`` -> string of its digits in plain notation, scale kept
  (``Decimal("640.85")`` -> ``"640.85"``, ``Decimal("1E+3")`` -> ``"1000"``,
  ``Decimal("640.80")`` -> ``"640.80"``); NaN and infinities are refused.
* aware ``datetime`` -> UTC ``"YYYY-MM-DDTHH:MM:SS.ffffffZ"``; naive -> ValueError.
* ``date`` -> ``"YYYY-MM-DD"``; ``UUID`` -> lowercase hyphenated string.
* ``Enum`` -> its value (converted by these same rules).
* ``tuple``/``list`` -> array; mappings -> object (keys must be strings or
  string-valued enums).
* ``str``, ``int`` (within ±(2**53 - 1), the I-JSON range), ``bool``, ``None`` as is.
* ``float`` is refused (TypeError): binary floating point has no exact decimal form,
  and public money must not be rounded. Anything else (bytes, sets, time, ...) is
  refused too, rather than guessed at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, TypeAlias
from uuid import UUID

import rfc8785

from ledger.integrity.merkle import leaf_hash

JsonValue: TypeAlias = "bool | int | str | list[JsonValue] | dict[str, JsonValue] | None"
"""Plain JSON values, as accepted by RFC 8785 serialization (no floats)."""

_MAX_DEPTH = 64


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of `record` after the fixed value conversions."""
    if not isinstance(record, Mapping):
        raise TypeError(f"a record must be a mapping, got {type(record).__name__}")
    return bytes(rfc8785.dumps(to_json_value(record)))


def record_hash(record: Mapping[str, Any]) -> bytes:
    """RFC 6962 leaf hash of the record's canonical bytes: its entry in the log."""
    return leaf_hash(canonical_bytes(record))


def to_json_value(value: Any) -> JsonValue:
    """Map a Python value to a plain JSON value by the module's fixed rules."""
    return _convert(value, 0)


def _convert(value: Any, depth: int) -> JsonValue:
    if depth > _MAX_DEPTH:
        raise ValueError(f"record is nested deeper than {_MAX_DEPTH} levels")
    # Enum first: StrEnum / IntEnum members are also str / int instances, and their
    # str() differs between Python versions, so only .value is stable.
    if isinstance(value, Enum):
        return _convert(value.value, depth + 1)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        raise TypeError(
            f"float {value!r} refused: use Decimal (or a decimal string) for exact amounts"
        )
    if isinstance(value, Decimal):
        return _decimal_text(value)
    # datetime before date: datetime is a subclass of date.
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_convert(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        result: dict[str, JsonValue] = {}
        for key, item in value.items():
            name = _key_text(key)
            if name in result:
                raise ValueError(f"duplicate key {name!r} after conversion")
            result[name] = _convert(item, depth + 1)
        return result
    raise TypeError(f"cannot canonicalize a value of type {type(value).__name__}")


def _key_text(key: Any) -> str:
    if isinstance(key, Enum):
        key = key.value
    if not isinstance(key, str):
        raise TypeError(f"object keys must be strings, got {type(key).__name__}")
    return str.__str__(key)


def _decimal_text(value: Decimal) -> str:
    """Plain (never scientific) notation of exactly the Decimal's digits and scale."""
    if not value.is_finite():
        raise ValueError(f"Decimal {value} is not a finite number")
    return format(value, "f")


def _datetime_text(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} refused: attach a time zone")
    u = value.astimezone(dt.UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )
