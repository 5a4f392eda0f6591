"""Output types: the read-side values (projections.values, ledger.annex) as GraphQL.

Plain data is copied into frozen GraphQL objects; only fields that need another read (a
subject's audit trail) carry resolvers, and those stay pinned to the same Moment.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

import strawberry
from strawberry.scalars import JSON

from ledger import annex, grades
from ledger.domain.fiscal_year import TransferAllocation
from ledger.grades import Grade as Grade
from ledger.log import LogRecord, jsonable
from projections import fiscal_year, results_ledger, values
from schema.records import record_type

# The ledger's own enum, so the API's grades are the ledger's by construction.
strawberry.enum(Grade, name="Grade", description=(
    f"A performance grade: {grades.DEFAULT_GRADE_SCALE.describe()} under the default scale "
    "(the scale in force is a versioned rule)."))


AnnexKind = annex.AnnexKind
strawberry.enum(AnnexKind, name="AnnexKind",
                description="The two annex tables of the annual report.")


@strawberry.enum(description="Who receives a disclosure.")
class Audience(Enum):
    PEOPLES_CONGRESS = "peoples_congress"
    STANDING_COMMITTEE = "standing_committee"
    PUBLIC = "public"


@strawberry.type(description="Keyset pagination: pass endCursor as `after` for the next page.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


# -- the annex tables ----------------------------------------------------------------------


if TYPE_CHECKING:  # the checker sees the values the resolvers return
    EvaluationTable = annex.AnnexTable
    from projections.values import SubjectSummary as SubjectSummary
else:  # GraphQL sees the types declared from them
    record_type(annex.AnnexRow, name="EvaluationTableRow", derived={"grade_label": str | None})
    EvaluationTable = record_type(
        annex.AnnexTable, name="EvaluationTable", exclude=("kind",),
        derived={"table": annex.AnnexKind, "title": str, "headers": list[str],
                 "total_label": str, "total_funds": Decimal})
    SubjectSummary = record_type(
        values.SubjectSummary, exclude=("subject_id", "seq_key"),
        derived={"id": str, "grade_label": str | None},
        descriptions={"valid_from": "the position this row became current"})


if TYPE_CHECKING:
    ResultsLedger = results_ledger.ResultsLedger
    FiscalYearCycle = fiscal_year.FiscalYearCycle
else:
    record_type(results_ledger.ResultsLedgerRow)
    record_type(results_ledger.RequestLine)
    record_type(TransferAllocation)
    ResultsLedger = record_type(results_ledger.ResultsLedger)
    FiscalYearCycle = record_type(fiscal_year.FiscalYearCycle)


# -- coverage --------------------------------------------------------------------------------


@strawberry.type
class MonitoringRoundCoverage:
    round_name: str
    subjects: int
    funds: Decimal
    warnings: int


@strawberry.type
class GradeCount:
    grade: Grade
    label: str
    count: int


@strawberry.type(description="How far each lifecycle step reached in a fiscal year.")
class Coverage:
    fiscal_year: int
    units: int
    subjects: int
    project_subjects: int
    funds: Decimal
    subjects_with_approved_goals: int
    projects_with_approved_goals: int
    funds_with_approved_goals: Decimal
    project_funds_with_approved_goals: Decimal
    monitoring_rounds: list[MonitoringRoundCoverage]
    self_evaluation_coverage: Decimal = strawberry.field(description="percent of subjects")
    project_self_evaluation_coverage: Decimal
    department_self_evaluation_coverage: Decimal
    spot_checked_subjects: int
    spot_checked_units: int
    spot_checked_funds: Decimal
    grade_distribution: list[GradeCount]
    priority_subjects: int
    reduced_amount: Decimal
    cancelled_subjects: int
    recovered_amount: Decimal
    statements: list[str] = strawberry.field(description="the coverage in the report's words")

    @classmethod
    def of(cls, c: values.Coverage) -> Coverage:
        plain = {k: getattr(c, k) for k in (
            "fiscal_year", "units", "subjects", "project_subjects", "funds",
            "subjects_with_approved_goals", "projects_with_approved_goals",
            "funds_with_approved_goals", "project_funds_with_approved_goals",
            "self_evaluation_coverage", "project_self_evaluation_coverage",
            "department_self_evaluation_coverage", "spot_checked_subjects",
            "spot_checked_units", "spot_checked_funds", "priority_subjects", "reduced_amount",
            "cancelled_subjects", "recovered_amount")}
        rounds = [MonitoringRoundCoverage(round_name=r.round_name, subjects=r.subjects,
                                          funds=r.funds, warnings=r.warnings)
                  for r in c.monitoring_rounds]
        counts = [GradeCount(grade=Grade(g.value), label=g.label,
                             count=int(c.grade_distribution.get(g.label, 0))) for g in grades.Grade]
        return cls(monitoring_rounds=rounds, grade_distribution=counts,
                   statements=c.statements(), **plain)


# -- subjects ----------------------------------------------------------------------------------


@strawberry.type(description="A subject in a page. (No per-edge cursor yet: the keyset key is "
                 "not among the read model's summary fields; page with pageInfo.endCursor.)")
class SubjectEdge:
    node: SubjectSummary


@strawberry.type
class SubjectConnection:
    edges: list[SubjectEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: values.Page[values.SubjectSummary]) -> SubjectConnection:
        return cls(edges=[SubjectEdge(node=s) for s in page.items],
                   page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor))


# -- the audit trail and the raw log ------------------------------------------------------------


@strawberry.type(description="One event as the audit trail shows it.")
class AuditEntry:
    position: int
    recorded_at: datetime
    type: str
    aggregate_id: str
    version: int
    subject_id: str | None
    unit_code: str | None
    actor_id: str | None
    actor_role: str | None
    command_id: str | None
    effective_on: date | None
    corrects_position: int | None
    changes: JSON

    @classmethod
    def of(cls, e: values.AuditEntry) -> AuditEntry:
        return cls(position=e.position, recorded_at=e.recorded_at, type=e.type,
                   aggregate_id=e.aggregate_id, version=e.version, subject_id=e.subject_id,
                   unit_code=e.unit_code, actor_id=e.actor_id, actor_role=e.actor_role,
                   command_id=e.command_id, effective_on=e.effective_on,
                   corrects_position=e.corrects_position, changes=jsonable(e.changes))


@strawberry.type
class AuditEdge:
    cursor: str
    node: AuditEntry


@strawberry.type
class AuditConnection:
    edges: list[AuditEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: values.Page[values.AuditEntry]) -> AuditConnection:
        return cls(edges=[AuditEdge(cursor=str(e.position), node=AuditEntry.of(e))
                          for e in page.items],
                   page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor))


@strawberry.type(description="One event of the global log, decoded.")
class LogEvent:
    position: int
    recorded_at: datetime
    type: str
    aggregate_id: str
    version: int
    actor_id: str | None
    actor_role: str | None
    command_id: str | None
    effective_on: date | None
    payload: JSON

    @classmethod
    def of(cls, r: LogRecord) -> LogEvent:
        meta = r.meta
        return cls(position=r.position, recorded_at=r.recorded_at, type=r.type,
                   aggregate_id=str(r.aggregate_id), version=r.version,
                   actor_id=meta.actor_id if meta else None,
                   actor_role=meta.actor_role if meta else None,
                   command_id=meta.command_id if meta else None,
                   effective_on=meta.effective_on if meta else None,
                   payload=jsonable(r.payload))


@strawberry.type
class LogEdge:
    cursor: str
    node: LogEvent


@strawberry.type(description="A page of the raw log; positions ascend but may have gaps.")
class LogConnection:
    edges: list[LogEdge]
    page_info: PageInfo


# -- disclosure and restatements -----------------------------------------------------------------


@strawberry.type(description="A recorded disclosure: exactly what was disclosed, and its hash.")
class Disclosure:
    id: str
    position: int
    recorded_at: datetime
    fiscal_year: int
    audience: Audience
    title: str
    subject_codes: list[str]
    content_hash: str
    content_position: int
    checkpoint: JSON | None

    @classmethod
    def of(cls, d: values.DisclosureRecord) -> Disclosure:
        return cls(id=d.disclosure_id, position=d.position, recorded_at=d.recorded_at,
                   fiscal_year=d.fiscal_year, audience=Audience(d.audience), title=d.title,
                   subject_codes=list(d.subject_codes), content_hash=d.content_hash,
                   content_position=d.content_position,
                   checkpoint=None if d.checkpoint is None else jsonable(d.checkpoint))


@strawberry.type
class DisclosurePackage:
    fiscal_year: int
    audience: Audience
    disclosures: list[Disclosure]
    subjects: list[SubjectSummary]

    @classmethod
    def of(cls, p: values.DisclosurePackage) -> DisclosurePackage:
        return cls(fiscal_year=p.fiscal_year, audience=Audience(p.audience),
                   disclosures=[Disclosure.of(d) for d in p.disclosures],
                   subjects=list(p.subjects))


@strawberry.type(description="A cell of an annex table that changed between two moments, with "
                 "the corrections recorded in between.")
class Restatement:
    subject_id: str
    subject_name: str
    field: str
    before: str | None
    after: str | None
    corrections: list[AuditEntry]

    @classmethod
    def of(cls, r: values.Restatement) -> Restatement:
        return cls(subject_id=r.subject_id, subject_name=r.subject_name, field=r.field,
                   before=r.before, after=r.after,
                   corrections=[AuditEntry.of(e) for e in r.corrections])
