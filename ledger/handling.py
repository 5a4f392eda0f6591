"""What every command handler shares: the input it accepts, the decision it returns.

The Ledger is assembled from one mixin per part of the work (registry, the forms, the
lifecycle), each a subclass of `Handlers`, so that no module carries every command.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate

from ledger import commands as c
from ledger.domain.subject import Subject
from ledger.preview import Previewing
from ledger.rules import RuleSet
from ledger.runtime import parse_command

C = TypeVar("C", bound=c.Command)
Input = dict[str, Any] | c.Command
Decision = tuple[Sequence[Aggregate], dict[str, str]]


def as_command(model: type[C], data: Input) -> C:
    """A command from a GraphQL or CLI dict, or the command itself (tests, imports)."""
    if isinstance(data, model):
        return data
    if isinstance(data, c.Command):
        data = data.model_dump()
    return parse_command(model, data)


class Handlers(Previewing):
    """The base of every command mixin (a Previewing LedgerBase: previews are no command)."""

    def rules_for(self, subject: Subject, on: date | None) -> RuleSet:
        """The rules in force on `on`, or at the end of the subject's fiscal year."""
        return self.rules_in_force(on or date(subject.fiscal_year, 12, 31))
