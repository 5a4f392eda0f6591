"""Monitoring rounds (绩效运行监控) and what follows a warning: the bureau's commands.

The snapshot itself is `record_monitoring` (ledger.application); it may cite a round opened
here. docs/domain.md, lifecycle step 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from ledger import commands as c
from ledger.domain.base import Meta
from ledger.domain.monitoring_round import MonitoringRound, window_of
from ledger.errors import InvalidInput, RuleViolation
from ledger.handling import Decision, Handlers, Input
from ledger.handling import as_command as _as
from ledger.runtime import SYSTEM, Actor, CommandResult, new_id


def today() -> date:
    """A snapshot's date when its command names none: the day it is recorded (UTC)."""
    return datetime.now(UTC).date()


def check_causes(indicators: Sequence[c.IndicatorProgress], causes: Sequence[str]) -> None:
    """偏差原因 come from the vocabulary of the rules in force."""
    for i, item in enumerate(indicators):
        if item.deviation_cause is not None and item.deviation_cause not in causes:
            raise RuleViolation(
                "UNKNOWN_DEVIATION_CAUSE", f"{item.deviation_cause!r} is not a deviation cause "
                f"of the rules in force ({', '.join(causes)})",
                field=f"indicators.{i}.deviationCause",
                rule="偏差原因 from monitoring.deviation_causes")


class MonitoringCommands(Handlers):
    def _monitoring_round(self, round_id: str) -> MonitoringRound:
        return self._get(MonitoringRound, "monitoring_round", round_id, "roundId")

    def open_monitoring_round(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.OpenMonitoringRound, data)

        def decide(meta: Meta) -> Decision:
            self._absent("monitoring_round", cmd.round_id, "roundId")
            rules = self.rules_in_force(cmd.effective_on or date(cmd.fiscal_year, 12, 31))
            end_month = cmd.window_end_month or rules.monitoring.default_window_end_month
            if cmd.window_start_month > end_month:
                raise InvalidInput("the window starts after it ends", field="windowEndMonth",
                                   rule="a window starts before it ends")
            for code in cmd.unit_codes:
                self.check_unit(code, "unitCodes")
            start, end = window_of(cmd.fiscal_year, cmd.window_start_month, end_month)
            if cmd.due_on < end:
                raise InvalidInput(f"due {cmd.due_on} falls before the window ends ({end})",
                                   field="dueOn", rule="a round is due after its window")
            return [MonitoringRound(
                round_id=cmd.round_id, name=cmd.name, fiscal_year=cmd.fiscal_year,
                window_start=start, window_end=end, unit_codes=list(cmd.unit_codes),
                subject_kinds=list(cmd.subject_kinds), due_on=cmd.due_on, meta=meta)], {
                    "roundId": cmd.round_id}
        return self.run("open_monitoring_round", cmd, actor, decide)

    def close_monitoring_round(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.CloseMonitoringRound, data)

        def decide(meta: Meta) -> Decision:
            found = self._monitoring_round(cmd.round_id)
            found.close(cmd.remarks, meta)
            return [found], {}
        return self.run("close_monitoring_round", cmd, actor, decide)

    def act_on_warning(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ActOnWarning, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            action_id = new_id("act")
            subject.act_on_warning(action_id, cmd.snapshot_id, cmd.warning_index, cmd.action,
                                   cmd.amount, cmd.remarks, meta)
            return [subject], {"actionId": action_id}
        return self.run("act_on_warning", cmd, actor, decide)
