"""A monitoring round (绩效运行监控, "双监控"): the finance bureau asks the units in scope for a
snapshot of one window by a due date, and can then ask who has not reported.

The snapshots themselves stay on the subjects (`Subject.MonitoringRecorded`, citing the
round); what a unit did about a snapshot's warnings is `MonitoringFollowUp`, a part of the
subject. docs/domain.md, lifecycle step 3.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, Meta, stable_id
from ledger.domain.records import Correction, MonitoringSnapshot
from ledger.errors import RuleViolation
from ledger.permissions import units_over

# 调整目标 / 调整预算 / 暂缓 / 收回资金: what may follow a warning.
WARNING_ACTIONS = {"adjust_goals": "调整目标", "adjust_budget": "调整预算", "suspend": "暂缓",
                   "recover_funds": "收回资金"}
AMOUNT_ACTIONS = ("adjust_budget", "recover_funds")


@dataclass(frozen=True, slots=True)
class WarningAction:
    """What was done about one warning of one snapshot; it cites the warning."""

    id: str
    snapshot_id: str
    warning_index: int
    warning_code: str
    action: str  # adjust_goals, adjust_budget, suspend, recover_funds
    amount: Decimal | None
    remarks: str
    acted_on: date | None

    @property
    def label(self) -> str:
        return WARNING_ACTIONS.get(self.action, self.action)


def window_of(fiscal_year: int, start_month: int, end_month: int) -> tuple[date, date]:
    last = calendar.monthrange(fiscal_year, end_month)[1]
    return date(fiscal_year, start_month, 1), date(fiscal_year, end_month, last)


class MonitoringRound(LedgerAggregate):
    @staticmethod
    def create_id(round_id: str, **_: Any) -> UUID:
        return stable_id("monitoring_round", round_id)

    @event("Opened")
    def __init__(self, round_id: str, name: str, fiscal_year: int, window_start: date,
                 window_end: date, unit_codes: list[str], subject_kinds: list[str],
                 due_on: date, meta: Meta) -> None:
        self.round_id = round_id
        self.name = name
        self.fiscal_year = fiscal_year
        self.window_start = window_start
        self.window_end = window_end
        self.unit_codes = unit_codes
        self.subject_kinds = subject_kinds
        self.due_on = due_on
        self.opened_on = meta.effective_on
        self.closed_on: date | None = None
        self.closed = False
        self.corrections: list[Correction] = []

    @property
    def code(self) -> str:
        return self.round_id

    def close(self, remarks: str, meta: Meta) -> None:
        if self.closed:
            raise RuleViolation("ROUND_CLOSED", f"round {self.round_id} is already closed",
                                field="roundId", rule="a round is closed once")
        self._closed(remarks=remarks, meta=meta)

    @event("Closed")
    def _closed(self, remarks: str, meta: Meta) -> None:
        self.closed = True
        self.closed_on = meta.effective_on

    def covers(self, fiscal_year: int, kind: str, unit_chain: list[str]) -> bool:
        """Whether a subject (its year, kind, and its unit then each unit above) is in scope."""
        return (fiscal_year == self.fiscal_year
                and (not self.subject_kinds or kind in self.subject_kinds)
                and (not self.unit_codes or any(u in self.unit_codes for u in unit_chain)))

    def check_snapshot(self, fiscal_year: int, kind: str, unit_code: str,
                       parent_of: Callable[[str], str | None], window_start: date,
                       window_end: date) -> None:
        """A snapshot cites an open round whose scope holds its subject, for its window."""
        if self.closed:
            raise RuleViolation("ROUND_CLOSED", f"round {self.round_id} is closed",
                                field="roundId", rule="snapshots report to an open round")
        if not self.covers(fiscal_year, kind, units_over(unit_code, parent_of)):
            raise RuleViolation("SUBJECT_NOT_IN_ROUND", f"the subject is outside the scope of "
                                f"round {self.round_id}", field="roundId",
                                rule="a round's scope: its year, units and subject kinds")
        if (window_start, window_end) != (self.window_start, self.window_end):
            raise RuleViolation("ROUND_WINDOW_MISMATCH", f"round {self.round_id} covers "
                                f"{self.window_start}–{self.window_end}", field="windowEnd",
                                rule="a snapshot in a round covers the round's window")

    def status_of(self, snapshots: list[MonitoringSnapshot]) -> str:
        """reported, late or not_reported, by the first snapshot's effective date."""
        mine = [s for s in snapshots if s.round_id == self.round_id]
        if not mine:
            return "not_reported"
        first = mine[0].reported_on
        return "late" if first is not None and first > self.due_on else "reported"


class MonitoringFollowUp(LedgerAggregate):
    """The part of a subject that records what was done about its monitoring warnings."""

    if TYPE_CHECKING:  # set by Subject.__init__
        monitoring: list[MonitoringSnapshot]
        warning_actions: dict[str, WarningAction]
        funds: Decimal

    def check_warning(self, snapshot_id: str, index: int) -> str:
        """The cited warning's code; refused when the snapshot or the warning is not there."""
        found = next((m for m in self.monitoring if m.id == snapshot_id), None)
        if found is None:
            raise RuleViolation("SNAPSHOT_NOT_FOUND", f"no monitoring snapshot {snapshot_id!r} "
                                "on this subject", field="snapshotId",
                                rule="an action cites a warning of the subject's snapshot")
        if index >= len(found.warnings):
            raise RuleViolation("WARNING_NOT_FOUND", f"snapshot {snapshot_id} has "
                                f"{len(found.warnings)} warning(s); no warning {index}",
                                field="warningIndex",
                                rule="an action cites a warning of the subject's snapshot")
        return found.warnings[index].code

    def act_on_warning(self, action_id: str, snapshot_id: str, warning_index: int, action: str,
                       amount: Decimal | None, remarks: str, meta: Meta) -> None:
        code = self.check_warning(snapshot_id, warning_index)
        if action in AMOUNT_ACTIONS:
            if amount is None or amount <= 0:
                raise RuleViolation("AMOUNT_REQUIRED", f"{action} needs a positive amount",
                                    field="amount", rule="调整预算 and 收回资金 state the amount")
            if amount > self.funds:
                raise RuleViolation("AMOUNT_EXCEEDS_FUNDS", f"{amount} exceeds the subject's "
                                    f"funds {self.funds}", field="amount",
                                    rule="cannot reduce or recover more than funded")
        elif amount is not None:
            raise RuleViolation("AMOUNT_NOT_APPLICABLE", f"{action} takes no amount",
                                field="amount", rule="only 调整预算 and 收回资金 carry amounts")
        self._warning_acted(action_id=action_id, snapshot_id=snapshot_id,
                            warning_index=warning_index, warning_code=code, action=action,
                            amount=amount, remarks=remarks, meta=meta)

    @event("WarningActed")
    def _warning_acted(self, action_id: str, snapshot_id: str, warning_index: int,
                       warning_code: str, action: str, amount: Decimal | None, remarks: str,
                       meta: Meta) -> None:
        self.warning_actions[action_id] = WarningAction(
            id=action_id, snapshot_id=snapshot_id, warning_index=warning_index,
            warning_code=warning_code, action=action, amount=amount, remarks=remarks,
            acted_on=meta.effective_on)
