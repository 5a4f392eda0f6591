"""What every event carries, and the shared correction mechanism."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, MetaAggregate, event
from eventsourcing.persistence import Transcoding
from pydantic_core import PydanticCustomError

from ledger.domain.records import CorrectedValue, Correction
from ledger.errors import InvalidInput, RuleViolation
from ledger.text import check_name, check_text, parse_decimal_text

LEDGER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:jixiao:ledger")


def stable_id(kind: str, key: str) -> UUID:
    """Deterministic aggregate ids, so a code names exactly one aggregate forever."""
    return uuid5(LEDGER_NAMESPACE, f"{kind}:{key}")


@dataclass(frozen=True)
class Meta:
    """Who did it, under which command id, and the business date it is about."""

    actor_id: str
    actor_role: str
    command_id: str
    effective_on: date | None = None


class MetaAsDict(Transcoding):
    type = Meta
    name = "meta"

    def encode(self, obj: Meta) -> dict[str, Any]:
        data = asdict(obj)
        data["effective_on"] = obj.effective_on.isoformat() if obj.effective_on else None
        return data

    def decode(self, data: dict[str, Any]) -> Meta:
        # Every stored event has one: its fields are set in one step, not through the frozen
        # dataclass's __init__ (a setattr per field).
        eff = data.get("effective_on")
        meta = object.__new__(Meta)
        object.__setattr__(meta, "__dict__", {
            "actor_id": data["actor_id"], "actor_role": data["actor_role"],
            "command_id": data["command_id"],
            "effective_on": date.fromisoformat(eff) if eff else None})
        return meta


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


FieldParser = Callable[[Any], CorrectedValue]
Corrections = Mapping[str, Mapping[str, FieldParser]]  # event name -> {field: parser}


def type_name(event_class: type) -> str:
    """The log's `type` for events of this class (LogRecord.type, the audit bundle's records):
    its qualified name, e.g. "Subject.Registered". Readers match on this, never on a spelling."""
    return event_class.__qualname__


def correctable(fields: Mapping[type, Mapping[str, FieldParser]]) -> Corrections:
    """CORRECTABLE from event classes: a correction cites its event by the class's name."""
    return {event_class.__name__: parsers for event_class, parsers in fields.items()}


if TYPE_CHECKING:
    class _WithEvents(MetaAggregate[Any]):
        """For the type checker only: eventsourcing makes each @event's class when the
        aggregate class is made (Subject.Registered), so mypy cannot see them."""

        def __getattr__(cls, name: str) -> type[Any]: ...
else:
    _WithEvents = MetaAggregate


class LedgerAggregate(Aggregate, metaclass=_WithEvents):
    """Base aggregate for facts that can be corrected by a later event naming them."""

    if TYPE_CHECKING:  # a class-level annotation would become a dataclass field
        corrections: list[Correction]  # set by every subclass's __init__

    # event name -> {field: parser}; the fields a correction may restate. Set below each
    # class with correctable(), since its event classes exist only once the class does.
    CORRECTABLE: ClassVar[Corrections] = {}

    def next_version(self) -> int:
        """Inside an @event body (not __init__): the version of the event being applied."""
        return int(self.version) + 1

    def check_correctable(self, version: int, name: str,
                          values: Mapping[str, Any]) -> dict[str, CorrectedValue]:
        if version < 1 or version > self.version:
            raise RuleViolation("EVENT_NOT_FOUND", f"no event at version {version}",
                                field="position", rule="the corrected event must exist")
        if name == LedgerAggregate.EventCorrected.__name__:
            raise RuleViolation("CORRECTION_OF_CORRECTION",
                                "correct the original event, not a correction",
                                field="position", rule="a correction names an original event")
        allowed = self.CORRECTABLE.get(name, {})
        if not allowed:
            raise RuleViolation("NOT_CORRECTABLE", f"{name} has no correctable fields",
                                field="position", rule="only factual fields can be corrected")
        if not values:
            raise InvalidInput("a correction must restate at least one field",
                               field="values", rule="non-empty")
        parsed: dict[str, CorrectedValue] = {}
        for key, raw in values.items():
            if key not in allowed:
                raise InvalidInput(
                    f"{name} field {key!r} cannot be corrected; correctable: {sorted(allowed)}",
                    field=f"values.{key}", rule="correctable field")
            try:
                parsed[key] = allowed[key](raw)
            except PydanticCustomError as exc:  # the text or number rule: say which
                raise InvalidInput(str(exc), field=f"values.{key}", rule=exc.type) from None
            except (ValueError, TypeError) as exc:
                raise InvalidInput(str(exc), field=f"values.{key}", rule="field format") from None
        return parsed

    def correct(self, version: int, name: str, values: Mapping[str, Any], reason: str,
                meta: Meta) -> None:
        if not reason.strip():
            raise InvalidInput("a correction needs a reason", field="reason", rule="non-empty")
        parsed = self.check_correctable(version, name, values)
        self._corrected(corrects_version=version, corrected_event=name, values=parsed,
                        reason=reason, meta=meta)

    @event("EventCorrected")
    def _corrected(self, corrects_version: int, corrected_event: str,
                   values: dict[str, CorrectedValue], reason: str, meta: Meta) -> None:
        self.corrections.append(Correction(version=corrects_version, event=corrected_event,
                                           values=values, reason=reason))
        self.apply_correction(corrected_event, corrects_version, values)

    def apply_correction(self, event_name: str, version: int,
                         values: Mapping[str, CorrectedValue]) -> None:
        """Restate the corrected facts in the current state; aggregates override."""
        for key, value in values.items():
            setattr(self, key, value)


def parse_text(value: Any) -> str:
    """Free text, held to the same rule as a command's text fields (ledger.text)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be non-empty text")
    return str(check_text(value))


def parse_name(value: Any) -> str:
    """A name, held to the same rule as a command's names (ledger.text)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be non-empty text")
    return str(check_name(value))


def parse_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def parse_score(value: Any) -> Decimal:
    if isinstance(value, float | bool):
        raise ValueError("a score is a decimal string or integer, not a float")
    try:
        score = Decimal(str(parse_decimal_text(value)))
    except ArithmeticError:
        raise ValueError(f"not a score: {value!r}") from None
    if not score.is_finite() or score < 0 or score > 100:
        raise ValueError("a score lies within [0, 100]")  # also keeps quantize below exact
    if score != score.quantize(Decimal("0.01")):
        raise ValueError("a score has at most two decimal places")
    return score.quantize(Decimal("0.01"))


def parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise ValueError("must be a date YYYY-MM-DD")


# The log's type name for a correction, whichever aggregate it restates: the event is the base
# class's (eventsourcing's copies, such as Subject.EventCorrected, are never recorded).
CORRECTION_TYPE = type_name(LedgerAggregate.EventCorrected)
