"""What an HTTP request carries, read strictly: JSON bodies and GraphQL GET parameters.

Anything malformed is a BadRequest: a 400 whose GraphQL-shaped body names the field (`body`,
`query`, `variables`…) and the rule it broke, never a 500 from a decoder deep in the stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from cross_web import HTTPException
from starlette.datastructures import ImmutableMultiDict
from starlette.responses import JSONResponse

GRAPHQL_PARAMS = ("query", "variables", "operationName", "extensions")
JSON_PARAMS = ("variables", "extensions")
# Deeper than the ledger keeps (ledger.integrity.canonical refuses records past 64 levels),
# and far below the interpreter's recursion limit, so nothing downstream can overflow.
MAX_JSON_DEPTH = 64


class BadRequest(HTTPException):
    """A malformed request: 400, naming the field and the rule."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(400, message)
        self.field = field
        self.rule = rule

    def response(self) -> JSONResponse:
        return JSONResponse({"errors": [{"message": self.reason, "extensions": {
            "code": "BAD_REQUEST", "field": self.field, "rule": self.rule}}]},
            status_code=400, headers={"Cache-Control": "no-store"})


def too_deep(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects nest past `limit` (an explicit stack: no recursion)."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children: Iterable[object] = (item.values() if isinstance(item, dict)
                                      else item if isinstance(item, list) else ())
        pending.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def read_json(field: str, data: str | bytes) -> Any:
    """Decode one JSON document: UTF-8, well-formed, nested at most MAX_JSON_DEPTH deep."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(field, "UTF-8 text", f"{field} is not UTF-8 text") from None
    deep = BadRequest(field, f"JSON nesting at most {MAX_JSON_DEPTH} levels",
                      f"{field} nests arrays or objects more than {MAX_JSON_DEPTH} deep")
    try:
        value = json.loads(data)
    except RecursionError:
        raise deep from None
    except ValueError as exc:
        raise BadRequest(field, "well-formed JSON", f"{field} is not valid JSON: {exc}") from None
    # A document with fewer brackets than the limit cannot be deeper: skip the walk.
    if data.count("[") + data.count("{") > MAX_JSON_DEPTH and too_deep(value):
        raise deep
    return value


def graphql_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """GET parameters as strawberry executes them, each GraphQL one given at most once.

    With `?query=A&query=B` a cache keyed on one value would store the answer to the other;
    refusing the repeat leaves exactly one reading of the request.
    """
    for name in GRAPHQL_PARAMS:
        given = (params.getlist(name) if isinstance(params, ImmutableMultiDict)
                 else params.get(name))
        if isinstance(given, list) and len(given) > 1:
            raise BadRequest(name, "given at most once",
                             f"the GraphQL parameter {name} is given more than once")
    parsed = dict(params)
    for name in JSON_PARAMS:
        if parsed.get(name):
            parsed[name] = read_json(name, parsed[name])
    return parsed
