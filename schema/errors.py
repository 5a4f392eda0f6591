"""The ledger's refusals as GraphQL types, so clients branch on data and not on messages.

Refusals are answers, not failures: a mutation returns one of these in its result union
(HTTP 200, no `errors` entry), carrying exactly what ledger.errors says and nothing else.
"""

from __future__ import annotations

import logging
from typing import Any

import strawberry

from ledger import errors as le


@strawberry.type(description="One problem with one field of the input.")
class FieldProblem:
    field: str
    rule: str
    message: str


@strawberry.interface(description="What every refusal says: a stable code, the field "
                      "(camelCase path) and the rule that refused it, and a message.")
class Refusal:
    code: str
    field: str | None
    rule: str | None
    message: str


@strawberry.type(description="The input is malformed (types, formats, ranges).")
class ValidationError(Refusal):
    problems: list[FieldProblem]


@strawberry.type(description="Well-formed input that a business rule refuses.")
class RuleViolation(Refusal):
    pass


@strawberry.type(description="Another command changed the same record first; reload and retry "
                 "with a new commandId.")
class Conflict(Refusal):
    current_version: int | None


@strawberry.type(description="Something the command names does not exist.")
class NotFound(Refusal):
    key: str | None


@strawberry.type(description="The actor may not issue this command.")
class Forbidden(Refusal):
    pass


@strawberry.type(description="Storage is unreachable; nothing was recorded. Retry with the "
                 "same commandId.")
class Unavailable(Refusal):
    pass


UNAVAILABLE = ("the ledger's storage is unavailable; nothing was recorded. Retry with the same "
               "commandId.")
log = logging.getLogger("jixiao.api")

ERROR_TYPES: tuple[type, ...] = (ValidationError, RuleViolation, Conflict, NotFound, Forbidden,
                                 Unavailable)


def to_refusal(exc: le.DomainError) -> Refusal:
    """Map a ledger refusal to its GraphQL type (by class first, then by kind)."""
    common: dict[str, Any] = {"code": exc.code, "field": exc.field, "rule": exc.rule,
                              "message": exc.message}
    if isinstance(exc, le.InvalidInput) or exc.kind == "validation":
        problems = [FieldProblem(field=str(p.get("field", "")), rule=str(p.get("rule", "")),
                                 message=str(p.get("message", "")))
                    for p in exc.details.get("problems", [])]
        if not problems:
            problems = [FieldProblem(field=exc.field or "input", rule=exc.rule or "",
                                     message=exc.message)]
        return ValidationError(problems=problems, **common)
    if isinstance(exc, le.Conflict) or exc.kind == "conflict":
        version = exc.details.get("current_version")
        return Conflict(current_version=version if isinstance(version, int) else None, **common)
    if isinstance(exc, le.NotFound) or exc.kind == "not_found":
        key = exc.details.get("key")
        return NotFound(key=None if key is None else str(key), **common)
    if isinstance(exc, le.Forbidden) or exc.kind == "forbidden":
        return Forbidden(**common)
    if isinstance(exc, le.Unavailable) or exc.kind == "unavailable":
        # The ledger's message quotes the driver (hosts, users, SQL): log it, don't send it.
        log.warning("storage unavailable: %s", exc.message)
        return Unavailable(**{**common, "message": UNAVAILABLE})
    return RuleViolation(**common)


class PublicError(Exception):
    """An error whose message is safe to show to any client (not masked in production).

    Used for read-side arguments the ledger never sees: a bad page size, a naive time,
    a moment that cannot be reached in time.
    """

    def __init__(self, message: str, code: str = "BAD_ARGUMENT") -> None:
        super().__init__(message)
        self.code = code
        # graphql-core copies these into the error's `extensions`; BAD_USER_INPUT is the
        # conventional (Apollo) marker that the request, not the server, was at fault.
        self.extensions = {"code": "BAD_USER_INPUT", "reason": code}
