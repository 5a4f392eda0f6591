"""Reading stored events with orjson gives exactly what eventsourcing's own decoder gives."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.base import DateAsISO, Meta, MetaAsDict
from ledger.log import audit_json
from ledger.transcoder import TEXT_FORMS, FastJSONTranscoder, NoTextForm, as_text, parse


def transcoders() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, UUIDAsHex

    pair = (JSONTranscoder(), FastJSONTranscoder())
    for t in pair:
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), MetaAsDict(),
                            DateAsISO()):
            t.register(transcoding)
    return pair


STANDARD, FAST = transcoders()

leaves = (st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text()
          | st.decimals(allow_nan=False, allow_infinity=False) | st.dates() | st.uuids()
          | st.datetimes(timezones=st.just(UTC) | st.builds(timezone, st.timedeltas(
              min_value=-timedelta(hours=23), max_value=timedelta(hours=23))))
          | st.builds(Meta, actor_id=st.text(), actor_role=st.text(), command_id=st.text(),
                      effective_on=st.none() | st.dates()))
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["_type_", "_data_", "a", "名称", ""]) | st.text(max_size=3), inner,
    max_size=4), max_leaves=20)


def outcome(transcoder: JSONTranscoder, stored: bytes) -> Any:
    try:
        return transcoder.decode(stored)
    except (TranscodingNotRegisteredError, TypeError) as error:  # data that looks tagged
        return f"{type(error).__name__}: {error}"


@given(values)
def test_fast_reading_equals_the_standard_reading(value: Any) -> None:
    stored = STANDARD.encode(value)
    assert FAST.encode(value) == stored  # what is stored does not change
    assert outcome(FAST, stored) == outcome(STANDARD, stored)


def test_an_unknown_tag_is_refused_the_same_way() -> None:
    stored = STANDARD.encode({"x": {"_type_": "nope", "_data_": 1}})
    assert "nope" in outcome(FAST, stored) and outcome(FAST, stored) == outcome(STANDARD, stored)


def test_what_orjson_refuses_is_read_by_the_standard_decoder() -> None:
    stored = STANDARD.encode({"big": 2**70, "nan": math.nan, "d": date(2022, 9, 30)})
    decoded = FAST.decode(stored)
    assert decoded["big"] == 2**70 and math.isnan(decoded["nan"])
    assert decoded["d"] == date(2022, 9, 30)


def test_a_tagged_object_inside_a_tagged_object_is_revived_innermost_first() -> None:
    meta = Meta(actor_id="a", actor_role="finance_bureau", command_id="c",
                effective_on=date(2022, 1, 1))
    value = {"meta": meta, "items": [{"amount": Decimal("1.50"),
                                      "id": UUID(int=7), "at": datetime(2022, 9, 30, tzinfo=UTC)}]}
    assert FAST.decode(STANDARD.encode(value)) == value


@given(values)
def test_the_text_form_is_what_the_audit_trail_writes_of_the_full_decoding(value: Any) -> None:
    stored = STANDARD.encode({"v": value})
    try:
        full = FAST.decode(stored)
    except (TranscodingNotRegisteredError, TypeError):
        return  # data that looks tagged but is not: the text form may refuse it too
    text = as_text(parse(stored))
    assert audit_json(text) == audit_json(full)
    assert as_text(text) == text  # converting again changes nothing


def test_every_tag_the_ledger_stores_has_a_text_form(tmp_path: Path) -> None:
    from ledger.application import Ledger
    from ledger.store import Database

    ledger = Ledger(Database.from_url(f"sqlite:///{tmp_path}/t.db"), create_table=True)
    transcoder = ledger.mapper.transcoder
    assert isinstance(transcoder, FastJSONTranscoder)
    assert set(transcoder.names) == set(TEXT_FORMS)
    ledger.close()


def test_a_tag_without_a_text_form_is_refused_by_name() -> None:
    with pytest.raises(NoTextForm, match="nope"):
        as_text(parse(STANDARD.encode({"x": {"_type_": "nope", "_data_": 1}})))
