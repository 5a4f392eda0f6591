"""Commands: what a client asks the ledger to do, validated before anything is recorded.

Names are imperatives; each has a client-supplied command_id for idempotent retry.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from ledger.grades import Grade
from ledger.money import Money
from ledger.text import check_name, check_nested, check_text, parse_decimal_text

# Every string a command carries is one of these, so every one passes the rule in ledger.text
# (tests/security/test_boundary.py checks that no bare str is left).
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000),
                 BeforeValidator(check_text)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000),
                 BeforeValidator(check_text)]
"""Free text that may be left empty (remarks, comments)."""
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000),
                 BeforeValidator(check_name)]
"""What something is called (a unit, subject, indicator, agency, disclosure title)."""
Label = Annotated[str, BeforeValidator(check_name)]
"""A short identifier or label with no format of its own (an evaluation's id, a unit of
measure): held to the name rule."""
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                        pattern=r"^[0-9A-Za-z_.:\-]+$"),
                 BeforeValidator(check_name)]
JsonObject = Annotated[dict[str, Any], BeforeValidator(check_nested)]
"""A JSON object whose strings, at any depth, pass the text rule (its keys the name rule)."""


def no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("floats are refused; send a decimal string")
    return value


Score = Annotated[Decimal, BeforeValidator(no_float), BeforeValidator(parse_decimal_text),
                  Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False)]
Points = Score  # a weight or a dimension's points on the 100-point scale
Year = Annotated[int, Field(ge=2000, le=2100)]
SubjectKind = Literal["project", "policy", "department_overall", "township", "subdistrict",
                      "fiscal_operations"]  # ledger.subject_kinds.LABELS


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    command_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8,
                                                 max_length=128), BeforeValidator(check_name)]
    effective_on: date | None = None

    # Fields the server fills in before the ledger records the command, never a caller: the
    # API's input leaves them out (schema.inputs), and a command id stands for the request
    # without them (runtime.request_hash), so a retry replays rather than clashes.
    SERVER_FIELDS: ClassVar[frozenset[str]] = frozenset()


class RegisterUnit(Command):
    code: Code
    name: Name
    kind: Literal["finance_bureau", "department", "subordinate", "township", "street",
                  "other"] = "department"
    parent_code: Code | None = None


class RegisterSubject(Command):
    code: Code
    name: Name
    kind: SubjectKind
    fiscal_year: Year
    unit_code: Code
    funds: Money
    is_new: bool = False
    is_key: bool = False
    tags: list[Literal["民生", "债券资金", "直达资金"]] = Field(default_factory=list)
    predecessor_code: Code | None = Field(
        default=None, description="the subject of the year before this one continues (延续项目)")


class RecordExAnteAssessment(Command):
    subject_code: Code
    dimensions: dict[Literal["立项必要性", "投入经济性", "绩效目标合理性", "实施方案可行性",
                             "筹资合规性"], Text]
    conclusion: Literal["予以支持", "调整后支持", "不予支持"]
    remarks: Note = ""


class Indicator(BaseModel):
    """A third-level indicator (三级指标) with its place in the tree."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level1: Literal["产出", "效益", "满意度", "成本"]
    level2: Literal["数量", "质量", "时效", "成本", "经济效益", "社会效益", "生态效益",
                    "可持续影响", "服务对象满意度", "经济成本", "社会成本", "生态环境成本"]
    name: Name
    comparator: Literal[">=", "<=", "=", "qualitative"]
    target: Text
    unit: Label = ""
    weight: Points
    library_code: Label | None = None

    @model_validator(mode="after")
    def _numeric_target(self) -> Indicator:
        if self.comparator != "qualitative":
            try:
                parse_decimal_text(self.target)
            except ValueError:
                raise ValueError(f"target {self.target!r} must be numeric for "
                                 f"comparator {self.comparator}") from None
        return self


class FundsBySource(BaseModel):
    """资金来源 of the goal table (万元); 年度资金总额 is their sum."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    current_appropriation: Money = Field(default=Decimal("0.00"),
                                         description="本年财政拨款 (万元)")
    carried_over: Money = Field(default=Decimal("0.00"), description="上年结转 (万元)")
    other: Money = Field(default=Decimal("0.00"), description="其他资金 (万元)")


class GoalsInput(Command):
    subject_code: Code
    indicators: list[Indicator] = Field(min_length=1, max_length=500)
    overall_goal: Note = Field(default="", description="年度总体目标")
    funds_by_source: FundsBySource | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> GoalsInput:
        names = [i.name for i in self.indicators]
        if len(names) != len(set(names)):
            raise ValueError("indicator names must be unique within a subject's goals")
        return self


class DeclareGoals(GoalsInput):
    pass


class ReviewGoals(Command):
    subject_code: Code
    decision: Literal["approve", "return"]
    comments: Note = ""


class AdjustGoals(GoalsInput):
    reason: Text


Direction = Literal[">=", "<=", "=", "qualitative"]


class LibraryIndicatorInput(Command):
    """An indicator of the core indicator library (核心绩效指标库), by sector (行业/领域)."""

    code: Code
    sector: Name
    level1: Literal["产出", "效益", "满意度", "成本"]
    level2: Literal["数量", "质量", "时效", "成本", "经济效益", "社会效益", "生态效益",
                    "可持续影响", "服务对象满意度", "经济成本", "社会成本", "生态环境成本"]
    name: Name
    unit: Label = ""
    direction: Direction
    reference_value: Note = ""

    @model_validator(mode="after")
    def _numeric_reference(self) -> LibraryIndicatorInput:
        if self.direction != "qualitative" and self.reference_value:
            try:
                parse_decimal_text(self.reference_value)
            except ValueError:
                raise ValueError(f"reference value {self.reference_value!r} must be numeric "
                                 f"for direction {self.direction}") from None
        return self


class AddLibraryIndicator(LibraryIndicatorInput):
    pass


class ReviseLibraryIndicator(LibraryIndicatorInput):
    reason: Text


class RetireLibraryIndicator(Command):
    code: Code
    reason: Text


class IndicatorProgress(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    actual: Note = ""
    progress: Annotated[Decimal, BeforeValidator(no_float), BeforeValidator(parse_decimal_text),
                        Field(ge=0, le=1000, decimal_places=2)] | None = None
    expected_completion: Note = ""
    likelihood: Literal["确定能", "有可能", "完全不可能"]
    deviation_cause: Label | None = Field(
        default=None, description="偏差原因: one of the rules in force (monitoring."
        "deviation_causes; by default 经费保障, 制度保障, 人员保障, 硬件条件保障, 其他)")
    corrective_measures: Note = ""


class RecordMonitoring(Command):
    subject_code: Code
    round_name: Name
    window_start: date
    window_end: date
    budget_amount: Money
    executed_amount: Money
    indicators: list[IndicatorProgress] = Field(default_factory=list, max_length=500)
    round_id: Code | None = Field(default=None, description="the monitoring round this "
                                  "snapshot reports for (openMonitoringRound)")


class OpenMonitoringRound(Command):
    """Open a monitoring round (绩效运行监控): its window, the subjects in scope, the due date."""

    round_id: Code
    name: Name
    fiscal_year: Year
    window_start_month: int = Field(default=1, ge=1, le=12)
    window_end_month: int | None = Field(default=None, ge=1, le=12, description="the last "
                                         "month of the window; by default the rules' "
                                         "monitoring.default_window_end_month")
    unit_codes: list[Code] = Field(default_factory=list, max_length=1000, description="units "
                                   "in scope, with the units under them; empty: every unit")
    subject_kinds: list[SubjectKind] = Field(
        default_factory=list, description="kinds in scope; empty: every kind")
    due_on: date


class CloseMonitoringRound(Command):
    round_id: Code
    remarks: Note = ""


class ActOnWarning(Command):
    """Record what was done about a monitoring warning (调整目标 / 调整预算 / 暂缓 / 收回资金)."""

    subject_code: Code
    snapshot_id: Label
    warning_index: int = Field(ge=0, le=10000, description="the warning's position (from 0) "
                               "in the snapshot's warnings")
    action: Literal["adjust_goals", "adjust_budget", "suspend", "recover_funds"]
    amount: Money | None = Field(default=None, description="万元: by how much the budget is "
                                 "reduced (adjust_budget) or how much is recovered "
                                 "(recover_funds)")
    remarks: Text


class IndicatorResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    actual: Note | None = Field(default=None, description="实际完成值")
    achieved: bool | None = Field(default=None, description="a qualitative indicator met in "
                                  "full (达成) or not (未达成); band says more")
    band: Literal["达成", "部分达成", "未达成"] | None = Field(
        default=None, description="a qualitative indicator's band")
    deviation_reason: Note = Field(default="", description="偏差原因分析及改进措施")


class SelfEvaluationBudgetLine(BaseModel):
    """One 项目资金 row of the self-evaluation table, in 万元."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["本年财政拨款", "上年结转", "其他资金"]
    initial_budget: Money = Field(description="年初预算数")
    full_year_budget: Money = Field(description="全年预算数")
    executed: Money = Field(description="全年执行数")


class SubmitSelfEvaluation(Command):
    """Submit a version of the self-evaluation table (项目支出绩效自评表); the ledger scores it."""

    subject_code: Code
    budget_amount: Money | None = Field(default=None, description="全年预算数 in total; the "
                                        "sum of budgetLines when they are given")
    executed_amount: Money | None = Field(default=None, description="全年执行数 in total")
    budget_lines: list[SelfEvaluationBudgetLine] = Field(default_factory=list, max_length=3)
    indicator_results: list[IndicatorResult] = Field(max_length=500)


class ReviewSelfEvaluation(Command):
    """The finance bureau accepts a submitted self-evaluation, or returns it with reasons."""

    subject_code: Code
    version: int = Field(ge=1, description="the self-evaluation version reviewed (the latest)")
    decision: Literal["accept", "return"]
    reasons: list[Text] = Field(default_factory=list, max_length=50)
    comments: Note = ""


FrameworkCode = Annotated[Code | None, Field(
    description="the evaluation framework (评价框架) the evaluation is scored on, by code "
    "(frameworks lists them); left out: the framework of the commission, else the rules' "
    "default for the subject's kind")]
FrameworkVersion = Annotated[int | None, Field(
    default=None, ge=1, description="the framework's version; left out: the newest in force")]


class CommissionEvaluation(Command):
    subject_code: Code
    agency_code: Code
    commissioned_by: Code
    framework_code: FrameworkCode = None
    framework_version: FrameworkVersion = None


class DimensionScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    weight: Points
    score: Points


class RecordEvaluation(Command):
    """Record a 财政评价 or 部门评价: the evaluator's own, or an agency's under a commission."""

    subject_code: Code
    evaluation_id: Code | None = None  # the evaluator's own report number; made up if absent
    kind: Literal["finance", "department"] | None = Field(
        default=None, description="whose evaluation: finance (财政评价, the finance bureau's) "
        "or department (部门评价, the subject's 主管部门's); under a commission it is the "
        "commission's, and may be left out")
    commission_id: Label | None = None
    agency_code: Code | None = None
    dimensions: list[DimensionScore] = Field(default_factory=list, max_length=20)
    # A grade as published (e.g. an imported annex table) when no scores are on record.
    published_grade: Grade | None = None
    findings: list[Text] = Field(default_factory=list)
    narrative: Text
    evaluated_on: date
    framework_code: FrameworkCode = None
    framework_version: FrameworkVersion = None

    @model_validator(mode="after")
    def _scored_or_published(self) -> RecordEvaluation:
        if not self.dimensions and self.published_grade is None:
            raise ValueError("an evaluation carries dimension scores or a published grade")
        return self


class IndicatorReScore(BaseModel):
    """The reviewer's score of one indicator of the subject's goals (复核得分)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    score: Points
    remarks: Note = ""


class RecordSpotCheck(Command):
    subject_code: Code
    reviews: Label = Field(description="'self' or the id of a commissioned evaluation")
    score: Score
    findings: list[Text] = Field(default_factory=list)
    plan_id: Code | None = Field(default=None, description="the sampling plan that drew the "
                                 "subject (drawSamplingPlan)")
    indicators: list[IndicatorReScore] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _indicators_once(self) -> RecordSpotCheck:
        names = [i.name for i in self.indicators]
        if len(names) != len(set(names)):
            raise ValueError("each indicator is re-scored once")
        return self


class SampledSubject(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subject_code: Code
    reason: Note = ""


class DrawSamplingPlan(Command):
    """Draw the subjects of a spot-check review (随机抽取 with a seed, or 重点抽取 with reasons).

    At random, the plan states its seed, population and count (ledger.sampling.draw); chosen,
    a reason for each subject."""

    plan_id: Code
    fiscal_year: Year
    title: Name
    method: Literal["random", "key"]
    seed: Label | None = None
    population: list[Code] = Field(default_factory=list, max_length=10000)
    count: int | None = Field(default=None, ge=1, le=10000)
    subjects: list[SampledSubject] = Field(default_factory=list, max_length=10000)

    @model_validator(mode="after")
    def _method_inputs(self) -> DrawSamplingPlan:
        if self.method == "random":
            if not self.seed or not self.population or self.count is None or self.subjects:
                raise ValueError("a random draw states its seed, population and count, and "
                                 "lists no subjects")
            if self.count > len(set(self.population)):
                raise ValueError("count exceeds the population")
        else:
            if not self.subjects or self.seed or self.population or self.count is not None:
                raise ValueError("a key draw (重点抽取) lists its subjects, with no seed, "
                                 "population or count")
            if any(not s.reason for s in self.subjects):
                raise ValueError("each subject of a key draw (重点抽取) needs a reason")
        codes = [s.subject_code for s in self.subjects]
        if len(codes) != len(set(codes)):
            raise ValueError("a subject is drawn once")
        return self


class AssignGrade(Command):
    subject_code: Code
    grade: Grade
    basis_kind: Literal["spot_check", "evaluation", "self_evaluation"]
    basis_id: Label


class ApplyResult(Command):
    subject_code: Code
    kind: Literal["priority", "continue", "reduce", "cancel", "recover", "transfer_link",
                  "suspend"]
    amount: Money | None = None
    cites_kind: Literal["grade", "evaluation", "spot_check", "self_evaluation", "monitoring"]
    cites_id: Label = ""
    remarks: Note = ""
    # What the consequence reaches (docs/domain.md): by default this subject, this year.
    target_fiscal_year: Year | None = None
    target_kind: Literal["subject", "budget_request", "unit", "transfer"] = "subject"
    target_id: Label = ""
    percentage: Score | None = Field(default=None, description="核减 as a share of the target")
    override_reason: Note = Field(default="", description="the finance bureau's reason for a "
                                  "consequence that contradicts the rule for its basis")


class RequestRectification(Command):
    subject_code: Code
    items: list[Text] = Field(min_length=1, max_length=200)
    deadline: date


class ReportRectification(Command):
    subject_code: Code
    rectification_id: Label
    report: Text


class ReviewRectification(Command):
    subject_code: Code
    rectification_id: Label
    decision: Literal["accept", "return"]
    comments: Note = ""


class CitedCheckpoint(BaseModel):
    """A signed checkpoint of this log that a record cites, stated as its note states it.

    Its origin, size, root, last position and the signed note itself: the ledger checks that
    they agree, that the store holds it and that it covers what the record proves
    (ledger.integrity.citation)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origin: Name
    size: int = Field(ge=0)
    root: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$"),
                    BeforeValidator(check_name)]  # base64 of 32 bytes, as in the note
    last_position: int = Field(ge=0)
    # verbatim: a signed note ends in a newline, which the text types would strip
    note: Annotated[str, StringConstraints(min_length=1, max_length=20000),
                    BeforeValidator(check_text)]


class RecordDisclosure(Command):
    """Record a disclosure (公开); a cited checkpoint must be this log's, covering the package.

    `checkpoint` is the signed checkpoint the package was proven by: `jixiao disclose` signs
    one covering `content_position`; any other caller cites one the store holds that covers
    it (ledger.integrity.citation). None only while no signing key is configured."""

    fiscal_year: Year
    audience: Literal["peoples_congress", "standing_committee", "public"]
    title: Name
    subject_codes: list[Code] = Field(max_length=10000)
    content_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$"),
                            BeforeValidator(check_name)]
    content_position: int = Field(ge=0)
    checkpoint: CitedCheckpoint | None = None


class AdmitAgency(Command):
    code: Code
    name: Name
    qualification: Note = ""


class DeclareAgencyRelationship(Command):
    """Declare an agency's tie to a unit (回避): it then evaluates nothing for or of that unit."""

    code: Code
    unit_code: Code
    relationship: Text


class AssessAgency(Command):
    code: Code
    year: Year
    score: Score
    rating: Literal["优秀", "良好", "合格", "不合格"]
    remarks: Note = ""


class SuspendAgency(Command):
    code: Code
    reason: Text


class ReinstateAgency(Command):
    code: Code
    reason: Text


class RemoveAgency(Command):
    code: Code
    reason: Text


class AdmitExpert(Command):
    code: Code
    name: Name
    fields: list[Name] = Field(default_factory=list)


class RemoveExpert(Command):
    code: Code
    reason: Text


class AdoptRules(Command):
    rules: JsonObject


class CorrectEvent(Command):
    position: int = Field(ge=1)
    values: JsonObject
    reason: Text


# -- fiscal years, budget requests, transfers (ledger.results_commands) ----------------------

class OpenFiscalYear(Command):
    fiscal_year: Year


class CloseFiscalYear(Command):
    """Close a fiscal year's cycle (绩效管理年度); the server signs the checkpoint it cites.

    The closing service (projections.fiscal_year) signs a checkpoint covering the log's head
    and fills in `checkpoint`, or says in `checkpoint_summary` why there is none."""

    SERVER_FIELDS: ClassVar[frozenset[str]] = frozenset({"checkpoint", "checkpoint_summary"})

    fiscal_year: Year
    checkpoint: CitedCheckpoint | None = None
    checkpoint_summary: Note = ""


class RecordBudgetRequest(Command):
    fiscal_year: Year = Field(description="the year requested for (year N+1)")
    code: Code
    unit_code: Code
    subject_code: Code | None = Field(default=None, description="the continuing subject")
    project_name: Note = Field(default="", description="a new project's name")
    funding_source: Name
    requested_amount: Money

    @model_validator(mode="after")
    def _names_what(self) -> RecordBudgetRequest:
        if self.subject_code is None and not self.project_name:
            raise ValueError("a request names a continuing subject or a new project")
        return self


class ArrangeBudget(Command):
    fiscal_year: Year
    request_code: Code
    arranged_amount: Money
    remarks: Note = ""


class LinkTransfer(Command):
    fiscal_year: Year = Field(description="the year the allocation is for")
    code: Code
    recipient_unit_code: Code
    programme: Name
    amount: Money
    direction: Literal["increase", "decrease", "maintain"]
    basis_subject_code: Code = Field(description="the recipient's 财政运行综合绩效 subject")
