"""What a subject's state is made of: one frozen record per lifecycle fact (docs/domain.md §2).

The aggregate's `@event` bodies build these from the event's fields; the read side and the
API read their attributes. They are frozen dataclasses rather than pydantic models: a rebuild
builds millions of them from already-validated events, so they must be as cheap as a tuple,
and validation belongs to the commands (`ledger/commands.py`), not to the state.

Stored events are unchanged: events carry plain values (lists of dicts); `of(...)` reads
those payloads, tolerating the optional keys older events lack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from ledger.domain.record_values import as_decimal as _decimal
from ledger.domain.record_values import opt_decimal as _opt_decimal
from ledger.domain.review_records import FrameworkRef, IndicatorReview
from ledger.domain.self_evaluation_records import (
    SelfEvaluationBudgetLine,
    SelfEvaluationIndicator,
    SelfEvaluationTotal,
)
from ledger.grades import Grade


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class GoalIndicator:
    """A third-level indicator (三级指标) of the goals, with its place in the tree."""

    level1: str
    level2: str
    name: str
    comparator: str  # >=, <=, = or qualitative
    target: str
    unit: str
    weight: Decimal
    library_code: str | None

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> GoalIndicator:
        return cls(level1=str(d["level1"]), level2=str(d["level2"]), name=str(d["name"]),
                   comparator=str(d["comparator"]), target=str(d["target"]),
                   unit=str(d.get("unit") or ""), weight=_decimal(d["weight"]),
                   library_code=_opt_text(d.get("library_code")))


@dataclass(frozen=True, slots=True)
class NamedText:
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class ExAnteAssessment:
    """事前绩效评估: one opinion per dimension and a conclusion."""

    id: str
    dimensions: tuple[NamedText, ...]
    conclusion: str
    remarks: str


@dataclass(frozen=True, slots=True)
class IndicatorProgress:
    """How far one indicator got by the end of a monitoring window."""

    name: str
    actual: str
    progress: Decimal | None
    expected_completion: str
    likelihood: str
    deviation_cause: str | None
    corrective_measures: str

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> IndicatorProgress:
        return cls(name=str(d["name"]), actual=str(d.get("actual") or ""),
                   progress=_opt_decimal(d.get("progress")),
                   expected_completion=str(d.get("expected_completion") or ""),
                   likelihood=str(d["likelihood"]),
                   deviation_cause=_opt_text(d.get("deviation_cause")),
                   corrective_measures=str(d.get("corrective_measures") or ""))


@dataclass(frozen=True, slots=True)
class MonitoringWarning:
    code: str
    indicator: str | None
    message: str

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> MonitoringWarning:
        return cls(code=str(d["code"]), indicator=_opt_text(d.get("indicator")),
                   message=str(d["message"]))


@dataclass(frozen=True, slots=True)
class MonitoringSnapshot:
    """A monitoring snapshot (绩效运行监控) for one window."""

    id: str
    round_name: str
    window_start: date
    window_end: date
    budget_amount: Decimal
    executed_amount: Decimal
    execution_rate: Decimal
    indicators: tuple[IndicatorProgress, ...]
    warnings: tuple[MonitoringWarning, ...]
    rule_version: int | None
    round_id: str | None = None  # the round it reports for (snapshots before rounds: none)
    reported_on: date | None = None  # its effective date: on time or late against the round


@dataclass(frozen=True, slots=True)
class NamedPoints:
    name: str
    points: Decimal


@dataclass(frozen=True, slots=True)
class SelfEvaluation:
    """绩效自评: one submitted version of the self-evaluation table, its score and its parts,
    and where the finance bureau's review left it (submitted, accepted or returned).

    A version stored by a build without the table or the review has no rows and counts as
    accepted (docs/domain.md, 绩效自评)."""

    score: Decimal
    parts: tuple[NamedPoints, ...]
    version: int = 1
    status: str = "accepted"  # submitted, accepted, returned
    rule_version: int | None = None
    rule: str = ""  # the scoring rule as applied (SelfEvaluationWeights.describe)
    initial_budget: Decimal | None = None
    full_year_budget: Decimal | None = None
    executed: Decimal | None = None
    execution_rate: Decimal | None = None
    budget_lines: tuple[SelfEvaluationBudgetLine, ...] = ()
    indicators: tuple[SelfEvaluationIndicator, ...] = ()
    totals: tuple[SelfEvaluationTotal, ...] = ()
    submitted_on: date | None = None
    submitted_by: str | None = None
    reviewed_on: date | None = None
    review_reasons: tuple[str, ...] = ()
    review_comments: str = ""


@dataclass(frozen=True, slots=True)
class Commission:
    """Who commissioned which agency to do whose evaluation of the subject."""

    id: str
    agency_code: str
    commissioned_by: str  # the commissioning unit's code
    kind: str  # the evaluation the agency does: finance (财政评价) or department (部门评价)
    framework: FrameworkRef | None = None  # chosen at commissioning, if it was


@dataclass(frozen=True, slots=True)
class DimensionScore:
    name: str
    weight: Decimal
    score: Decimal

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> DimensionScore:
        return cls(name=str(d["name"]), weight=_decimal(d["weight"]), score=_decimal(d["score"]))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A 财政评价 (kind finance) or 部门评价 (kind department), with the agency and the
    commission when an agency did the work.

    One known only by its published grade (an imported annex row) has no dimensions and no
    score: `score` is None and `published_grade` says what was published.
    """

    id: str
    kind: str
    commission_id: str | None
    agency_code: str | None
    dimensions: tuple[DimensionScore, ...]
    score: Decimal | None
    published_grade: Grade | None
    findings: tuple[str, ...]
    narrative: str
    evaluated_on: date
    framework: FrameworkRef | None = None  # what it was scored on (ledger.frameworks)


@dataclass(frozen=True, slots=True)
class SpotCheck:
    """抽查复核: a re-review of an evaluation or of the self-evaluation."""

    id: str
    reviews: str  # an evaluation id, or "self"
    score: Decimal
    findings: tuple[str, ...]
    plan_id: str | None = None  # the sampling plan that drew the subject
    reviewed_score: Decimal | None = None  # the score reviewed, when the review was recorded
    indicators: tuple[IndicatorReview, ...] = ()
    reviewed_on: date | None = None

    @property
    def difference(self) -> Decimal | None:
        """复核得分 − the score reviewed (自评 or the evaluation's)."""
        return None if self.reviewed_score is None else self.score - self.reviewed_score


@dataclass(frozen=True, slots=True)
class GradeAssignment:
    """The grade and the score it rests on (no score when it rests on a published grade only)."""

    grade: Grade
    score: Decimal | None
    basis_kind: str
    basis_id: str
    scale_version: int
    graded_on: date | None

    @property
    def label(self) -> str:
        return self.grade.label


@dataclass(frozen=True, slots=True)
class Consequence:
    """结果运用: a consequence, citing what justified it."""

    id: str
    kind: str  # priority, maintain, reduce, cancel, recover
    amount: Decimal | None
    cites_kind: str
    cites_id: str
    remarks: str
    # Added with the results ledger; consequences stored before carry the defaults.
    basis_position: int | None = None  # the log position of the cited event
    basis_grade: Grade | None = None  # the grade the rule was read for
    rule_version: int | None = None
    rule_wording: str = ""
    target_fiscal_year: int | None = None
    target_kind: str = "subject"  # subject, budget_request, unit, transfer
    target_id: str = ""
    percentage: Decimal | None = None
    override_reason: str = ""  # set when the consequence contradicts the rule
    applied_on: date | None = None


@dataclass(frozen=True, slots=True)
class Rectification:
    """整改: requested items, the reports, and where it stands."""

    id: str
    items: tuple[str, ...]
    deadline: date
    status: str  # requested, reported, returned, accepted
    reports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgencyAssessment:
    """A yearly quality assessment of a third-party agency (第三方机构执业质量评价)."""

    year: int
    score: Decimal
    rating: str
    remarks: str


CorrectedValue = str | Decimal | date | bool  # what the correctable fields' parsers return


@dataclass(frozen=True, slots=True)
class Correction:
    """A correction of one of the aggregate's events: which one, the new values, why."""

    version: int
    event: str
    values: Mapping[str, CorrectedValue]
    reason: str


R = TypeVar("R")


def restate(record: R, values: Mapping[str, CorrectedValue]) -> R:
    """The record with corrected fields (a correction's field names are the record's)."""
    changes: dict[str, Any] = dict(values)
    return replace(record, **changes)  # type: ignore[type-var]
