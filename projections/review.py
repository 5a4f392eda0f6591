"""The spot-check review as of a moment: the sampling plans, the review result table (复评结果,
as the finance bureau publishes it on its portal) and the frameworks in force.

Everything is read from the aggregates at the versions they had at the moment (the subjects
through ReadModel.subject, the plans and the rule book through the event index), so it
answers "as of" like every other view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from ledger.domain.base import type_name
from ledger.domain.evaluation_rules import SELF
from ledger.domain.records import SpotCheck
from ledger.domain.registry import RULEBOOK_ID, RuleBook
from ledger.domain.review_records import IndicatorReview, SampledSubject
from ledger.domain.sampling import SamplingPlan
from ledger.frameworks import Framework
from ledger.grades import Grade
from ledger.rules import DEFAULT_RULES, RuleSet
from ledger.sampling import METHOD_LABELS
from projections.values import Moment, SubjectDetail
from projections.views import ReadModel

REVIEWED_LABELS = {"self": "单位自评", "finance": "财政评价", "department": "部门评价"}


@dataclass(frozen=True, slots=True)
class SamplingPlanRecord:
    """抽查复核计划: the subjects drawn, their units, and how they were chosen."""

    plan_id: str
    fiscal_year: int
    title: str
    method: str  # random (随机抽取) or key (重点抽取)
    method_label: str
    seed: str | None
    population: tuple[str, ...]
    subjects: tuple[SampledSubject, ...]
    unit_codes: tuple[str, ...]
    drawn_on: date | None


@dataclass(frozen=True, slots=True)
class ReviewResultRow:
    """One row of 复评结果: a re-review of one subject, against the score it reviews."""

    seq: int
    subject_code: str
    subject_name: str
    unit_code: str
    unit_name: str
    funds: Decimal
    plan_id: str | None
    plan_title: str | None
    method_label: str | None
    spot_check_id: str
    reviewed: str  # 单位自评, 财政评价 or 部门评价
    reviewed_score: Decimal | None
    review_score: Decimal
    difference: Decimal | None  # 复评得分 − 原得分
    review_grade: Grade
    findings: tuple[str, ...]
    indicators: tuple[IndicatorReview, ...]
    reviewed_on: date | None

    @property
    def review_grade_label(self) -> str:
        return self.review_grade.label


@dataclass(frozen=True, slots=True)
class ReviewResults:
    """复评结果 of a fiscal year."""

    fiscal_year: int
    title: str
    rows: tuple[ReviewResultRow, ...]
    plans: tuple[SamplingPlanRecord, ...]


def title_for(fiscal_year: int) -> str:
    return f"{fiscal_year}年度绩效评价抽查复评结果"


def plans_at(read: ReadModel, moment: Moment, fiscal_year: int) -> list[SamplingPlanRecord]:
    drawn = read.events_of_type(type_name(SamplingPlan.Drawn), moment)
    found: list[SamplingPlanRecord] = []
    for entry in drawn:
        plan = _at(read, entry.aggregate_id, moment)
        assert isinstance(plan, SamplingPlan)
        if plan.fiscal_year != fiscal_year:
            continue
        if moment.effective_on is not None and plan.drawn_on is not None \
                and plan.drawn_on > moment.effective_on:
            continue
        found.append(SamplingPlanRecord(
            plan_id=plan.plan_id, fiscal_year=plan.fiscal_year, title=plan.title,
            method=plan.method, method_label=METHOD_LABELS.get(plan.method, plan.method),
            seed=plan.seed, population=plan.population, subjects=plan.subjects,
            unit_codes=plan.unit_codes, drawn_on=plan.drawn_on))
    return found


def _at(read: ReadModel, aggregate_id: str, moment: Moment) -> object:
    found = read.rows("SELECT MAX(version) FROM event_index WHERE aggregate_id = ? AND "
                      "position <= ?", (aggregate_id, moment.position))
    return read.ledger.load(UUID(aggregate_id), version=int(found[0][0]))


def rules_at(read: ReadModel, moment: Moment, on: date) -> RuleSet:
    """The rule set in force on `on`, as the rule book stood at the moment."""
    found = read.rows("SELECT MAX(version) FROM event_index WHERE aggregate_id = ? AND "
                      "position <= ?", (str(RULEBOOK_ID), moment.position))
    if not found or found[0][0] is None:
        return DEFAULT_RULES
    book = read.ledger.load(RULEBOOK_ID, version=int(found[0][0]))
    assert isinstance(book, RuleBook)
    version = book.in_force(on)
    return RuleSet.model_validate(version) if version else DEFAULT_RULES


def frameworks_at(read: ReadModel, moment: Moment, on: date) -> tuple[Framework, ...]:
    return rules_at(read, moment, on).frameworks


def review_results(read: ReadModel, moment: Moment, fiscal_year: int) -> ReviewResults:
    """Every re-review of the year's subjects recorded by the moment, in subject order."""
    plans = {p.plan_id: p for p in plans_at(read, moment, fiscal_year)}
    scale = rules_at(read, moment, date(fiscal_year, 12, 31)).grade_scale
    rows: list[ReviewResultRow] = []
    for row in read.year_rows(moment, fiscal_year):
        if not int(row.spot_checks):
            continue
        subject = read.subject(moment, row.code)
        if subject is None:
            continue
        for check in subject.spot_checks:
            if moment.effective_on is not None and check.reviewed_on is not None \
                    and check.reviewed_on > moment.effective_on:
                continue
            plan = plans.get(check.plan_id or "")
            rows.append(ReviewResultRow(
                seq=len(rows) + 1, subject_code=row.code, subject_name=row.name,
                unit_code=row.unit_code, unit_name=row.unit_name,
                funds=subject.summary.funds, plan_id=check.plan_id,
                plan_title=None if plan is None else plan.title,
                method_label=None if plan is None else plan.method_label,
                spot_check_id=check.id, reviewed=reviewed_label(subject, check),
                reviewed_score=check.reviewed_score, review_score=check.score,
                difference=check.difference, review_grade=scale.grade_for(check.score),
                findings=check.findings, indicators=check.indicators,
                reviewed_on=check.reviewed_on))
    return ReviewResults(fiscal_year=fiscal_year, title=title_for(fiscal_year),
                         rows=tuple(rows), plans=tuple(plans.values()))


def reviewed_label(subject: SubjectDetail, check: SpotCheck) -> str:
    if check.reviews == SELF:
        return REVIEWED_LABELS["self"]
    kind = next((e.kind for e in subject.evaluations if e.id == check.reviews), "")
    return REVIEWED_LABELS.get(kind, kind)
