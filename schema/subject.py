"""One subject's whole lifecycle as typed GraphQL objects, pinned to the enclosing moment.

The read model hands over the aggregate's state as dictionaries; typing them here means
clients see the indicator tree, monitoring snapshots and evaluations as fields, not blobs.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON

from ledger.log import jsonable
from projections import values
from projections.views import ReadModel
from schema.context import Information, services
from schema.fields import field
from schema.paging import check_page
from schema.types import (
    AnnexKind,
    AuditConnection,
    Grade,
    SubjectSummary,
    annex_of,
    grade_of,
    label_of,
    money,
)


def opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def opt_day(value: Any) -> date | None:
    return None if value is None else day(value)


@strawberry.type(description="A third-level indicator (三级指标) with its place in the tree.")
class GoalIndicator:
    level1: str
    level2: str
    name: str
    comparator: str
    target: str
    unit: str
    weight: Decimal
    library_code: str | None


@strawberry.type
class NamedText:
    name: str
    text: str


@strawberry.type(description="事前绩效评估: one opinion per dimension and a conclusion.")
class ExAnteAssessment:
    id: str
    dimensions: list[NamedText]
    conclusion: str
    remarks: str


@strawberry.type
class IndicatorProgress:
    name: str
    actual: str
    progress: Decimal | None
    expected_completion: str
    likelihood: str
    deviation_cause: str | None
    corrective_measures: str


@strawberry.type
class MonitoringWarning:
    code: str
    indicator: str | None
    message: str


@strawberry.type(description="A monitoring snapshot (绩效运行监控) for one window.")
class MonitoringSnapshot:
    id: str
    round_name: str
    window_start: date
    window_end: date
    budget_amount: Decimal
    executed_amount: Decimal
    execution_rate: Decimal
    indicators: list[IndicatorProgress]
    warnings: list[MonitoringWarning]
    rule_version: int | None


@strawberry.type
class NamedPoints:
    name: str
    points: Decimal


@strawberry.type(description="绩效自评: the score and its parts.")
class SelfEvaluation:
    score: Decimal
    parts: list[NamedPoints]


@strawberry.type
class DimensionScore:
    name: str
    weight: Decimal
    score: Decimal


@strawberry.type(description="A finance, department or third-party evaluation.")
class Evaluation:
    id: str
    kind: str
    commission_id: str | None
    agency_code: str | None
    dimensions: list[DimensionScore]
    score: Decimal
    findings: list[str]
    narrative: str
    evaluated_on: date


@strawberry.type(description="抽查复核: a re-review of an evaluation or of the self-evaluation.")
class SpotCheck:
    id: str
    reviews: str
    score: Decimal
    findings: list[str]


@strawberry.type(description="The grade and the score it rests on.")
class GradeAssignment:
    grade: Grade
    label: str
    score: Decimal
    basis_kind: str
    basis_id: str
    scale_version: int
    graded_on: date | None


@strawberry.type(description="结果运用: a consequence, citing what justified it.")
class Consequence:
    id: str
    kind: str
    amount: Decimal | None
    cites_kind: str
    cites_id: str
    remarks: str


@strawberry.type(description="整改: requested items, the reports, and where it stands.")
class Rectification:
    id: str
    items: list[str]
    deadline: date
    status: str
    reports: list[str]


@strawberry.type(description="A correction of one of this subject's events.")
class Correction:
    version: int
    event: str
    values: JSON
    reason: str


@strawberry.type(description="One evaluation subject with its whole lifecycle, as of the "
                 "enclosing moment.")
class Subject:
    moment: strawberry.Private[values.Moment]
    read: strawberry.Private[ReadModel]  # the views this subject was read from
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
    self_evaluation: SelfEvaluation | None
    evaluations: list[Evaluation]
    spot_checks: list[SpotCheck]
    grading: GradeAssignment | None
    consequences: list[Consequence]
    rectifications: list[Rectification]
    corrections: list[Correction]

    @field(description="This subject's events up to the enclosing moment.")
    async def audit_trail(self, info: Information, first: int = 50,
                          after: str | None = None) -> AuditConnection:
        first = check_page(first, after)
        page = await services(info).run(self.read.audit_trail, self.moment,
                                        subject_code=self.code, first=first, after=after)
        return AuditConnection.of(page)

    @classmethod
    def of(cls, moment: values.Moment, d: values.SubjectDetail, read: ReadModel) -> Subject:
        s = d.summary
        return cls(
            moment=moment, read=read, id=s.subject_id, code=s.code, name=s.name, kind=s.kind,
            fiscal_year=s.fiscal_year, unit_code=s.unit_code, unit_name=s.unit_name,
            funds=s.funds, is_key=s.is_key, is_new=s.is_new, tags=list(s.tags),
            goal_status=s.goal_status, grade=grade_of(s.grade), grade_label=label_of(s.grade),
            score=s.score, annex=annex_of(s.annex), version=s.version,
            summary=SubjectSummary.of(s),
            goals=[goal(i) for i in d.goals],
            ex_ante=[ExAnteAssessment(id=str(e["id"]), conclusion=str(e["conclusion"]),
                                      remarks=str(e.get("remarks", "")),
                                      dimensions=[NamedText(name=str(k), text=str(v))
                                                  for k, v in e["dimensions"].items()])
                     for e in d.ex_ante],
            monitoring=[snapshot(m) for m in d.monitoring],
            self_evaluation=None if d.self_evaluation is None else SelfEvaluation(
                score=Decimal(d.self_evaluation["score"]),
                parts=[NamedPoints(name=str(k), points=Decimal(v))
                       for k, v in d.self_evaluation.get("parts", {}).items()]),
            evaluations=[evaluation(e) for e in d.evaluations],
            spot_checks=[SpotCheck(id=str(c["id"]), reviews=str(c["reviews"]),
                                   score=Decimal(c["score"]),
                                   findings=[str(f) for f in c["findings"]])
                         for c in d.spot_checks],
            grading=None if d.grade is None else grading(d.grade),
            consequences=[Consequence(id=str(r["id"]), kind=str(r["kind"]),
                                      amount=money(r.get("amount")),
                                      cites_kind=str(r["cites_kind"]),
                                      cites_id=str(r["cites_id"]),
                                      remarks=str(r.get("remarks", "")))
                          for r in d.consequences],
            rectifications=[Rectification(id=str(r["id"]), items=[str(i) for i in r["items"]],
                                          deadline=day(r["deadline"]), status=str(r["status"]),
                                          reports=[str(x) for x in r["reports"]])
                            for r in d.rectifications],
            corrections=[Correction(version=int(c["version"]), event=str(c["event"]),
                                    values=jsonable(c["values"]), reason=str(c["reason"]))
                         for c in d.corrections])


def goal(i: dict[str, Any]) -> GoalIndicator:
    return GoalIndicator(level1=str(i["level1"]), level2=str(i["level2"]), name=str(i["name"]),
                         comparator=str(i["comparator"]), target=str(i["target"]),
                         unit=str(i.get("unit", "")), weight=Decimal(i["weight"]),
                         library_code=opt_text(i.get("library_code")))


def snapshot(m: dict[str, Any]) -> MonitoringSnapshot:
    return MonitoringSnapshot(
        id=str(m["id"]), round_name=str(m["round"]), window_start=day(m["window_start"]),
        window_end=day(m["window_end"]), budget_amount=Decimal(m["budget_amount"]),
        executed_amount=Decimal(m["executed_amount"]),
        execution_rate=Decimal(m["execution_rate"]),
        indicators=[IndicatorProgress(
            name=str(p["name"]), actual=str(p.get("actual", "")), progress=money(p.get("progress")),
            expected_completion=str(p.get("expected_completion", "")),
            likelihood=str(p["likelihood"]), deviation_cause=opt_text(p.get("deviation_cause")),
            corrective_measures=str(p.get("corrective_measures", ""))) for p in m["indicators"]],
        warnings=[MonitoringWarning(code=str(w["code"]), indicator=opt_text(w.get("indicator")),
                                    message=str(w["message"])) for w in m["warnings"]],
        rule_version=m.get("rule_version"))


def evaluation(e: dict[str, Any]) -> Evaluation:
    return Evaluation(
        id=str(e["id"]), kind=str(e["kind"]), commission_id=opt_text(e.get("commission_id")),
        agency_code=opt_text(e.get("agency_code")),
        dimensions=[DimensionScore(name=str(x["name"]), weight=Decimal(x["weight"]),
                                   score=Decimal(x["score"])) for x in e["dimensions"]],
        score=Decimal(e["score"]), findings=[str(f) for f in e["findings"]],
        narrative=str(e["narrative"]), evaluated_on=day(e["evaluated_on"]))


def grading(g: dict[str, Any]) -> GradeAssignment:
    found = grade_of(str(g["grade"]))
    assert found is not None
    return GradeAssignment(grade=found, label=str(label_of(str(g["grade"]))),
                           score=Decimal(g["score"]), basis_kind=str(g["basis_kind"]),
                           basis_id=str(g["basis_id"]), scale_version=int(g["scale_version"]),
                           graded_on=opt_day(g.get("graded_on")))
