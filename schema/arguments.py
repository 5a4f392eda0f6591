"""Query arguments held to the ledger's text rule (ledger.text) before anything reads them.

A query's text arguments (codes, cursors, regions) go into SQL as parameters, and PostgreSQL
refuses a NUL in a text parameter: `subject(code: "a\\u0000")` was "Unexpected error.". No
stored code can hold such characters (commands refuse them), so the query is refused up
front with the argument and the rule named. Mutations are left to the ledger, which refuses
the same characters with a typed ValidationError naming the command's field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ArgumentNode, GraphQLError, StringValueNode, Visitor, visit
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from ledger.text import TEXT_RULE, nested_problem, text_problem


def literal_problem(document: Any) -> tuple[str, str] | None:
    """(argument, why) for the first string literal in the document that breaks the rule."""
    found: list[tuple[str, str]] = []

    class Strings(Visitor):
        def __init__(self) -> None:
            super().__init__()
            self.arguments: list[str] = []

        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            self.arguments.append(node.name.value)

        def leave_argument(self, node: ArgumentNode, *_: object) -> None:
            self.arguments.pop()

        def enter_string_value(self, node: StringValueNode, *_: object) -> Any:
            problem = text_problem(node.value)
            if problem is not None and not found:
                found.append((self.arguments[-1] if self.arguments else "a string", problem))
                return Visitor.BREAK
            return None

    visit(document, Strings())
    return found[0] if found else None


class QueryTextArguments(SchemaExtension):
    """Refuses a query whose variables or literal arguments carry text no code can hold."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.operation_type == OperationType.QUERY:
            variables = nested_problem(context.variables or {})
            found = (("$" + variables[0], variables[1]) if variables is not None
                     else literal_problem(context.graphql_document))
            if found is not None:
                where, problem = found
                context.result = GraphQLExecutionResult(data=None, errors=[GraphQLError(
                    f"argument {where}: {problem}",
                    extensions={"code": "BAD_USER_INPUT", "reason": TEXT_RULE})])
        yield None
