"""Document limits measured in linear time, and validation kept off the event loop.

strawberry's QueryDepthLimiter and MaxAliasesLimiter follow every fragment spread into the
fragment it names, so a chain of fragments that each spread the next twice costs 2^n: 19
levels in 821 bytes held the event loop for seconds. Here each fragment's body is measured
once, and each spread reuses that figure, so the cost is linear in the document.

A document not validated before is validated on a small pool of its own under a time cap,
so one that is slow for a reason not foreseen here is refused (QUERY_TOO_COMPLEX) without
holding up other requests; the result is remembered by document text.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
VALIDATION_SECONDS = 2.0  # far above any real document (milliseconds), far below a stall
VALIDATION_THREADS = 2
SHOWN_ALIASES = 10**6  # a fragment chain's alias count can run to hundreds of digits


@dataclass
class Body:
    """One operation's or fragment's own selections, its spreads not yet followed.

    `depth` counts nested fields with selections (introspection fields aside, as strawberry
    counts); a spread's nesting is None inside introspection, where depth is not counted.
    """

    depth: int = 0
    aliases: int = 0
    spreads: list[tuple[str, int | None]] = field(default_factory=list)


def body_of(selections: SelectionSetNode) -> Body:
    """Walk one selection set without recursion (nesting is bounded only by the parser)."""
    body = Body()
    pending: list[tuple[SelectionSetNode, int | None]] = [(selections, 0)]
    while pending:
        current, nesting = pending.pop()
        for selection in current.selections:
            if isinstance(selection, FieldNode):
                body.aliases += selection.alias is not None
                if selection.selection_set is None:
                    continue
                inner = (None if nesting is None or selection.name.value.startswith("__")
                         else nesting + 1)
                body.depth = max(body.depth, inner or 0)
                pending.append((selection.selection_set, inner))
            elif isinstance(selection, InlineFragmentNode):
                pending.append((selection.selection_set, nesting))
            elif isinstance(selection, FragmentSpreadNode):
                body.spreads.append((selection.name.value, nesting))
    return body


def followed(body: Body, totals: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """Depth and aliases of a body with its spreads' totals added (an unknown or cyclic
    spread counts nothing: graphql-core's own rules report those)."""
    depth, aliases = body.depth, body.aliases
    for name, nesting in body.spreads:
        inner_depth, inner_aliases = totals.get(name, (0, 0))
        aliases += inner_aliases
        if nesting is not None:
            depth = max(depth, nesting + inner_depth)
    return depth, aliases


def fragment_totals(bodies: dict[str, Body]) -> dict[str, tuple[int, int]]:
    """(depth, aliases) of every fragment with its spreads followed, each computed once,
    in dependency order (an explicit stack: a chain of fragments is as long as it likes).
    An alias count can be 2^n for n fragments: a big integer, but one addition per spread."""
    totals: dict[str, tuple[int, int]] = {}
    for root in bodies:
        stack, entered = [root], set()
        while stack:
            name = stack[-1]
            if name in totals:
                stack.pop()
            elif name not in entered:
                entered.add(name)  # on the current path until finished: a cycle stops here
                stack.extend(s for s, _ in bodies[name].spreads
                             if s in bodies and s not in totals and s not in entered)
            else:
                stack.pop()
                totals[name] = followed(bodies[name], totals)
    return totals


def limit_errors(document: DocumentNode, max_depth: int,
                 max_aliases: int) -> list[GraphQLError]:
    """The depth of each operation and the aliases of all of them, as executed."""
    fragments = {d.name.value: body_of(d.selection_set) for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    totals = fragment_totals(fragments)
    errors, aliases = [], 0
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        depth, own_aliases = followed(body_of(operation.selection_set), totals)
        aliases += own_aliases
        if depth > max_depth:
            name = operation.name.value if operation.name else "anonymous"
            errors.append(GraphQLError(
                f"'{name}' exceeds maximum operation depth of {max_depth}", [operation],
                extensions={"code": TOO_COMPLEX, "rule": f"depth at most {max_depth}"}))
    if aliases > max_aliases:
        found = str(aliases) if aliases < SHOWN_ALIASES else f"more than {SHOWN_ALIASES:,}"
        errors.append(GraphQLError(
            f"{found} aliases found. Allowed: {max_aliases}",
            extensions={"code": TOO_COMPLEX, "rule": f"at most {max_aliases} aliases"}))
    return errors


def limit_rule(max_depth: int, max_aliases: int) -> type[ASTValidationRule]:
    """A validation rule for both limits (build it once: the validation cache keys on it)."""

    class DocumentLimits(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for error in limit_errors(context.document, max_depth, max_aliases):
                context.report_error(error)

    return DocumentLimits


ValidationKey = tuple[str, tuple[type[ASTValidationRule], ...]]


class Validations:
    """Validation results by document text (an LRU), computed on a pool of their own."""

    def __init__(self, size: int = 512, threads: int = VALIDATION_THREADS) -> None:
        self.size = size
        self.results: OrderedDict[ValidationKey, list[GraphQLError]] = OrderedDict()
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="jixiao-validate")

    def remembered(self, key: ValidationKey) -> list[GraphQLError] | None:
        with self.lock:
            found = self.results.get(key)
            if found is not None:
                self.results.move_to_end(key)
            return found

    def validate(self, key: ValidationKey, schema: GraphQLSchema,
                 document: DocumentNode) -> list[GraphQLError]:
        """Runs on the pool; a run that outlives its caller's cap still lands here."""
        errors = validate_document(schema, document, key[1])
        with self.lock:
            self.results[key] = errors
            while len(self.results) > self.size:
                self.results.popitem(last=False)
        return errors

    async def errors(self, query: str, schema: GraphQLSchema, document: DocumentNode,
                     rules: Sequence[type[ASTValidationRule]]) -> list[GraphQLError]:
        key = (query, tuple(rules))
        found = self.remembered(key)
        if found is not None:
            return found
        job = asyncio.wrap_future(self.pool.submit(self.validate, key, schema, document))
        done, _ = await asyncio.wait([job], timeout=VALIDATION_SECONDS)
        if done:
            return job.result()
        job.cancel()  # still queued: never started; running: it finishes and is remembered
        return [GraphQLError(
            f"the document took longer than {VALIDATION_SECONDS:g} s to validate; simplify it",
            extensions={"code": TOO_COMPLEX,
                        "rule": f"validates within {VALIDATION_SECONDS:g} s"})]


class OffLoopValidation(SchemaExtension):
    """Validates in place of strawberry (and of its ValidationCache), off the event loop."""

    def __init__(self, validations: Validations) -> None:
        super().__init__()
        self.validations = validations

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.query and context.pre_execution_errors is None:
            context.pre_execution_errors = await self.validations.errors(
                context.query, context.schema._schema, document, context.validation_rules)
        yield
