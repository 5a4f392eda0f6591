"""GraphQL object types made from the ledger's frozen records, so each shape is declared once.

`record_type(Record)` reads the record's fields and types and declares the GraphQL type with
the same fields (snake_case becomes camelCase as everywhere in the schema). Resolvers return
the records themselves: fields are read by attribute, nothing is copied or re-parsed.
Nested records, `X | None` and tuples map to their GraphQL counterparts; enums are the
ledger's own, declared to strawberry where the schema declares them (schema/types.py).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

import strawberry
from strawberry.scalars import JSON

_DECLARED: dict[type, Any] = {}  # record class -> its GraphQL type


def _description(record: type) -> str | None:
    doc = record.__doc__ or ""
    if not doc or doc.startswith(f"{record.__name__}("):  # the dataclass's generated doc
        return None
    return " ".join(doc.split("\n\n")[0].split())


def graphql_annotation(hint: Any) -> Any:
    """The GraphQL-side annotation for a record field's type."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        if len(present) != 1:
            raise TypeError(f"only X | None unions map to GraphQL, not {hint}")
        return graphql_annotation(present[0]) | None
    if origin in (tuple, list):
        return list[graphql_annotation(args[0])]  # type: ignore[misc]
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        return JSON
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return record_type(hint)
    return hint


def record_type(record: type, *, name: str | None = None, exclude: tuple[str, ...] = (),
                derived: Mapping[str, Any] | None = None,
                resolvers: Mapping[str, Any] | None = None,
                descriptions: Mapping[str, str] | None = None) -> Any:
    """Declare `record` as a GraphQL type (of the same name unless `name` is given).

    `derived` adds fields read from the record's properties (name -> type); `resolvers`
    replaces a field by a strawberry field with its own resolver; `descriptions` describes
    fields by name.
    """
    if record in _DECLARED:
        return _DECLARED[record]
    hints = typing.get_type_hints(record)
    annotations = {f.name: graphql_annotation(hints[f.name])
                   for f in dataclasses.fields(record)
                   if f.name not in exclude and f.name not in (resolvers or {})}
    annotations.update({name: graphql_annotation(t) for name, t in (derived or {}).items()})
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__,
                                 **(resolvers or {})}
    for field_name, text in (descriptions or {}).items():
        namespace[field_name] = strawberry.field(description=text)
    declared = strawberry.type(type(name or record.__name__, (), namespace),
                               description=_description(record))
    _DECLARED[record] = declared
    return declared
