"""A command is declared in five places; this fails whenever they disagree.

The five: the Ledger method (ledger/application.py) with its pydantic model (ledger/commands.py,
named after the method), the permission entry (ledger.permissions.MATRIX), the GraphQL input
(derived from the model by schema/inputs.py, listed in schema.inputs.COMMANDS), and the
mutation with its description and payload (schema/mutations.py). They stay separate on
purpose: the decision, who may issue it (read as one table), and the API's words are different
concerns; what must agree between them is checked here.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, NoReturn

import graphql
import pytest
from pydantic import BaseModel

import schema
from ledger import commands as c
from ledger import permissions
from ledger.application import Ledger
from ledger.handling import Handlers
from ledger.importing import importer
from ledger.runtime import SYSTEM, Actor, CommandResult, camel
from schema.inputs import COMMANDS, command_model
from schema.mutations import DESCRIPTIONS, ID_FIELDS


def ledger_commands() -> set[str]:
    """Public methods of Ledger and its command mixins: each is a command (the machinery
    lives in ledger.handling.Handlers and below)."""
    names: set[str] = set()
    for cls in Ledger.__mro__:
        if cls is Handlers:
            break
        names |= {name for name, value in vars(cls).items()
                  if callable(value) and not name.startswith("_")}
    return names


@pytest.fixture(scope="module")
def sdl() -> graphql.GraphQLSchema:
    """The schema clients see, as the code builds it."""
    return graphql.build_schema(schema.schema_sdl())


def test_every_place_names_the_same_commands() -> None:
    names = ledger_commands()
    assert set(permissions.MATRIX) == names, "permissions.MATRIX ≠ Ledger's methods"
    assert set(COMMANDS) == names, "schema.inputs.COMMANDS ≠ Ledger's methods"
    assert len(COMMANDS) == len(set(COMMANDS))
    assert set(DESCRIPTIONS) == names, "schema.mutations.DESCRIPTIONS ≠ Ledger's methods"
    assert set(ID_FIELDS) <= names
    assert all(roles <= set(permissions.ROLES) for roles in permissions.MATRIX.values())


class Entered(Exception):
    """The probe's command reached the shared command path."""


class Probe(Ledger):
    """A Ledger without storage that records how each method enters the command path."""

    def __init__(self) -> None:
        self.entered: tuple[str, type[c.Command]] | None = None

    def run(self, name: str, cmd: c.Command, actor: Actor,
            decide: Callable[..., Any]) -> NoReturn:
        self.entered = (name, type(cmd))
        raise Entered


@pytest.mark.parametrize("method", sorted(ledger_commands()))
def test_each_method_validates_its_model_and_is_checked_under_its_own_name(method: str) -> None:
    """run(name, …) is where the permission check looks the name up in MATRIX."""
    model = command_model(method)
    # Unvalidated: only adopt_rules reads a field (rules) before the command path, and {} is
    # a valid rule set.
    placeholders: dict[str, Any] = {f: {} for f, info in model.model_fields.items()
                                    if info.is_required()}
    cmd = model.model_construct(**placeholders)
    probe = Probe()
    with pytest.raises(Entered):
        getattr(probe, method)(cmd, SYSTEM)
    assert probe.entered == (method, model)


def test_each_method_returns_a_command_result() -> None:
    for method in ledger_commands():
        assert typing.get_type_hints(getattr(Ledger, method))["return"] is CommandResult


def input_fields(model: type[BaseModel], kind: graphql.GraphQLInputObjectType,
                 where: str) -> None:
    """The input's fields are the model's, camelCase, required exactly when the model's are;
    those the server fills in (Command.SERVER_FIELDS) are no part of the input."""
    server: frozenset[str] = getattr(model, "SERVER_FIELDS", frozenset())
    fields = {k: v for k, v in model.model_fields.items() if k not in server}
    assert set(kind.fields) == {camel(f) for f in fields}, where
    for name, info in fields.items():
        field = kind.fields[camel(name)]
        assert isinstance(field.type, graphql.GraphQLNonNull) == info.is_required(), (
            f"{where}.{name}: required in the model is {info.is_required()}")
        inner = graphql.get_named_type(field.type)
        nested = nested_models(info.annotation)
        if isinstance(inner, graphql.GraphQLInputObjectType):
            assert len(nested) == 1, f"{where}.{name}"
            input_fields(nested[0], inner, f"{where}.{name}")


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in nested_models(arg)]


@pytest.mark.parametrize("method", sorted(COMMANDS))
def test_each_mutation_mirrors_its_command(method: str, sdl: graphql.GraphQLSchema) -> None:
    assert sdl.mutation_type is not None
    mutation = sdl.mutation_type.fields[camel(method)]
    assert (mutation.description or "").strip(), f"{method} has no description"
    assert set(mutation.args) == {"input"}
    kind = graphql.get_named_type(mutation.args["input"].type)
    assert isinstance(kind, graphql.GraphQLInputObjectType)
    input_fields(command_model(method), kind, kind.name)
    payload = graphql.get_named_type(mutation.type)
    assert isinstance(payload, graphql.GraphQLUnionType)
    result = payload.types[0]
    assert {camel(attr) for _key, attr, _kind in ID_FIELDS.get(method, ())} <= set(
        result.fields), f"{result.name} lacks the ids the command reports"


def test_the_importers_models_are_the_commands() -> None:
    for method, model in importer._MODELS.items():
        assert model is command_model(method), method
