"""The global event log in order: the raw material auditors replay."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.utils import resolve_topic

from ledger.domain.base import Meta, type_name
from ledger.domain.subject import Subject
from ledger.transcoder import LedgerMapper, as_text, parse

BASE_FIELDS = ("originator_id", "originator_version", "timestamp", "originator_topic")
SUBJECT_REGISTERED = type_name(Subject.Registered)


@dataclass(frozen=True)
class LogRecord:
    position: int
    recorded_at: datetime
    type: str  # e.g. "Subject.GoalsDeclared"
    aggregate_id: UUID
    version: int
    meta: Meta | None
    event: Any
    key: str  # the aggregate id as text, made once: every view keys its state by it

    @functools.cached_property
    def payload(self) -> dict[str, Any]:
        """The event's own fields (made when first asked for: most readers never do)."""
        return {k: v for k, v in self.event.__dict__.items()
                if k not in BASE_FIELDS and k != "meta"}

    @property
    def subject_code(self) -> str | None:
        code = getattr(self.event, "code", None)
        return str(code) if self.type == SUBJECT_REGISTERED and code else None

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "recorded_at": self.recorded_at.isoformat(),
            "type": self.type,
            "aggregate_id": str(self.aggregate_id),
            "version": self.version,
            "actor": None if self.meta is None else {
                "id": self.meta.actor_id, "role": self.meta.actor_role},
            "command_id": None if self.meta is None else self.meta.command_id,
            "effective_on": None if self.meta is None or self.meta.effective_on is None
            else self.meta.effective_on.isoformat(),
            "payload": jsonable(self.payload),
        }


class LogEntry(NamedTuple):
    """An event read from its stored JSON without making a domain event: for the views that
    only index the log (projections.log_views), at a fraction of a full decode's cost."""

    position: int
    type: str  # e.g. "Subject.GoalsDeclared"
    key: str  # the aggregate id as text
    version: int
    recorded_at: datetime
    meta: dict[str, Any] | None  # actor_id, actor_role, command_id, effective_on (ISO text)
    state: dict[str, Any]  # the event's own fields as parsed, tagged values as stored

    @property
    def payload(self) -> dict[str, Any]:
        """The event's fields in text form (ledger.transcoder.TEXT_FORMS), as the audit trail
        shows them; made in place on first use."""
        text: dict[str, Any] = as_text(self.state)
        return text


def to_entry(mapper: LedgerMapper, position: int, originator_id: UUID | str, version: int,
             topic: str, state: bytes) -> LogEntry:
    cls = resolve_topic(topic)
    if mapper.cipher or mapper.compressor or getattr(cls, "class_version", 1) != 1:
        # stored in a form only the full decoder reads: decode, then take the text form
        record = to_record(position, mapper.decode_row(topic, originator_id, version, state))
        meta = None if record.meta is None else orjson.loads(orjson.dumps(record.meta))
        return LogEntry(position, record.type, record.key, version, record.recorded_at, meta,
                        orjson.loads(audit_json(record.payload)))
    fields: dict[str, Any] = parse(state)
    pop = fields.pop
    stamp = pop("timestamp")  # {"_type_": "datetime_iso", "_data_": ISO text}
    when = datetime.fromisoformat(stamp["_data_"] if type(stamp) is dict else stamp)
    pop("originator_topic", None)
    meta = pop("meta", None)  # {"_type_": "meta", "_data_": {...}}: its values are text
    if meta is not None:
        meta = meta["_data_"] if meta.get("_type_") == "meta" else as_text(meta)
    key = str(originator_id if type(originator_id) is UUID else UUID(str(originator_id)))
    return LogEntry(position, type_name(cls), key, version, when, meta, fields)


def audit_json(payload: dict[str, Any]) -> str:
    """An event's fields as the audit trail shows them (keys sorted, money as strings)."""
    try:
        return orjson.dumps(payload, default=json_default,
                            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits
        return json.dumps(payload, ensure_ascii=False, sort_keys=True, default=json_default)


_new_record = LogRecord.__new__
_set_fields = object.__setattr__


def to_record(position: int, event: Any) -> LogRecord:
    # A full read of the log makes a million of these: the fields are set in one step
    # rather than through the frozen dataclass's __init__ (a setattr per field).
    fields = event.__dict__
    record = _new_record(LogRecord)
    _set_fields(record, "__dict__", {
        "position": position, "recorded_at": fields["timestamp"],
        "type": type_name(type(event)), "aggregate_id": fields["originator_id"],
        "version": fields["originator_version"], "meta": fields.get("meta"), "event": event,
        "key": str(fields["originator_id"])})
    return record


def read_log(app: Application[UUID], *, start: int = 1, stop: int | None = None,
             batch: int = 1000, topics: list[str] | None = None) -> Iterator[LogRecord]:
    """Every event from position `start` on (inclusive), in global order, decoded."""
    position = start
    while True:
        notifications = app.recorder.select_notifications(
            start=position, limit=batch, stop=stop, topics=topics or ())
        if not notifications:
            return
        for n in notifications:
            yield to_record(n.id, app.mapper.to_domain_event(n))
        position = notifications[-1].id + 1


def json_default(value: Any) -> Any:
    """For json.dumps(default=...): the C encoder does the walking, we do the odd types."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Meta):
        return value.__dict__
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def jsonable(value: Any) -> Any:
    """The same conversions as json_default, applied to a whole value (for JSON lines)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return jsonable(json_default(value))
