"""What the views return: plain frozen values, independent of storage and of GraphQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from ledger.annex import AnnexKind
from ledger.domain import records
from ledger.domain.goal_records import GoalTable
from ledger.domain.monitoring_round import WarningAction
from ledger.grades import Grade

T = TypeVar("T")


@dataclass(frozen=True)
class Moment:
    """A point on the recorded-time axis: every answer says which one it is."""

    position: int  # the last event position the answer includes
    recorded_at: datetime | None  # when that event was recorded
    effective_on: date | None = None  # "as currently known, effective on D" (None = all)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    end_cursor: str | None


@dataclass(frozen=True)
class SubjectSummary:
    """A subject as one row: what lists and filters show."""

    subject_id: str
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
    score: Decimal | None
    annex: AnnexKind | None
    version: int
    valid_from: int  # the position this row became current
    seq_key: int  # registration position: the order of the annex rows and the paging key

    @property
    def id(self) -> str:
        return self.subject_id

    @property
    def grade_label(self) -> str | None:
        return None if self.grade is None else self.grade.label


@dataclass(frozen=True)
class SubjectDetail:
    """A subject's summary row and its whole lifecycle, as the aggregate's records."""

    summary: SubjectSummary
    goals: tuple[records.GoalIndicator, ...]
    ex_ante: tuple[records.ExAnteAssessment, ...]
    monitoring: tuple[records.MonitoringSnapshot, ...]
    self_evaluation: records.SelfEvaluation | None
    evaluations: tuple[records.Evaluation, ...]
    spot_checks: tuple[records.SpotCheck, ...]
    grade: records.GradeAssignment | None
    consequences: tuple[records.Consequence, ...]
    rectifications: tuple[records.Rectification, ...]
    corrections: tuple[records.Correction, ...]
    goal_table: GoalTable | None = None  # 绩效目标表: header, indicators, review history
    warning_actions: tuple[WarningAction, ...] = ()  # what followed monitoring warnings
    # Every version of the self-evaluation table, with its review (self_evaluation is the
    # latest accepted one).
    self_evaluations: tuple[records.SelfEvaluation, ...] = ()
    predecessor_code: str = ""  # 延续项目: the year before's subject, if it names one


@dataclass(frozen=True)
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
    changes: dict[str, Any]


@dataclass(frozen=True)
class RoundCoverage:
    round_name: str
    subjects: int
    funds: Decimal
    warnings: int


@dataclass(frozen=True)
class Coverage:
    fiscal_year: int
    units: int  # units with at least one subject in the year
    subjects: int
    project_subjects: int
    funds: Decimal
    subjects_with_approved_goals: int
    projects_with_approved_goals: int
    funds_with_approved_goals: Decimal
    project_funds_with_approved_goals: Decimal
    monitoring_rounds: list[RoundCoverage]
    self_evaluation_coverage: Decimal  # percent of subjects with a self-evaluation
    project_self_evaluation_coverage: Decimal
    department_self_evaluation_coverage: Decimal
    spot_checked_subjects: int
    spot_checked_units: int
    spot_checked_funds: Decimal
    grade_distribution: dict[str, int]
    priority_subjects: int
    reduced_amount: Decimal
    cancelled_subjects: int
    recovered_amount: Decimal

    def statements(self) -> list[str]:
        """The coverage in the words of the annual report."""
        yi = (self.project_funds_with_approved_goals / Decimal(10000)).quantize(Decimal("0.01"))
        lines = [f"{self.fiscal_year}年实现全区{self.units}家预算单位全覆盖、预算项目共"
                 f"{self.projects_with_approved_goals}个项目支出预算绩效全覆盖，涉及资金{yi}亿元"]
        for r in self.monitoring_rounds:
            lines.append(f"{r.round_name}：跟踪监控项目{r.subjects}个，监控资金{r.funds}万元")
        lines.append(f"项目支出绩效自评覆盖率{self.project_self_evaluation_coverage.normalize():f}%，"
                     f"部门整体支出绩效自评覆盖率"
                     f"{self.department_self_evaluation_coverage.normalize():f}%")
        return lines


@dataclass(frozen=True)
class DisclosureRecord:
    disclosure_id: str
    position: int
    recorded_at: datetime
    fiscal_year: int
    audience: str
    title: str
    subject_codes: list[str]
    content_hash: str
    content_position: int
    checkpoint: dict[str, Any] | None


@dataclass(frozen=True)
class DisclosurePackage:
    fiscal_year: int
    audience: str
    disclosures: list[DisclosureRecord]
    subjects: list[SubjectSummary] = field(default_factory=list)


class RestatedTable(StrEnum):
    """The tables a change is in: the two annex tables and the results ledger."""

    KEY_PROJECTS = AnnexKind.KEY_PROJECTS.value  # 附件1
    DEPARTMENT_OVERALL = AnnexKind.DEPARTMENT_OVERALL.value  # 附件2
    RESULTS_LEDGER = "results-ledger"  # 结果应用台账

    @property
    def label(self) -> str:
        return TABLE_LABELS[self]


TABLE_LABELS = {RestatedTable.KEY_PROJECTS: "附件1", RestatedTable.DEPARTMENT_OVERALL: "附件2",
                RestatedTable.RESULTS_LEDGER: "结果应用台账"}


class ChangedPart(StrEnum):
    """Which part of a table a change is in."""

    ROW = "row"  # the table's own row: an annex row, or a consequence of the results ledger
    REQUEST = "request"  # the results ledger: a next-year budget request
    TRANSFER = "transfer"  # the results ledger: a next-year transfer allocation
    TOTAL = "total"  # a total (合计) of the table


class RowChange(StrEnum):
    """What happened to the row a changed cell is in."""

    ADDED = "added"  # listed only after: every `before` is None
    CHANGED = "changed"
    REMOVED = "removed"  # listed only before: every `after` is None


@dataclass(frozen=True)
class CellChange:
    """One cell of a table that differs between two states, as its text before and after
    (null when the cell is empty or the row not listed then: `change` tells which)."""

    table: RestatedTable
    part: ChangedPart
    key: str  # the row within its part: a subject id, a consequence id, a request's code
    change: RowChange
    subject_id: str  # the subject the row is about, or ""
    subject_name: str  # the row's name: a subject's, a request's project, 合计 for a total
    field: str  # the record's field, as named in Python (snake_case)
    before: str | None
    after: str | None

    @property
    def table_label(self) -> str:
        return self.table.label


@dataclass(frozen=True)
class Restatement:
    subject_id: str
    subject_name: str
    field: str
    before: str | None
    after: str | None
    corrections: list[AuditEntry]
