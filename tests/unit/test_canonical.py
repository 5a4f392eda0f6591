"""Canonical record bytes (RFC 8785 after fixed value conversions) and record hashes."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from uuid import UUID

import pytest

from ledger.integrity.canonical import canonical_bytes, record_hash, to_json_value

CST = dt.timezone(dt.timedelta(hours=8))


class Stage(enum.StrEnum):
    DRAFT = "draft"
    SEALED = "sealed"


class Level(enum.IntEnum):
    GOOD = 2


class Grade(str, enum.Enum):  # noqa: UP042  # old-style mixin: str() varies by version
    EXCELLENT = "优"


class Plain(enum.Enum):
    A = ("x", 1)
    DRAFT = "draft"


def test_keys_are_sorted_and_whitespace_free() -> None:
    record = {"b": 1, "a": {"d": [3, 2], "c": None}, "A": True}
    assert canonical_bytes(record) == b'{"A":true,"a":{"c":null,"d":[3,2]},"b":1}'


def test_key_order_is_utf16_code_units() -> None:
    # RFC 8785 §3.2.3 sorting example (keys only).
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    out = canonical_bytes(dict.fromkeys(keys, 0)).decode("utf-8")
    order = ["\\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert out == "{" + ",".join(f'"{k}":0' for k in order) + "}"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("640.85"), "640.85"),
        (Decimal("0.10"), "0.10"),
        (Decimal("100.00"), "100.00"),
        (Decimal("7"), "7"),
        (Decimal("-12.5"), "-12.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1.5E-7"), "0.00000015"),
        (Decimal("12345678901234567890.123456789"), "12345678901234567890.123456789"),
    ],
)
def test_decimal_keeps_exact_digits(value: Decimal, text: str) -> None:
    assert canonical_bytes({"amount": value}) == b'{"amount":"' + text.encode() + b'"}'


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity")])
def test_decimal_non_finite_refused(value: Decimal) -> None:
    with pytest.raises(ValueError):
        canonical_bytes({"amount": value})


@pytest.mark.parametrize(
    "record",
    [{"amount": 640.85}, {"x": [1, 2.0]}, {"x": {"y": (0.5,)}}, {"x": float("nan")}],
)
def test_float_refused_anywhere(record: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_bytes(record)


def test_datetimes_are_utc_with_microseconds() -> None:
    record = {
        "at": dt.datetime(2024, 1, 1, 8, 0, tzinfo=CST),
        "micro": dt.datetime(2022, 9, 30, 10, 0, 0, 123, tzinfo=dt.UTC),
        "early": dt.datetime(33, 3, 3, 3, 3, 3, tzinfo=dt.UTC),
    }
    assert canonical_bytes(record) == (
        b'{"at":"2024-01-01T00:00:00.000000Z",'
        b'"early":"0033-03-03T03:03:03.000000Z",'
        b'"micro":"2022-09-30T10:00:00.000123Z"}'
    )


def test_same_instant_in_any_zone_is_same_bytes() -> None:
    utc = dt.datetime(2024, 5, 1, 1, 2, 3, 456789, tzinfo=dt.UTC)
    assert canonical_bytes({"t": utc}) == canonical_bytes({"t": utc.astimezone(CST)})


def test_naive_datetime_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        canonical_bytes({"at": dt.datetime(2024, 1, 1, 8, 0)})


def test_date_uuid_enum_tuple() -> None:
    u = UUID("6F9619FF-8B86-D011-B42D-00CF4FC964FF")
    record = {
        "d": dt.date(2022, 3, 1),
        "u": u,
        "s": Stage.SEALED,
        "l": Level.GOOD,
        "g": Grade.EXCELLENT,
        "p": Plain.A,
        "t": (1, "二", [Stage.DRAFT]),
    }
    assert to_json_value(record) == {
        "d": "2022-03-01",
        "u": "6f9619ff-8b86-d011-b42d-00cf4fc964ff",
        "s": "sealed",
        "l": 2,
        "g": "优",
        "p": ["x", 1],
        "t": [1, "二", ["draft"]],
    }
    assert (
        canonical_bytes(record)
        == (
            '{"d":"2022-03-01","g":"优","l":2,"p":["x",1],"s":"sealed",'
            '"t":[1,"二",["draft"]],"u":"6f9619ff-8b86-d011-b42d-00cf4fc964ff"}'
        ).encode()
    )


def test_enum_keys_use_their_value() -> None:
    assert canonical_bytes({Stage.DRAFT: 1, Grade.EXCELLENT: 2}) == '{"draft":1,"优":2}'.encode()


def test_chinese_text_is_verbatim_utf8() -> None:
    name = "相山区2022年度预算绩效自评——“优”"
    out = canonical_bytes({"项目名称": name})
    assert out == ('{"项目名称":"' + name + '"}').encode()
    assert b"\\u" not in out


def test_control_characters_are_escaped() -> None:
    assert canonical_bytes({"s": 'a"\\\n\t\x1f'}) == b'{"s":"a\\"\\\\\\n\\t\\u001f"}'


def test_golden_record_bytes_and_hash() -> None:
    # Pinned bytes: any change here changes every sealed leaf hash in existing logs.
    record = {
        "event_id": UUID("0b7e9c1e-5a4b-4c3d-9e2f-1a2b3c4d5e6f"),
        "type": "BudgetAllocated",
        "project": "相山区城市道路养护",
        "amount": Decimal("640.85"),
        "year": 2022,
        "recorded_at": dt.datetime(2022, 9, 30, 18, 0, tzinfo=CST),
        "tags": ("交通", "维护"),
        "approved": True,
        "note": None,
    }
    expected = (
        '{"amount":"640.85","approved":true,"event_id":"0b7e9c1e-5a4b-4c3d-9e2f-1a2b3c4d5e6f",'
        '"note":null,"project":"相山区城市道路养护","recorded_at":"2022-09-30T10:00:00.000000Z",'
        '"tags":["交通","维护"],"type":"BudgetAllocated","year":2022}'
    ).encode()
    assert canonical_bytes(record) == expected
    assert record_hash(record) == hashlib.sha256(b"\x00" + expected).digest()
    assert canonical_bytes(dict(reversed(list(record.items())))) == expected


def test_any_mapping_is_accepted() -> None:
    assert canonical_bytes(MappingProxyType({"a": 1})) == b'{"a":1}'


def test_bool_is_not_an_integer() -> None:
    assert canonical_bytes({"a": True, "b": 1}) == b'{"a":true,"b":1}'


@pytest.mark.parametrize(
    ("record", "error"),
    [
        ({1: "x"}, TypeError),  # non-string key
        ({"b": b"raw"}, TypeError),
        ({"s": {1, 2}}, TypeError),
        ({"t": dt.time(12, 0)}, TypeError),
        ({"n": 2**53}, ValueError),  # outside I-JSON integer range
        ({"s": "\ud800"}, ValueError),  # lone surrogate is not UTF-8
        ({Plain.DRAFT: 1, "draft": 2}, ValueError),  # duplicate after conversion
        ({Level.GOOD: 1}, TypeError),  # integer enum key
    ],
)
def test_unsupported_values_refused(record: dict[Any, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        canonical_bytes(record)


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(TypeError):
        canonical_bytes([("a", 1)])  # type: ignore[arg-type]


def test_deep_nesting_refused() -> None:
    value: Any = 1
    for _ in range(100):
        value = [value]
    with pytest.raises(ValueError, match="nested"):
        canonical_bytes({"v": value})
