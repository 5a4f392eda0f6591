"""Monitoring rounds under `ledger(...)`: the rounds of a year, and one round's summary with
each subject's status, read as of the enclosing moment (projections.monitoring_rounds)."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

import strawberry

from projections import monitoring_rounds as mr
from projections import values
from projections import visibility as seen
from projections.views import ReadModel
from schema.context import Information, services
from schema.fields import field
from schema.records import record_type

if TYPE_CHECKING:
    from projections.monitoring_rounds import CodeCount, RoundInfo, RoundSubject
else:
    RoundInfo = record_type(mr.RoundInfo, name="MonitoringRound")
    RoundSubject = record_type(mr.RoundSubject, name="MonitoringRoundSubject",
                               derived={"status_label": str})
    CodeCount = record_type(mr.CodeCount, name="MonitoringCount")


@strawberry.enum(description="Where a subject in a round's scope stands.")
class MonitoringStatus(Enum):
    REPORTED = "reported"
    LATE = "late"
    NOT_REPORTED = "not_reported"


@strawberry.type(description="A monitoring round as of the enclosing moment: who in scope "
                 "reported (on time or late) and who has not, the money monitored, the "
                 "warnings and what followed them. Counts and sums cover the subjects the "
                 "caller may read.")
class MonitoringRoundSummary:
    found: strawberry.Private[mr.RoundSummary]
    round: RoundInfo
    position: int
    in_scope: int
    reported: int = strawberry.field(description="reported by the due date")
    late: int = strawberry.field(description="reported after the due date")
    not_reported: int
    received: int = strawberry.field(description="reported, on time or late")
    funds_in_scope: Decimal
    monitored_amount: Decimal = strawberry.field(
        description="万元: the budget amounts of the snapshots received")
    executed_amount: Decimal
    execution_rate: Decimal = strawberry.field(description="percent, executed / monitored")
    warnings: list[CodeCount]
    actions: list[CodeCount]
    statements: list[str] = strawberry.field(description="the round in the report's words")

    @field(description="The subjects in scope, in registration order; `status` filters "
                      "(e.g. NOT_REPORTED: who has not reported).")
    def subjects(self, status: MonitoringStatus | None = None) -> list[RoundSubject]:
        return [s for s in self.found.subjects if status is None or s.status == status.value]

    @classmethod
    def of(cls, s: mr.RoundSummary) -> MonitoringRoundSummary:
        return cls(found=s, round=s.round, position=s.position, in_scope=s.in_scope,
                   reported=s.reported, late=s.late, not_reported=s.not_reported,
                   received=s.received, funds_in_scope=s.funds_in_scope,
                   monitored_amount=s.monitored_amount,
                   executed_amount=s.executed_amount,
                   execution_rate=s.execution_rate, warnings=list(s.warnings),
                   actions=list(s.actions), statements=s.statements())


@strawberry.type
class MonitoringFields:
    """Mixed into the `Ledger` type: its moment, visibility and views are those of the
    enclosing answer."""

    if TYPE_CHECKING:
        moment: values.Moment
        vis: seen.Visibility
        read: ReadModel

    @field(description="Monitoring rounds (绩效运行监控) opened by this moment, in order.")
    async def monitoring_rounds(self, info: Information,
                                fiscal_year: int | None = None) -> list[RoundInfo]:
        return await services(info).run(mr.rounds, self.read, self.moment, fiscal_year)

    @field(description="One monitoring round's summary; null if not opened by this moment.")
    async def monitoring_round(self, info: Information,
                               round_id: str) -> MonitoringRoundSummary | None:
        found = await services(info).run(seen.monitoring_round, self.read, self.vis,
                                         self.moment, round_id)
        return None if found is None else MonitoringRoundSummary.of(found)
