"""The GraphQL API: every view at any moment, every command as a mutation.

`build_schema()` needs no database, so the schema can be exported (schema/schema.graphql)
and checked without one; `jixiao.app.create_app()` wires it to a ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError
from strawberry import Schema
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from schema.arguments import QueryTextArguments
from schema.errors import PublicError
from schema.limits import OffLoopValidation, Validations, limit_rule
from schema.metrics import RequestMetrics
from schema.mutations import Mutation
from schema.queries import Query
from schema.scalars import SCALARS
from schema.subscriptions import Subscription

MAX_DEPTH = 10
MAX_TOKENS = 4000
MAX_ALIASES = 30
CACHED_DOCUMENTS = 512


def should_mask(error: GraphQLError) -> bool:
    """Mask what we did not mean to say: anything raised by code rather than by the request.

    Parse and validation errors (no original error), our PublicError, and scalar coercion
    errors describe the request and are kept; anything else (a bug, a driver error with SQL
    in it) becomes "Unexpected error." in production.
    """
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, PublicError | StrawberryInputCoercionError | GraphQLError)


class LedgerSchema(Schema):
    """Logs only unexpected errors, and keeps subscriptions off plain request/response."""

    async def execute(self, query: str | None, variable_values: dict[str, Any] | None = None,
                      context_value: Any | None = None, root_value: Any | None = None,
                      operation_name: str | None = None,
                      allowed_operation_types: Iterable[OperationType] | None = None,
                      operation_extensions: dict[str, Any] | None = None) -> ExecutionResult:
        """A subscription needs a stream (WebSocket or multipart), which `execute` is not;
        refusing it here answers 400 rather than a null feed."""
        allowed = set(allowed_operation_types or (OperationType.QUERY, OperationType.MUTATION))
        return await super().execute(query, variable_values, context_value, root_value,
                                     operation_name, allowed - {OperationType.SUBSCRIPTION},
                                     operation_extensions)

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        super().process_errors([e for e in errors if should_mask(e)], execution_context)


# The depth and alias limits are one validation rule, measured per fragment (schema.limits).
# Its class is built once here: a class made per request would defeat the validation cache.
LIMIT_RULES = (limit_rule(MAX_DEPTH, MAX_ALIASES),)


def build_schema(*, dev: bool = False) -> Schema:
    """The schema with its protections: depth, token and alias limits, validation off the
    event loop under a time cap, masked errors."""
    validations = Validations(size=CACHED_DOCUMENTS)
    extensions: list[type[SchemaExtension] | object] = [
        RequestMetrics,  # first: it times everything the others do
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        lambda: AddValidationRules(list(LIMIT_RULES)),
        lambda: OffLoopValidation(validations),
        QueryTextArguments,
    ]
    if not dev:
        extensions.append(lambda: MaskErrors(should_mask_error=should_mask))
    return LedgerSchema(query=Query, mutation=Mutation, subscription=Subscription,
                        extensions=extensions,  # type: ignore[arg-type]
                        config=StrawberryConfig(scalar_map=SCALARS))


def schema_sdl() -> str:
    """The schema as SDL, exactly as committed in schema/schema.graphql."""
    return build_schema().as_str().rstrip("\n") + "\n"
