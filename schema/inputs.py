"""Mutation inputs derived from the ledger's pydantic command models, field by field.

Deriving (instead of hand-copying) keeps the API and the ledger in step: a field added to a
command appears in the schema, and the schema-artifact test shows the change. Only types are
mapped here; every value rule (lengths, ranges, patterns, cross-field checks) stays in the
ledger, which refuses with a typed ValidationError naming the field.

Mapping: str/int/bool/date/Decimal as themselves (Decimal via the two-place scalar); the
ledger's enums (Grade) as the query side shows them; ASCII literals as enums
(UnitKind.FINANCE_BUREAU → "finance_bureau"); other literals (Chinese values, ">=") as String
with the allowed values in the description; nested models as nested inputs; dicts as JSON
objects; a field with a default is optional and omitted when unset.
"""

from __future__ import annotations

import re
import types
import typing
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union

import strawberry
from pydantic import BaseModel
from strawberry.scalars import JSON

from ledger import commands as c
from ledger.evaluation_kinds import LEGACY_THIRD_PARTY
from schema import types as out

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Literal fields whose enum deserves a domain name rather than Model+Field.
ENUM_NAMES: dict[tuple[str, str], str] = {
    ("RegisterUnit", "kind"): "UnitKind",
    ("RegisterSubject", "kind"): "SubjectKind",
    ("ReviewGoals", "decision"): "GoalReviewDecision",
    ("RecordEvaluation", "kind"): "EvaluationKind",
    ("AssignGrade", "basis_kind"): "GradeBasisKind",
    ("ApplyResult", "kind"): "ResultKind",
    ("ApplyResult", "cites_kind"): "CitationKind",
    ("ReviewRectification", "decision"): "RectificationReviewDecision",
    ("ActOnWarning", "action"): "WarningActionKind",
    ("OpenMonitoringRound", "subject_kinds"): "SubjectKind",
}
# Enum values the ledger no longer takes, kept (deprecated) so that old clients still work:
# the value is read as if the field had been left out.
LEGACY_VALUES: dict[tuple[str, str], dict[str, str]] = {
    ("RecordEvaluation", "kind"): {
        LEGACY_THIRD_PARTY: "An evaluation is the finance bureau's (FINANCE) or a department's "
                       "(DEPARTMENT); an agency's work under a commission is its commissioner's. "
                       "Leave kind out under a commission: THIRD_PARTY is read that way."},
}
# Enums shared with the query side, matched by their value set.
SHARED_ENUMS: dict[frozenset[str], type[Enum]] = {
    frozenset(e.value for e in out.Audience): out.Audience,
}
_enums: dict[str, type[Enum]] = {}
_inputs: dict[str, type] = {}
_read_as_unset: set[Enum] = set()  # the members of LEGACY_VALUES


def camel_title(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def literal_enum(owner: str, field: str, choices: tuple[Any, ...]) -> type[Enum] | None:
    """An enum for ASCII literals (named per ENUM_NAMES), None when values can't be names."""
    if not all(isinstance(v, str) and NAME.match(v.upper()) for v in choices):
        return None
    shared = SHARED_ENUMS.get(frozenset(choices))
    if shared is not None:
        return shared
    name = ENUM_NAMES.get((owner, field), f"{owner}{camel_title(field)}")
    legacy = LEGACY_VALUES.get((owner, field), {})
    if name not in _enums:
        members: dict[str, Any] = {v.upper(): v for v in choices}
        members.update({v.upper(): strawberry.enum_value(v, deprecation_reason=reason)
                        for v, reason in legacy.items()})
        made: type[Enum] = Enum(name, members)  # type: ignore[misc]
        _enums[name] = strawberry.enum(made, name=name)
        _read_as_unset.update(made(v) for v in legacy)
    found = _enums[name]
    assert {e.value for e in found} == {*choices, *legacy}, f"enum {name} reused with other values"
    return found


def map_type(annotation: Any, owner: str, field: str) -> tuple[Any, str | None]:
    """(GraphQL-facing annotation, note for the description)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return map_type(typing.get_args(annotation)[0], owner, field)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner, note = map_type(args[0], owner, field)
        return (inner | None) if len(args) < len(typing.get_args(annotation)) else inner, note
    if origin is Literal:
        choices = typing.get_args(annotation)
        enum = literal_enum(owner, field, choices)
        if enum is not None:
            return enum, None
        kind = int if all(isinstance(v, int) for v in choices) else str
        return kind, "one of: " + ", ".join(str(v) for v in choices)
    if origin is list:
        inner, note = map_type(typing.get_args(annotation)[0], owner, field)
        return list[inner], note  # type: ignore[valid-type]
    if origin is dict:
        key = typing.get_args(annotation)[0]
        keys = typing.get_args(key) if typing.get_origin(key) is Literal else ()
        note = "a JSON object" + (f" keyed by {', '.join(map(str, keys))}" if keys else "")
        return JSON, note
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return input_for(annotation), None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation, None  # the ledger's own enum, as the query side shows it (Grade)
    if annotation is Any:
        return JSON, None
    if annotation in (str, int, bool, date, Decimal):
        return annotation, None
    raise TypeError(f"{owner}.{field}: no GraphQL mapping for {annotation!r}")


def input_for(model: type[BaseModel], name: str | None = None) -> type:
    """The strawberry input type mirroring one pydantic model (cached by name)."""
    name = name or f"{model.__name__}Input"
    if name in _inputs:
        return _inputs[name]
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations}
    # What the server fills in (c.Command.SERVER_FIELDS) is no part of what a caller sends.
    server: frozenset[str] = getattr(model, "SERVER_FIELDS", frozenset())
    fields = {k: v for k, v in model.model_fields.items() if k not in server}
    for field_name, info in fields.items():
        gql, note = map_type(info.annotation, model.__name__, field_name)
        description = "; ".join(x for x in (info.description, note) if x) or None
        required = info.is_required()
        annotations[field_name] = gql if required else (gql | None)
        namespace[field_name] = strawberry.field(
            description=description, **({} if required else {"default": strawberry.UNSET}))
    doc = (model.__doc__ or "").strip().splitlines()
    cls = type(name, (), namespace)
    cls.__module__ = __name__
    cls.__input_fields__ = tuple(fields)  # type: ignore[attr-defined]
    made = strawberry.input(cls, name=name,
                            description=doc[0] if doc and not doc[0].startswith("Commands:")
                            else f"Input of {model.__name__}.")
    _inputs[name] = made
    return made


def to_data(value: Any) -> Any:
    """An input object back to the plain dict the ledger's parse_command expects."""
    if value is strawberry.UNSET:
        raise AssertionError("UNSET is dropped by the caller")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [to_data(v) for v in value]
    spec: tuple[str, ...] | None = getattr(type(value), "__input_fields__", None)
    if spec is not None:
        return {name: to_data(getattr(value, name)) for name in spec
                if not unset(getattr(value, name))}
    return value


def unset(value: Any) -> bool:
    """Left out by the client, or given as a legacy value that reads as left out."""
    return value is strawberry.UNSET or (isinstance(value, Enum) and value in _read_as_unset)


# The ledger's commands in the order of the issue; the method is the snake_case name.
COMMANDS: tuple[str, ...] = (
    "register_unit", "register_subject", "record_ex_ante_assessment", "declare_goals",
    "review_goals", "adjust_goals", "record_monitoring", "submit_self_evaluation",
    "review_self_evaluation",
    "commission_evaluation", "record_evaluation", "record_spot_check", "assign_grade",
    "apply_result", "request_rectification", "report_rectification", "review_rectification",
    "record_disclosure", "admit_agency", "declare_agency_relationship", "assess_agency",
    "suspend_agency", "reinstate_agency", "remove_agency", "admit_expert", "remove_expert",
    "adopt_rules", "correct_event",
    "add_library_indicator", "revise_library_indicator", "retire_library_indicator",
    "open_monitoring_round", "close_monitoring_round", "act_on_warning",
    "draw_sampling_plan",
    "open_fiscal_year", "close_fiscal_year", "record_budget_request", "arrange_budget",
    "link_transfer",
)


def command_model(method: str) -> type[c.Command]:
    model = getattr(c, camel_title(method))
    assert isinstance(model, type) and issubclass(model, c.Command)
    return model
