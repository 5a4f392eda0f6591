"""One subject's whole lifecycle as typed GraphQL objects, pinned to the enclosing moment.

The lifecycle's GraphQL types are declared from the aggregate's records (schema/records.py),
and the resolvers hand over the records themselves: one shape, declared once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import strawberry
from strawberry.scalars import JSON

from ledger.domain import monitoring_round, records, review_records
from ledger.log import jsonable
from projections import values
from projections import visibility as seen
from projections.views import ReadModel
from schema.context import Information, services
from schema.fields import field
from schema.goal_table import GoalTable
from schema.paging import check_page
from schema.records import record_type
from schema.types import (
    AnnexKind,
    AuditConnection,
    Grade,
    SubjectSummary,
)

if TYPE_CHECKING:  # the checker sees the records the resolvers return
    from ledger.domain.monitoring_round import WarningAction
    from ledger.domain.records import (
        Consequence,
        Correction,
        Evaluation,
        ExAnteAssessment,
        GoalIndicator,
        GradeAssignment,
        MonitoringSnapshot,
        Rectification,
        SelfEvaluation,
        SpotCheck,
    )
else:  # GraphQL sees the types declared from them
    GoalIndicator = record_type(records.GoalIndicator)
    ExAnteAssessment = record_type(records.ExAnteAssessment)
    MonitoringSnapshot = record_type(records.MonitoringSnapshot)
    SelfEvaluation = record_type(records.SelfEvaluation)
    Evaluation = record_type(records.Evaluation)
    record_type(review_records.IndicatorReview, derived={"difference": Decimal | None})
    SpotCheck = record_type(records.SpotCheck, derived={"difference": Decimal | None})
    GradeAssignment = record_type(records.GradeAssignment, derived={"label": str})
    Consequence = record_type(records.Consequence)
    Rectification = record_type(records.Rectification)
    WarningAction = record_type(monitoring_round.WarningAction, derived={"label": str})

    def _values(self: records.Correction) -> JSON:
        return jsonable(self.values)

    Correction = record_type(records.Correction, resolvers={"values": strawberry.field(
        resolver=_values, description="the restated fields and their new values")})


@strawberry.type(description="One evaluation subject with its whole lifecycle, as of the "
                 "enclosing moment.")
class Subject:
    moment: strawberry.Private[values.Moment]
    read: strawberry.Private[ReadModel]  # the views this subject was read from
    vis: strawberry.Private[seen.Visibility]  # what the caller may see
    id: str
    code: str
    name: str
    kind: str
    fiscal_year: int
    unit_code: str
    unit_name: str
    funds: Decimal
    is_key: bool
    is_new: bool
    tags: list[str]
    goal_status: str
    grade: Grade | None
    grade_label: str | None
    score: Decimal | None
    annex: AnnexKind | None
    version: int
    summary: SubjectSummary
    goals: list[GoalIndicator]
    ex_ante: list[ExAnteAssessment]
    monitoring: list[MonitoringSnapshot]
    self_evaluation: SelfEvaluation | None = strawberry.field(description=(
        "the latest accepted version of the self-evaluation table: what a grade may rest on"))
    self_evaluations: list[SelfEvaluation] = strawberry.field(description=(
        "every submitted version of the self-evaluation table (项目支出绩效自评表), oldest "
        "first, each with its status (submitted, accepted, returned) and the rule version "
        "that scored it"))
    evaluations: list[Evaluation]
    spot_checks: list[SpotCheck]
    grading: GradeAssignment | None
    consequences: list[Consequence]
    rectifications: list[Rectification]
    corrections: list[Correction]
    goal_table: GoalTable | None = strawberry.field(description=(
        "绩效目标表: 年度总体目标, funds by source, the indicators, and the review exchange "
        "(each return with its comments, each resubmission, the approval, each adjustment)."))
    warning_actions: list[WarningAction] = strawberry.field(
        description="what followed monitoring warnings, each citing its warning")
    predecessor_code: str | None = strawberry.field(description=(
        "延续项目: the code of the year before's subject this one continues, if any"))

    @field(description="The year before's subject this one continues (延续项目), as of the "
                      "same moment; null if none, or if the caller may not see it.")
    async def predecessor(self, info: Information) -> Subject | None:
        if self.predecessor_code is None:
            return None
        found = await services(info).run(seen.subject, self.read, self.vis, self.moment,
                                         self.predecessor_code)
        return None if found is None else Subject.of(self.moment, found, self.read, self.vis)

    @field(description="This subject's events up to the enclosing moment.")
    async def audit_trail(self, info: Information, first: int = 50,
                          after: str | None = None) -> AuditConnection:
        first = check_page(first, after)
        page = await services(info).run(self.read.audit_trail, self.moment,
                                        subject_code=self.code, first=first, after=after)
        return AuditConnection.of(page)

    @classmethod
    def of(cls, moment: values.Moment, d: values.SubjectDetail, read: ReadModel,
           vis: seen.Visibility) -> Subject:
        s = d.summary
        return cls(
            moment=moment, read=read, vis=vis, id=s.subject_id, code=s.code, name=s.name,
            kind=s.kind,
            fiscal_year=s.fiscal_year, unit_code=s.unit_code, unit_name=s.unit_name,
            funds=s.funds, is_key=s.is_key, is_new=s.is_new, tags=list(s.tags),
            goal_status=s.goal_status, grade=s.grade, grade_label=s.grade_label,
            score=s.score, annex=s.annex, version=s.version, summary=s, goals=list(d.goals),
            ex_ante=list(d.ex_ante),
            monitoring=list(d.monitoring), self_evaluation=d.self_evaluation,
            evaluations=list(d.evaluations), spot_checks=list(d.spot_checks), grading=d.grade,
            consequences=list(d.consequences), rectifications=list(d.rectifications),
            corrections=list(d.corrections), goal_table=d.goal_table,
            warning_actions=list(d.warning_actions),
            self_evaluations=list(d.self_evaluations),
            predecessor_code=d.predecessor_code or None)
