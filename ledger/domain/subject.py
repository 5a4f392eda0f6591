"""An evaluation subject (评价对象) and its whole performance lifecycle for one fiscal year."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import (
    Meta,
    correctable,
    parse_bool,
    parse_date,
    parse_name,
    parse_score,
    parse_text,
    stable_id,
)
from ledger.domain.evaluation_rules import (
    SELF,
    Basis,
    authoritative_basis,
    cited_commission,
    graded_score,
    ranked_evaluation,
    stored_kind,
)
from ledger.domain.goal_records import FundsBySource, GoalStep, GoalTable, GoalTableHeader
from ledger.domain.monitoring_round import MonitoringFollowUp, WarningAction
from ledger.domain.records import (
    Commission,
    Consequence,
    CorrectedValue,
    Correction,
    DimensionScore,
    Evaluation,
    ExAnteAssessment,
    GoalIndicator,
    GradeAssignment,
    IndicatorProgress,
    MonitoringSnapshot,
    MonitoringWarning,
    NamedText,
    Rectification,
    SelfEvaluation,
    SpotCheck,
    restate,
)
from ledger.domain.review_records import FrameworkRef, IndicatorReview
from ledger.domain.self_evaluation_table import SelfEvaluationTable
from ledger.errors import RuleViolation
from ledger.evaluation_kinds import legacy_commission_kind
from ledger.frameworks import LEGACY_FRAMEWORKS
from ledger.grades import Grade, GradeScale
from ledger.money import parse_money
from ledger.monitoring import execution_rate
from ledger.permissions import BUDGET_UNIT

SUPPORTING_CONCLUSIONS = ("予以支持", "调整后支持")


def rule(code: str, message: str, field: str, broken: str) -> RuleViolation:
    return RuleViolation(code, message, field=field, rule=broken)


def check_predecessor(predecessor: Subject, fiscal_year: int) -> None:
    if predecessor.fiscal_year != fiscal_year - 1:
        raise rule("PREDECESSOR_NOT_PREVIOUS_YEAR", f"{predecessor.code} is of "
                   f"{predecessor.fiscal_year}, not {fiscal_year - 1}", "predecessorCode",
                   "a continuing project (延续项目) names the year before's subject")


class Subject(MonitoringFollowUp, SelfEvaluationTable):
    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return stable_id("subject", code)

    @event("Registered")
    def __init__(self, code: str, name: str, kind: str, fiscal_year: int, unit_code: str,
                 funds: Decimal, is_new: bool, is_key: bool, tags: list[str], meta: Meta
                 ) -> None:
        self.code = code
        self.predecessor_code = ""  # 延续项目: last year's subject, named by PredecessorNamed
        self.name = name
        self.kind = kind
        self.fiscal_year = fiscal_year
        self.unit_code = unit_code
        self.funds = funds
        self.is_new = is_new
        self.is_key = is_key
        self.tags = tags
        self.registered_on = meta.effective_on
        self.ex_ante: list[ExAnteAssessment] = []
        self.goal_status = "none"  # none / declared / returned / approved
        self.indicators: tuple[GoalIndicator, ...] = ()
        self.goal_revision = 0
        self.goal_header = GoalTableHeader(overall_goal="", funds_by_source=None)
        self.goal_history: list[GoalStep] = []  # every declaration, return, approval, adjustment
        self.monitoring: list[MonitoringSnapshot] = []
        self.warning_actions: dict[str, WarningAction] = {}  # what followed its warnings
        self.self_evaluation: SelfEvaluation | None = None
        self.self_evaluations: tuple[SelfEvaluation, ...] = ()
        # Keyed by id, in the order recorded: the last one is the latest.
        self.commissions: dict[str, Commission] = {}
        self.evaluations: dict[str, Evaluation] = {}
        self.spot_checks: dict[str, SpotCheck] = {}
        self.grade: GradeAssignment | None = None
        self.results: dict[str, Consequence] = {}
        self.rectifications: dict[str, Rectification] = {}
        self.corrections: list[Correction] = []
        # Which item a version recorded, so a correction can restate that item.
        self.items_by_version: dict[int, tuple[str, str]] = {}

    @event("PredecessorNamed")
    def name_predecessor(self, predecessor_code: str, meta: Meta) -> None:
        """Its own event, so a registration that continues nothing records what it always
        did (the canonical record, and so every hash over it, stays the same)."""
        self.predecessor_code = predecessor_code

    # -- ex-ante assessment (事前绩效评估) --------------------------------------------

    def needs_ex_ante(self, threshold: Decimal) -> bool:
        return self.is_new and self.funds >= threshold

    def has_supporting_assessment(self) -> bool:
        return bool(self.ex_ante) and self.ex_ante[-1].conclusion in SUPPORTING_CONCLUSIONS

    @event("ExAnteAssessed")
    def record_ex_ante(self, assessment_id: str, dimensions: dict[str, str], conclusion: str,
                       remarks: str, meta: Meta) -> None:
        self.ex_ante.append(ExAnteAssessment(
            id=assessment_id, conclusion=conclusion, remarks=remarks,
            dimensions=tuple(NamedText(name=k, text=v) for k, v in dimensions.items())))

    # -- goals (绩效目标) -------------------------------------------------------------

    def declare_goals(self, indicators: list[dict[str, Any]], meta: Meta,
                      overall_goal: str = "", funds_by_source: dict[str, Any] | None = None
                      ) -> None:
        if self.goal_status in ("declared", "approved"):
            raise rule("GOALS_ALREADY_" + self.goal_status.upper(),
                       f"goals are {self.goal_status}; "
                       + ("adjust them with a reason" if self.goal_status == "approved"
                          else "wait for the review"),
                       "indicators", "goals are declared once, re-declared only after return")
        self._goals_declared(indicators=indicators, meta=meta, overall_goal=overall_goal,
                             funds_by_source=funds_by_source)

    @event("GoalsDeclared")
    def _goals_declared(self, indicators: list[dict[str, Any]], meta: Meta,
                        overall_goal: str = "", funds_by_source: dict[str, Any] | None = None
                        ) -> None:
        self.indicators = tuple(map(GoalIndicator.of, indicators))
        self.goal_status = "declared"
        self.goal_revision += 1
        self.goal_header = GoalTableHeader(overall_goal=overall_goal,
                                           funds_by_source=FundsBySource.of(funds_by_source))
        self._goal_step("declared", "", meta)

    def _goal_step(self, action: str, text: str, meta: Meta) -> None:
        self.goal_history.append(GoalStep(action=action, revision=self.goal_revision, text=text,
                                          actor_role=meta.actor_role,
                                          effective_on=meta.effective_on))

    def review_goals(self, approve: bool, comments: str, threshold: Decimal, meta: Meta) -> None:
        if self.goal_status != "declared":
            raise rule("GOALS_NOT_DECLARED", f"goals are {self.goal_status}, nothing to review",
                       "subjectCode", "only declared goals are reviewed")
        if approve:
            self.check_ex_ante_gate(threshold)
            self._goals_approved(comments=comments, meta=meta)
        else:
            if not comments.strip():
                raise rule("RETURN_NEEDS_COMMENTS", "returned goals need review comments",
                           "comments", "a return says what to change")
            self._goals_returned(comments=comments, meta=meta)

    def check_ex_ante_gate(self, threshold: Decimal) -> None:
        if self.needs_ex_ante(threshold) and not self.has_supporting_assessment():
            raise rule(
                "EX_ANTE_REQUIRED",
                f"new subject of {self.funds}万元 (threshold {threshold}万元) has no supporting "
                "ex-ante assessment (予以支持 or 调整后支持)",
                "subjectCode", "事前绩效评估 before budgeting a new subject at or above threshold")

    @event("GoalsApproved")
    def _goals_approved(self, comments: str, meta: Meta) -> None:
        self.goal_status = "approved"
        self._goal_step("approved", comments, meta)

    @event("GoalsReturned")
    def _goals_returned(self, comments: str, meta: Meta) -> None:
        self.goal_status = "returned"
        self._goal_step("returned", comments, meta)

    def adjust_goals(self, indicators: list[dict[str, Any]], reason: str, meta: Meta,
                     overall_goal: str = "", funds_by_source: dict[str, Any] | None = None
                     ) -> None:
        if self.goal_status != "approved":
            raise rule("GOALS_NOT_APPROVED", f"goals are {self.goal_status}",
                       "subjectCode", "only approved goals are adjusted")
        if not reason.strip():
            raise rule("ADJUSTMENT_NEEDS_REASON", "an adjustment needs a reason", "reason",
                       "调整 with a reason")
        self._goals_adjusted(indicators=indicators, reason=reason, meta=meta,
                             overall_goal=overall_goal, funds_by_source=funds_by_source)

    @event("GoalsAdjusted")
    def _goals_adjusted(self, indicators: list[dict[str, Any]], reason: str, meta: Meta,
                        overall_goal: str = "", funds_by_source: dict[str, Any] | None = None
                        ) -> None:
        self.indicators = tuple(map(GoalIndicator.of, indicators))
        self.goal_revision += 1
        if overall_goal or funds_by_source is not None:  # else the declared header stands
            self.goal_header = GoalTableHeader(overall_goal=overall_goal,
                                               funds_by_source=FundsBySource.of(funds_by_source))
        self._goal_step("adjusted", reason, meta)

    def check_goals_approved(self, what: str) -> None:
        if self.goal_status != "approved":
            raise rule("GOALS_NOT_APPROVED", f"{what} needs approved goals; goals are "
                       f"{self.goal_status}", "subjectCode", f"{what} follows goal approval")

    def goal_table(self) -> GoalTable:
        h = self.goal_header
        return GoalTable(status=self.goal_status, revision=self.goal_revision,
                         overall_goal=h.overall_goal, funds_by_source=h.funds_by_source,
                         indicators=self.indicators, history=tuple(self.goal_history))

    def indicator_names(self) -> set[str]:
        return {i.name for i in self.indicators}

    # -- monitoring (绩效运行监控) ------------------------------------------------------

    @event("MonitoringRecorded")
    def record_monitoring(self, snapshot_id: str, round_name: str, window_start: date,
                          window_end: date, budget_amount: Decimal, executed_amount: Decimal,
                          execution_rate: Decimal, indicators: list[dict[str, Any]],
                          warnings: list[dict[str, Any]], rule_version: int, meta: Meta,
                          round_id: str | None = None, reported_on: date | None = None) -> None:
        self.items_by_version[self.next_version()] = ("monitoring", snapshot_id)
        self.monitoring.append(MonitoringSnapshot(
            id=snapshot_id, round_name=round_name, window_start=window_start,
            window_end=window_end, budget_amount=budget_amount,
            executed_amount=executed_amount, execution_rate=execution_rate,
            indicators=tuple(map(IndicatorProgress.of, indicators)),
            warnings=tuple(map(MonitoringWarning.of, warnings)), rule_version=rule_version,
            round_id=round_id, reported_on=reported_on or meta.effective_on))

    # -- self-evaluation, evaluations, spot checks ------------------------------------

    @event("SelfEvaluationSubmitted")
    def submit_self_evaluation(self, score: Decimal, parts: dict[str, Decimal],
                               indicator_results: list[dict[str, Any]], rule_version: int,
                               meta: Meta, table: dict[str, Any] | None = None) -> None:
        """`table` (the scored 自评表) is absent from submissions of earlier builds."""
        at = self.next_version()
        number = self.record_self_evaluation(score, parts, table, rule_version, meta)
        self.items_by_version[at] = ("self_evaluation", str(number))

    def commission(self, commission_id: str, agency_code: str, commissioned_by: str,
                   evaluation_kind: str, meta: Meta,
                   framework: FrameworkRef | None = None) -> None:
        """Whose evaluation it will be (evaluation_kind) the application decides from the
        commissioning unit; a department may commission an evaluation of its own subjects."""
        self._commissioned(commission_id=commission_id, agency_code=agency_code,
                           commissioned_by=commissioned_by, meta=meta,
                           evaluation_kind=evaluation_kind,
                           framework_code=framework.code if framework else None,
                           framework_version=framework.version if framework else None)

    @event("EvaluationCommissioned")
    def _commissioned(self, commission_id: str, agency_code: str, commissioned_by: str,
                      meta: Meta, evaluation_kind: str | None = None,
                      framework_code: str | None = None,
                      framework_version: int | None = None) -> None:
        # Commissions stored by earlier builds do not say whose evaluation they commission.
        kind = evaluation_kind or legacy_commission_kind(meta.actor_role == BUDGET_UNIT)
        self.commissions[commission_id] = Commission(
            id=commission_id, agency_code=agency_code, commissioned_by=commissioned_by,
            kind=kind, framework=None if framework_code is None
            else FrameworkRef(framework_code, framework_version or 1))

    def commission_for(self, commission_id: str, agency_code: str) -> Commission:
        return cited_commission(self.commissions, commission_id, agency_code)

    @event("EvaluationRecorded")
    def record_evaluation(self, evaluation_id: str, evaluation_kind: str,
                          commission_id: str | None, agency_code: str | None,
                          dimensions: list[dict[str, Any]], score: Decimal | None,
                          published_grade: str | None, findings: list[str], narrative: str,
                          evaluated_on: date, rule_version: int, meta: Meta,
                          framework_code: str | None = None,
                          framework_version: int | None = None) -> None:
        self.items_by_version[self.next_version()] = ("evaluation", evaluation_id)
        # Stored before evaluations named a framework: the one rule version 1 fixed per kind.
        framework = FrameworkRef(framework_code or LEGACY_FRAMEWORKS.get(self.kind, self.kind),
                                 framework_version or 1)
        self.evaluations[evaluation_id] = Evaluation(
            id=evaluation_id, kind=stored_kind(evaluation_kind, commission_id, self.commissions),
            commission_id=commission_id,
            agency_code=agency_code, dimensions=tuple(map(DimensionScore.of, dimensions)),
            score=score, published_grade=None if published_grade is None
            else Grade(published_grade), findings=tuple(findings), narrative=narrative,
            evaluated_on=evaluated_on, framework=framework)

    def check_reviewable(self, reviews: str) -> None:
        if reviews == SELF:
            if self.self_evaluation is None:
                raise rule("SELF_EVALUATION_MISSING", "no self-evaluation to re-review",
                           "reviews", "抽查复核 re-reviews an existing evaluation")
        elif reviews not in self.evaluations:
            raise rule("EVALUATION_NOT_FOUND", f"no evaluation {reviews!r} to re-review",
                       "reviews", "抽查复核 re-reviews an existing evaluation")

    @event("SpotCheckRecorded")
    def record_spot_check(self, spot_check_id: str, reviews: str, score: Decimal,
                          findings: list[str], meta: Meta, plan_id: str | None = None,
                          reviewed_score: Decimal | None = None,
                          indicators: list[dict[str, Any]] | None = None) -> None:
        self.items_by_version[self.next_version()] = ("spot_check", spot_check_id)
        self.spot_checks[spot_check_id] = SpotCheck(
            id=spot_check_id, reviews=reviews, score=score, findings=tuple(findings),
            plan_id=plan_id, reviewed_score=reviewed_score, reviewed_on=meta.effective_on,
            indicators=tuple(map(IndicatorReview.of, indicators or ())))

    def authoritative_basis(self) -> Basis | None:
        """What a grade must rest on now: 财政评价 > 部门评价 > 单位自评, re-reviews replacing
        the score they review (ledger.domain.evaluation_rules)."""
        return authoritative_basis(self.evaluations, self.spot_checks, self.self_evaluation)

    def basis_evaluation(self) -> Evaluation | None:
        """The evaluation the authoritative score rests on: its 评价情况 is the annex's."""
        return ranked_evaluation(self.evaluations)

    # -- grade and results application -------------------------------------------------

    def assign_grade(self, grade: Grade, basis_kind: str, basis_id: str, scale: GradeScale,
                     scale_version: int, meta: Meta) -> None:
        score = graded_score(self.authoritative_basis(), grade, basis_kind, basis_id, scale,
                             scale_version)
        self._graded(grade=grade.value, score=score, basis_kind=basis_kind,
                     basis_id=basis_id, scale_version=scale_version, meta=meta)

    @event("GradeAssigned")
    def _graded(self, grade: str, score: Decimal | None, basis_kind: str, basis_id: str,
                scale_version: int, meta: Meta) -> None:
        self.items_by_version[self.next_version()] = ("grade", "grade")
        self.grade = GradeAssignment(grade=Grade(grade), score=score, basis_kind=basis_kind,
                                     basis_id=basis_id, scale_version=scale_version,
                                     graded_on=meta.effective_on)

    def apply_result(self, result_id: str, result_kind: str, amount: Decimal | None,
                     cites_kind: str, cites_id: str, remarks: str, meta: Meta,
                     **placed: Any) -> None:
        """Checked by ledger.results_commands against the consequence rule; `placed` is
        the basis, rule and target (ledger.domain.consequences)."""
        self._result_applied(result_id=result_id, result_kind=result_kind, amount=amount,
                             cites_kind=cites_kind, cites_id=cites_id, remarks=remarks, meta=meta,
                             **placed)

    @event("ResultApplied")
    def _result_applied(self, result_id: str, result_kind: str, amount: Decimal | None,
                        cites_kind: str, cites_id: str, remarks: str, meta: Meta,
                        basis_position: int | None = None, basis_grade: str | None = None,
                        rule_version: int | None = None, rule_wording: str = "",
                        target_fiscal_year: int | None = None, target_kind: str = "subject",
                        target_id: str = "", percentage: Decimal | None = None,
                        override_reason: str = "") -> None:
        self.items_by_version[self.next_version()] = ("result", result_id)
        self.results[result_id] = Consequence(
            id=result_id, kind=result_kind, amount=amount, cites_kind=cites_kind,
            cites_id=cites_id, remarks=remarks, basis_position=basis_position,
            basis_grade=None if basis_grade is None else Grade(basis_grade),
            rule_version=rule_version, rule_wording=rule_wording,
            target_fiscal_year=target_fiscal_year, target_kind=target_kind,
            target_id=target_id, percentage=percentage, override_reason=override_reason,
            applied_on=meta.effective_on)

    # -- rectification (整改) ----------------------------------------------------------

    @event("RectificationRequested")
    def request_rectification(self, rectification_id: str, items: list[str], deadline: date,
                              meta: Meta) -> None:
        self.rectifications[rectification_id] = Rectification(
            id=rectification_id, items=tuple(items), deadline=deadline, status="requested",
            reports=())

    def rectification(self, rectification_id: str, allowed: tuple[str, ...]) -> Rectification:
        found = self.rectifications.get(rectification_id)
        if found is None:
            raise rule("RECTIFICATION_NOT_FOUND", f"no rectification {rectification_id!r}",
                       "rectificationId", "rectification must have been requested")
        if found.status not in allowed:
            raise rule("RECTIFICATION_WRONG_STATE", f"rectification is {found.status}",
                       "rectificationId", f"allowed from: {', '.join(allowed)}")
        return found

    def report_rectification(self, rectification_id: str, report: str, meta: Meta) -> None:
        self.rectification(rectification_id, ("requested", "returned"))
        self._rectification_reported(rectification_id=rectification_id, report=report, meta=meta)

    @event("RectificationReported")
    def _rectification_reported(self, rectification_id: str, report: str, meta: Meta) -> None:
        item = self.rectifications[rectification_id]
        self.rectifications[rectification_id] = replace(item, status="reported",
                                                        reports=(*item.reports, report))

    def review_rectification(self, rectification_id: str, accept: bool, comments: str,
                             meta: Meta) -> None:
        self.rectification(rectification_id, ("reported",))
        if accept:
            self._rectification_accepted(rectification_id=rectification_id, comments=comments,
                                         meta=meta)
        else:
            self._rectification_returned(rectification_id=rectification_id, comments=comments,
                                         meta=meta)

    @event("RectificationAccepted")
    def _rectification_accepted(self, rectification_id: str, comments: str, meta: Meta) -> None:
        self._set_rectification_status(rectification_id, "accepted")

    @event("RectificationReturned")
    def _rectification_returned(self, rectification_id: str, comments: str, meta: Meta) -> None:
        self._set_rectification_status(rectification_id, "returned")

    def _set_rectification_status(self, rectification_id: str, status: str) -> None:
        item = self.rectifications[rectification_id]
        self.rectifications[rectification_id] = replace(item, status=status)

    # -- corrections ---------------------------------------------------------------------

    def apply_correction(self, event_name: str, version: int,
                         values: Mapping[str, CorrectedValue]) -> None:
        """Restate the corrected item: a new record replaces the old, nothing is patched."""
        if event_name == Subject.Registered.__name__:
            super().apply_correction(event_name, version, values)
            return
        kind, key = self.items_by_version[version]
        if kind == "monitoring":
            self.monitoring = [_restated_snapshot(m, values) if m.id == key else m
                               for m in self.monitoring]
        elif kind == "self_evaluation":
            self.restate_self_evaluation(int(key), values)
        elif kind == "evaluation":
            self.evaluations[key] = restate(self.evaluations[key], values)
        elif kind == "spot_check":
            self.spot_checks[key] = restate(self.spot_checks[key], values)
        elif kind == "result":
            self.results[key] = restate(self.results[key], values)


Subject.CORRECTABLE = correctable({
    Subject.Registered: {"name": parse_name, "funds": parse_money, "is_key": parse_bool,
                         "is_new": parse_bool},
    Subject.EvaluationRecorded: {"score": parse_score, "narrative": parse_text,
                                 "evaluated_on": parse_date},
    Subject.SelfEvaluationSubmitted: {"score": parse_score},
    Subject.SpotCheckRecorded: {"score": parse_score},
    Subject.MonitoringRecorded: {"budget_amount": parse_money, "executed_amount": parse_money},
    Subject.ResultApplied: {"amount": parse_money},
})


def _restated_snapshot(snapshot: MonitoringSnapshot,
                       values: Mapping[str, CorrectedValue]) -> MonitoringSnapshot:
    restated = restate(snapshot, values)
    return replace(restated, execution_rate=execution_rate(restated.budget_amount,
                                                           restated.executed_amount))

