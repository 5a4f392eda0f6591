"""Goal table (绩效目标表) and indicator library (核心指标库) commands.

Declaring and adjusting goals is checked against the level pairs of the rules in force and
against the library entries the indicators cite (ledger.goal_checks); the review is an
exchange kept on the subject (declared → returned with comments → declared → approved).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from ledger import commands as c
from ledger.domain.base import Meta
from ledger.domain.goal_records import LibraryIndicator
from ledger.domain.indicator_library import ENTRY_FIELDS, LIBRARY_ID, IndicatorLibrary
from ledger.domain.subject import Subject
from ledger.goal_checks import (
    check_funds_by_source,
    check_level_pair,
    check_levels,
    check_library_codes,
)
from ledger.handling import Decision, Handlers, Input
from ledger.handling import as_command as _as
from ledger.runtime import SYSTEM, Actor, CommandResult


class GoalTableCommands(Handlers):
    def declare_goals(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.DeclareGoals, data)

        def decide(meta: Meta) -> Decision:
            subject = self._checked_goals(cmd)
            subject.declare_goals([i.model_dump() for i in cmd.indicators], meta,
                                  cmd.overall_goal, _funds(cmd))
            return [subject], {}
        return self.run("declare_goals", cmd, actor, decide)

    def review_goals(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ReviewGoals, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            rules = self.rules_for(subject, cmd.effective_on)
            subject.review_goals(cmd.decision == "approve", cmd.comments,
                                 rules.ex_ante_threshold, meta)
            return [subject], {}
        return self.run("review_goals", cmd, actor, decide)

    def adjust_goals(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AdjustGoals, data)

        def decide(meta: Meta) -> Decision:
            subject = self._checked_goals(cmd)
            subject.adjust_goals([i.model_dump() for i in cmd.indicators], cmd.reason, meta,
                                 cmd.overall_goal, _funds(cmd))
            return [subject], {}
        return self.run("adjust_goals", cmd, actor, decide)

    def _checked_goals(self, cmd: c.GoalsInput) -> Subject:
        subject = self.subject(cmd.subject_code)
        check_levels(cmd.indicators, self.rules_for(subject, cmd.effective_on))
        check_library_codes(cmd.indicators, self._library_entries)
        check_funds_by_source(cmd.funds_by_source, subject.funds)
        return subject

    def _library_entries(self) -> dict[str, LibraryIndicator]:
        try:
            return self._library().entries
        except AggregateNotFoundError:
            return {}

    def _library(self) -> IndicatorLibrary:
        found = self.load(LIBRARY_ID)
        assert isinstance(found, IndicatorLibrary)
        return found

    def _library_or_new(self, meta: Meta) -> IndicatorLibrary:
        try:
            return self._library()
        except AggregateNotFoundError:  # the first entry opens the library
            return IndicatorLibrary(meta=meta)

    # -- the indicator library (核心绩效指标库) ----------------------------------------

    def add_library_indicator(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AddLibraryIndicator, data)

        def decide(meta: Meta) -> Decision:
            _check_entry_levels(self, cmd)
            library = self._library_or_new(meta)
            library.add(_entry(cmd), meta)
            return [library], {}
        return self.run("add_library_indicator", cmd, actor, decide)

    def revise_library_indicator(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ReviseLibraryIndicator, data)

        def decide(meta: Meta) -> Decision:
            _check_entry_levels(self, cmd)
            library = self._library_or_new(meta)
            library.revise(_entry(cmd), cmd.reason, meta)
            return [library], {}
        return self.run("revise_library_indicator", cmd, actor, decide)

    def retire_library_indicator(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RetireLibraryIndicator, data)

        def decide(meta: Meta) -> Decision:
            library = self._library_or_new(meta)
            library.retire(cmd.code, cmd.reason, meta)
            return [library], {}
        return self.run("retire_library_indicator", cmd, actor, decide)


def _funds(cmd: c.GoalsInput) -> dict[str, Any] | None:
    return None if cmd.funds_by_source is None else cmd.funds_by_source.model_dump()


def _entry(cmd: c.LibraryIndicatorInput) -> dict[str, object]:
    dumped = cmd.model_dump()
    return {name: dumped[name] for name in ENTRY_FIELDS}


def _check_entry_levels(handlers: Handlers, cmd: c.LibraryIndicatorInput) -> None:
    """A library entry sits at a level pair the rules in force on its date allow."""
    rules = handlers.rules_in_force(cmd.effective_on or date.today())
    check_level_pair(cmd.level1, cmd.level2, cmd.name, rules)
