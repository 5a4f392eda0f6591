"""Stored events read back: the bytes eventsourcing's JSONTranscoder writes, parsed by orjson.

Decoding is most of the cost of every full read of the log (projections, sealing, auditors'
bundles). What is stored does not change: encoding is eventsourcing's own. Only reading is
faster, and it gives the same values: tagged objects ({"_type_", "_data_"}) are revived
innermost first, as the standard library's object_hook does.

Two cheaper reads for the views that only index the log: `parse` (the JSON, tags left as
they are) and `as_text` (each tagged value in the text form the audit trail shows).
LedgerMapper decodes a row of the events table without making a StoredEvent of it first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoding,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic


def _datetime_text(data: str) -> str:
    if data.endswith("+00:00"):  # every timestamp: orjson writes UTC as isoformat() does
        return data
    return orjson.dumps(datetime.fromisoformat(data)).decode()[1:-1]


def _decimal_text(data: str) -> str:
    # str(Decimal) (what is stored) and format(d, "f") differ only in exponent notation
    return data if "E" not in data else format(Decimal(data), "f")


# Each tag's value as the audit trail writes it (ledger.log.audit_json): money as
# plain decimal text, ids and dates as ISO text; a tag not named here has no text form.
TEXT_FORMS: dict[str, Callable[[Any], Any]] = {
    "decimal_str": _decimal_text,
    "uuid_hex": lambda data: str(UUID(data)),
    "date_iso": str,  # date.isoformat() read back is itself
    "datetime_iso": _datetime_text,
    "meta": dict,
}


class NoTextForm(ValueError):
    """A stored value whose tag has no text form (a transcoding missing from TEXT_FORMS)."""


class FastJSONTranscoder(JSONTranscoder):
    def __init__(self) -> None:
        super().__init__()
        self._decoders: dict[str, Callable[[Any], Any]] = {}

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        self._decoders[transcoding.name] = transcoding.decode

    def decode(self, data: bytes) -> Any:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:  # what orjson refuses (NaN, integers past 64 bits)
            return super().decode(data)
        kind = type(value)
        if kind is dict:
            return self._revive(value)
        return self._revive_list(value) if kind is list else value

    def _revive(self, value: dict[str, Any]) -> Any:
        for key, item in value.items():
            kind = type(item)
            if kind is dict:
                value[key] = self._revive(item)
            elif kind is list:
                value[key] = self._revive_list(item)
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            decode = self._decoders.get(value["_type_"])
            # a name we do not know: eventsourcing's own path gives its own error
            return self._decode_obj(value) if decode is None else decode(value["_data_"])
        return value

    def _revive_list(self, value: list[Any]) -> list[Any]:
        for index, item in enumerate(value):
            kind = type(item)
            if kind is dict:
                value[index] = self._revive(item)
            elif kind is list:
                value[index] = self._revive_list(item)
        return value


def parse(data: bytes) -> Any:
    """The stored JSON as parsed, tagged values left as they are."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # what orjson refuses (NaN, integers past 64 bits)
        return json.loads(data)


def as_text(value: Any) -> Any:
    """`value` (as parsed) with its tagged values in text form, converted in place: what the
    audit trail shows, at a fraction of a full decode's cost. Idempotent."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(item) is dict or type(item) is list:
                value[key] = as_text(item)
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            tag = value["_type_"]
            if type(tag) is not str or tag not in TEXT_FORMS:
                raise NoTextForm(f"no text form for stored values tagged {tag!r}")
            return TEXT_FORMS[tag](value["_data_"])
    elif kind is list:
        for index, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                value[index] = as_text(item)
    return value


class LedgerMapper(Mapper[UUID]):
    """eventsourcing's Mapper, with a way to decode a row of the events table without first
    making a StoredEvent of it (a full read of the log decodes a million of them)."""

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.decode_row(stored_event.topic, stored_event.originator_id,
                               stored_event.originator_version, stored_event.state)

    def decode_row(self, topic: str, originator_id: UUID | str, version: int,
                   state: bytes) -> Any:
        if self.cipher or self.compressor:
            return super().to_domain_event(StoredEvent(
                originator_id=originator_id, originator_version=version, topic=topic,
                state=bytes(state)))
        cls = resolve_topic(topic)
        try:
            event_state: dict[str, Any] = self.transcoder.decode(state)
        except Exception as e:
            msg = (f"Failed to deserialise state of stored event with topic '{topic}', "
                   f"originator_id '{originator_id}' and originator_version {version}: {e}")
            raise MapperDeserialisationError(msg) from e
        convert = find_id_convertor(cls, cast(Hashable, type(originator_id)))
        event_state["originator_id"] = convert(originator_id)
        event_state["originator_version"] = version
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return domain_event
