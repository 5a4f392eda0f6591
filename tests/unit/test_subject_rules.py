"""The Subject aggregate's rules (docs/domain.md#lifecycle), through the application's commands
on an in-memory ledger: every refusal is typed, names its field and appends nothing.

These assert on command results and refusals only, never on the aggregate's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from ledger.application import Ledger
from ledger.errors import DomainError, InvalidInput, NotFound, RuleViolation
from ledger.runtime import CommandResult
from tests.integration.helpers import (
    INDICATORS,
    PROJECT_DIMS,
    approved_subject,
    do,
    evaluated_subject,
    max_position,
    self_evaluated_subject,
    setup_units,
)


def refused(app: Ledger, kind: type[DomainError], code: str, field: str | None,
            action: Callable[[], Any]) -> DomainError:
    before = max_position(app)
    with pytest.raises(kind) as info:
        action()
    assert (info.value.code, info.value.field) == (code, field), info.value
    assert info.value.rule
    assert max_position(app) == before, "a refusal appends nothing"
    return info.value


def position(app: Ledger, result: CommandResult) -> int:
    """Where the event a command recorded on its aggregate sits in the log."""
    return app.position_of(UUID(result.aggregate_id), result.version)


@pytest.fixture
def app(memory_ledger: Ledger) -> Ledger:
    setup_units(memory_ledger)
    return memory_ledger


def register(app: Ledger, code: str = "S1", funds: str = "640.85", is_new: bool = False,
             **extra: Any) -> CommandResult:
    return do(app, "register_subject", code=code, name="相山区民政局2022年农村最低生活保障金",
              kind="project", fiscal_year=2022, unit_code="MZJ", funds=funds, is_new=is_new,
              **extra)


def monitor(app: Ledger, code: str = "S1", start: str = "2022-01-01", end: str = "2022-08-31",
            indicators: list[dict[str, Any]] | None = None) -> CommandResult:
    return do(app, "record_monitoring", subject_code=code, round_name="1-8月",
              window_start=start, window_end=end, budget_amount="640.85",
              executed_amount="400.00", indicators=indicators or [])


def spot_checked(app: Ledger, score: str) -> str:
    """An evaluated subject whose evaluation was re-reviewed at `score`; the re-review's id."""
    evaluation_id = evaluated_subject(app)
    spot = do(app, "record_spot_check", subject_code="S1", reviews=evaluation_id, score=score)
    return spot.ids["spotCheckId"]


def graded(app: Ledger, score: str, grade: str) -> None:
    do(app, "assign_grade", subject_code="S1", grade=grade, basis_kind="spot_check",
       basis_id=spot_checked(app, score))


# -- goals (绩效目标) ------------------------------------------------------------------------

def test_goals_are_declared_once_and_again_only_after_a_return(app: Ledger) -> None:
    register(app)
    do(app, "declare_goals", subject_code="S1", indicators=INDICATORS)
    refused(app, RuleViolation, "GOALS_ALREADY_DECLARED", "indicators",
            lambda: do(app, "declare_goals", subject_code="S1", indicators=INDICATORS))
    refused(app, RuleViolation, "RETURN_NEEDS_COMMENTS", "comments",
            lambda: do(app, "review_goals", subject_code="S1", decision="return",
                       comments="  "))
    do(app, "review_goals", subject_code="S1", decision="return", comments="指标未细化")
    refused(app, RuleViolation, "GOALS_NOT_DECLARED", "subjectCode",
            lambda: do(app, "review_goals", subject_code="S1", decision="approve"))
    do(app, "declare_goals", subject_code="S1", indicators=INDICATORS)
    do(app, "review_goals", subject_code="S1", decision="approve")
    refused(app, RuleViolation, "GOALS_ALREADY_APPROVED", "indicators",
            lambda: do(app, "declare_goals", subject_code="S1", indicators=INDICATORS))


def test_indicator_names_are_unique_and_quantitative_targets_numeric(app: Ledger) -> None:
    register(app)
    refused(app, InvalidInput, "INVALID_INPUT", "input",  # the model's own check: no field
            lambda: do(app, "declare_goals", subject_code="S1",
                       indicators=[INDICATORS[0], INDICATORS[0]]))
    refused(app, InvalidInput, "INVALID_INPUT", "indicators.0",
            lambda: do(app, "declare_goals", subject_code="S1",
                       indicators=[{**INDICATORS[0], "target": "一千"}]))


def test_adjusting_goals_needs_approval_and_a_reason(app: Ledger) -> None:
    register(app)
    do(app, "declare_goals", subject_code="S1", indicators=INDICATORS)
    refused(app, RuleViolation, "GOALS_NOT_APPROVED", "subjectCode",
            lambda: do(app, "adjust_goals", subject_code="S1", indicators=INDICATORS,
                       reason="年中调整"))
    do(app, "review_goals", subject_code="S1", decision="approve")
    refused(app, InvalidInput, "INVALID_INPUT", "reason",
            lambda: do(app, "adjust_goals", subject_code="S1", indicators=INDICATORS))
    refused(app, InvalidInput, "INVALID_INPUT", "reason",
            lambda: do(app, "adjust_goals", subject_code="S1", indicators=INDICATORS,
                       reason="   "))
    result = do(app, "adjust_goals", subject_code="S1", indicators=INDICATORS[:2],
                reason="取消满意度指标")
    assert result.events == ["Subject.GoalsAdjusted"]


# -- ex-ante assessment (事前绩效评估) -------------------------------------------------------

@pytest.mark.parametrize(("funds", "is_new", "needed"), [
    ("100.00", True, True),  # at the threshold: 100万元及以上
    ("640.85", True, True),
    ("99.99", True, False),
    ("640.85", False, False),  # only new subjects are assessed
])
def test_ex_ante_gate_at_and_above_the_threshold(app: Ledger, funds: str, is_new: bool,
                                                 needed: bool) -> None:
    register(app, funds=funds, is_new=is_new)
    do(app, "declare_goals", subject_code="S1", indicators=INDICATORS)

    def approve() -> CommandResult:
        return do(app, "review_goals", subject_code="S1", decision="approve")

    if needed:
        refused(app, RuleViolation, "EX_ANTE_REQUIRED", "subjectCode", approve)
        do(app, "record_ex_ante_assessment", subject_code="S1", conclusion="予以支持",
           dimensions={"立项必要性": "必要", "筹资合规性": "合规"})
    assert approve().events == ["Subject.GoalsApproved"]


def test_only_a_supporting_latest_assessment_opens_the_gate(app: Ledger) -> None:
    register(app, funds="150.00", is_new=True)
    do(app, "declare_goals", subject_code="S1", indicators=INDICATORS)
    for conclusion, opens in (("予以支持", True), ("不予支持", False), ("调整后支持", True)):
        do(app, "record_ex_ante_assessment", subject_code="S1", conclusion=conclusion,
           dimensions={"立项必要性": "论证"})
        if not opens:
            refused(app, RuleViolation, "EX_ANTE_REQUIRED", "subjectCode",
                    lambda: do(app, "review_goals", subject_code="S1", decision="approve"))
    do(app, "review_goals", subject_code="S1", decision="approve")


def test_the_threshold_is_the_rule_in_force(app: Ledger) -> None:
    do(app, "adopt_rules", rules={"version": 2, "effective_from": "2022-01-01",
                                  "ex_ante_threshold": "200.00"})
    register(app, funds="150.00", is_new=True)
    do(app, "declare_goals", subject_code="S1", indicators=INDICATORS)
    do(app, "review_goals", subject_code="S1", decision="approve")


# -- monitoring (绩效运行监控) ---------------------------------------------------------------

@pytest.mark.parametrize(("start", "end", "field"), [
    ("2022-09-01", "2022-08-31", "windowEnd"),  # starts after it ends
    ("2021-12-01", "2022-08-31", "windowStart"),  # before the fiscal year
    ("2022-01-01", "2023-01-31", "windowStart"),  # after it
])
def test_the_monitoring_window_lies_in_the_fiscal_year(app: Ledger, start: str, end: str,
                                                       field: str) -> None:
    approved_subject(app)
    refused(app, InvalidInput, "INVALID_INPUT", field, lambda: monitor(app, start=start, end=end))
    assert "snapshotId" in monitor(app, start="2022-01-01", end="2022-12-31").ids


def test_monitoring_reports_on_approved_indicators_only(app: Ledger) -> None:
    register(app)
    refused(app, RuleViolation, "GOALS_NOT_APPROVED", "subjectCode", lambda: monitor(app))
    do(app, "declare_goals", subject_code="S1", indicators=INDICATORS)
    refused(app, RuleViolation, "GOALS_NOT_APPROVED", "subjectCode", lambda: monitor(app))
    do(app, "review_goals", subject_code="S1", decision="approve")
    refused(app, RuleViolation, "UNKNOWN_INDICATOR", "indicators.name",
            lambda: monitor(app, indicators=[{"name": "新增指标", "likelihood": "确定能"}]))
    # A deviation is a warning on the snapshot, not a refusal.
    monitor(app, indicators=[{"name": "满意度", "progress": "5", "likelihood": "完全不可能"}])
    do(app, "adjust_goals", subject_code="S1", indicators=INDICATORS[:2], reason="取消满意度")
    refused(app, RuleViolation, "UNKNOWN_INDICATOR", "indicators.name",
            lambda: monitor(app, indicators=[{"name": "满意度", "likelihood": "有可能"}]))


# -- grade (评价等级) ------------------------------------------------------------------------

@pytest.mark.parametrize(("score", "grade", "wrong"), [
    ("100", "EXCELLENT", "GOOD"), ("90", "EXCELLENT", "GOOD"), ("89.99", "GOOD", "EXCELLENT"),
    ("80", "GOOD", "FAIR"), ("79.5", "FAIR", "GOOD"), ("60", "FAIR", "POOR"),
    ("59.99", "POOR", "FAIR"), ("0", "POOR", "FAIR"),
])
def test_the_grade_follows_the_scale(app: Ledger, score: str, grade: str, wrong: str) -> None:
    basis = spot_checked(app, score)
    err = refused(app, RuleViolation, "GRADE_CONTRADICTS_SCALE", "grade",
                  lambda: do(app, "assign_grade", subject_code="S1", grade=wrong,
                             basis_kind="spot_check", basis_id=basis))
    assert f"({grade})" in err.message  # names the grade the scale gives
    do(app, "assign_grade", subject_code="S1", grade=grade, basis_kind="spot_check",
       basis_id=basis)


def test_the_grade_follows_an_adopted_scale(app: Ledger) -> None:
    do(app, "adopt_rules", rules={"version": 2, "effective_from": "2022-01-01",
                                  "grade_scale": {"bands": [
                                      {"grade": "EXCELLENT", "lower": "90"},
                                      {"grade": "GOOD", "lower": "80"},
                                      {"grade": "FAIR", "lower": "70"},
                                      {"grade": "POOR", "lower": "0"}]}})
    basis = spot_checked(app, "65")  # 中 under version 1, 差 where 中 starts at 70
    refused(app, RuleViolation, "GRADE_CONTRADICTS_SCALE", "grade",
            lambda: do(app, "assign_grade", subject_code="S1", grade="FAIR",
                       basis_kind="spot_check", basis_id=basis))
    do(app, "assign_grade", subject_code="S1", grade="POOR", basis_kind="spot_check",
       basis_id=basis)


def test_the_grade_rests_on_the_authoritative_basis(app: Ledger) -> None:
    register(app)
    refused(app, RuleViolation, "NO_SCORE", "basis",
            lambda: do(app, "assign_grade", subject_code="S1", grade="GOOD",
                       basis_kind="self_evaluation", basis_id="self"))
    self_evaluated_subject(app, "S2")
    com = do(app, "commission_evaluation", subject_code="S2", agency_code="AG1",
             commissioned_by="FB")
    ev = do(app, "record_evaluation", subject_code="S2", kind="finance",
            commission_id=com.ids["commissionId"], agency_code="AG1", dimensions=PROJECT_DIMS,
            narrative="评价为优", evaluated_on="2023-03-15")
    evaluation_id = ev.ids["evaluationId"]
    assert ev.ids["score"] == "92.00"

    def grade_on(kind: str, basis: str) -> Callable[[], CommandResult]:
        return lambda: do(app, "assign_grade", subject_code="S2", grade="EXCELLENT",
                          basis_kind=kind, basis_id=basis)

    for kind, basis in (("self_evaluation", "self"), ("evaluation", "eva-unknown"),
                        ("spot_check", evaluation_id)):
        refused(app, RuleViolation, "BASIS_NOT_AUTHORITATIVE", "basis", grade_on(kind, basis))
    spot = do(app, "record_spot_check", subject_code="S2", reviews=evaluation_id, score="85")
    refused(app, RuleViolation, "BASIS_NOT_AUTHORITATIVE", "basis",
            lambda: do(app, "assign_grade", subject_code="S2", grade="EXCELLENT",
                       basis_kind="evaluation", basis_id=evaluation_id))
    do(app, "assign_grade", subject_code="S2", grade="GOOD", basis_kind="spot_check",
       basis_id=spot.ids["spotCheckId"])


def test_a_spot_check_re_reviews_something_recorded(app: Ledger) -> None:
    approved_subject(app)
    refused(app, RuleViolation, "SELF_EVALUATION_MISSING", "reviews",
            lambda: do(app, "record_spot_check", subject_code="S1", reviews="self", score="90"))
    refused(app, RuleViolation, "EVALUATION_NOT_FOUND", "reviews",
            lambda: do(app, "record_spot_check", subject_code="S1", reviews="eva-x",
                       score="90"))


def test_a_published_grade_stands_for_the_scores(app: Ledger) -> None:
    approved_subject(app)
    refused(app, RuleViolation, "GRADE_CONTRADICTS_SCALE", "publishedGrade",
            lambda: do(app, "record_evaluation", subject_code="S1", kind="finance",
                       dimensions=PROJECT_DIMS, published_grade="GOOD", narrative="x",
                       evaluated_on="2023-01-01"))
    ev = do(app, "record_evaluation", subject_code="S1", kind="finance", narrative="评价为良",
            published_grade="GOOD", evaluated_on="2023-01-01")
    assert "score" not in ev.ids  # known by its grade alone
    refused(app, RuleViolation, "GRADE_CONTRADICTS_PUBLISHED", "grade",
            lambda: do(app, "assign_grade", subject_code="S1", grade="EXCELLENT",
                       basis_kind="evaluation", basis_id=ev.ids["evaluationId"]))
    do(app, "assign_grade", subject_code="S1", grade="GOOD", basis_kind="evaluation",
       basis_id=ev.ids["evaluationId"])


# -- results application (结果应用) ----------------------------------------------------------

def test_priority_funding_needs_a_grade_of_excellent(app: Ledger) -> None:
    evaluation_id = evaluated_subject(app)

    def priority() -> CommandResult:
        return do(app, "apply_result", subject_code="S1", kind="priority",
                  cites_kind="evaluation", cites_id=evaluation_id)

    refused(app, RuleViolation, "PRIORITY_NEEDS_EXCELLENT", "kind", priority)  # not graded
    refused(app, RuleViolation, "CITATION_NOT_FOUND", "cites",
            lambda: do(app, "apply_result", subject_code="S1", kind="priority",
                       cites_kind="grade"))
    do(app, "assign_grade", subject_code="S1", grade="EXCELLENT", basis_kind="evaluation",
       basis_id=evaluation_id)
    assert "resultId" in priority().ids


def test_priority_is_refused_below_excellent(app: Ledger) -> None:
    graded(app, "89.50", "GOOD")
    refused(app, RuleViolation, "PRIORITY_NEEDS_EXCELLENT", "kind",
            lambda: do(app, "apply_result", subject_code="S1", kind="priority",
                       cites_kind="grade"))


@pytest.mark.parametrize("kind", ["reduce", "recover"])
def test_reduce_and_recover_need_a_positive_amount_within_the_funds(app: Ledger,
                                                                   kind: str) -> None:
    graded(app, "70", "FAIR")  # the subject's funds are 640.85

    def apply(**amount: str) -> CommandResult:
        return do(app, "apply_result", subject_code="S1", kind=kind, cites_kind="grade",
                  **amount)

    refused(app, RuleViolation, "AMOUNT_REQUIRED", "amount", apply)
    refused(app, RuleViolation, "AMOUNT_REQUIRED", "amount", lambda: apply(amount="0.00"))
    refused(app, InvalidInput, "INVALID_INPUT", "amount", lambda: apply(amount="-1.00"))
    refused(app, RuleViolation, "AMOUNT_EXCEEDS_FUNDS", "amount",
            lambda: apply(amount="640.86"))
    assert apply(amount="640.85").events == ["Subject.ResultApplied"]


@pytest.mark.parametrize("kind", ["continue", "cancel", "transfer_link", "suspend"])
def test_other_consequences_take_no_amount(app: Ledger, kind: str) -> None:
    graded(app, "70", "FAIR")
    refused(app, RuleViolation, "AMOUNT_NOT_APPLICABLE", "amount",
            lambda: do(app, "apply_result", subject_code="S1", kind=kind, amount="1.00",
                       cites_kind="grade"))
    do(app, "apply_result", subject_code="S1", kind=kind, cites_kind="grade")


# -- rectification (整改) --------------------------------------------------------------------

def test_rectification_state_machine(app: Ledger) -> None:
    evaluated_subject(app)
    rid = do(app, "request_rectification", subject_code="S1", items=["细化绩效目标"],
             deadline="2023-06-30").ids["rectificationId"]

    def report() -> CommandResult:
        return do(app, "report_rectification", subject_code="S1", rectification_id=rid,
                  report="已整改")

    def review(decision: str, **kw: str) -> CommandResult:
        return do(app, "review_rectification", subject_code="S1", rectification_id=rid,
                  decision=decision, **kw)

    def wrong_state(action: Callable[[], Any]) -> None:
        refused(app, RuleViolation, "RECTIFICATION_WRONG_STATE", "rectificationId", action)

    wrong_state(lambda: review("accept"))  # requested: nothing reported yet
    report()
    wrong_state(report)  # reported: awaiting review
    assert review("return", comments="仍不够具体").events == ["Subject.RectificationReturned"]
    wrong_state(lambda: review("accept"))  # returned: report again first
    report()
    assert review("accept").events == ["Subject.RectificationAccepted"]
    wrong_state(report)  # accepted: closed
    wrong_state(lambda: review("return"))
    refused(app, RuleViolation, "RECTIFICATION_NOT_FOUND", "rectificationId",
            lambda: do(app, "report_rectification", subject_code="S1",
                       rectification_id="rec-unknown", report="x"))


# -- corrections (更正) ----------------------------------------------------------------------

def test_only_correctable_fields_are_corrected(app: Ledger) -> None:
    registered = register(app)
    declared = do(app, "declare_goals", subject_code="S1", indicators=INDICATORS)
    at = position(app, registered)

    def correct(where: int, **values: Any) -> CommandResult:
        return do(app, "correct_event", position=where, values=values, reason="录入错误")

    refused(app, InvalidInput, "INVALID_INPUT", "values.code", lambda: correct(at, code="S9"))
    refused(app, InvalidInput, "INVALID_INPUT", "values.funds",
            lambda: correct(at, funds="-5.00"))
    refused(app, InvalidInput, "INVALID_INPUT", "values.is_key", lambda: correct(at, is_key="y"))
    refused(app, InvalidInput, "INVALID_INPUT", "values", lambda: correct(at))
    refused(app, InvalidInput, "INVALID_INPUT", "reason",
            lambda: do(app, "correct_event", position=at, values={"name": "x"}, reason=" "))
    refused(app, RuleViolation, "NOT_CORRECTABLE", "position",
            lambda: correct(position(app, declared), indicators=[]))
    refused(app, NotFound, "EVENT_NOT_FOUND", "position",
            lambda: correct(max_position(app) + 10, name="x"))
    fixed = correct(at, funds="300.00", name="更正后的名称")
    assert fixed.events == ["LedgerAggregate.EventCorrected"]
    assert fixed.ids == {"corrects": str(at)}
    refused(app, RuleViolation, "CORRECTION_OF_CORRECTION", "position",
            lambda: correct(position(app, fixed), name="y"))


def test_a_command_record_is_not_a_fact_to_correct(app: Ledger) -> None:
    registered = register(app)
    record_at = registered.position  # saved after the subject's event, in one transaction
    assert record_at == position(app, registered) + 1
    refused(app, RuleViolation, "NOT_CORRECTABLE", "position",
            lambda: do(app, "correct_event", position=record_at, values={"command": "x"},
                       reason="r"))


def test_corrected_facts_are_what_later_rules_see(app: Ledger) -> None:
    evaluation_id = evaluated_subject(app)  # funds 640.85
    spot = do(app, "record_spot_check", subject_code="S1", reviews=evaluation_id, score="85")
    basis = spot.ids["spotCheckId"]
    do(app, "correct_event", position=position(app, spot), values={"score": "92"},
       reason="复核分数录入错误")
    refused(app, RuleViolation, "GRADE_CONTRADICTS_SCALE", "grade",
            lambda: do(app, "assign_grade", subject_code="S1", grade="GOOD",
                       basis_kind="spot_check", basis_id=basis))
    do(app, "assign_grade", subject_code="S1", grade="EXCELLENT", basis_kind="spot_check",
       basis_id=basis)
    registered = app.position_of(app.subject("S1").id, 1)
    do(app, "correct_event", position=registered, values={"funds": "50.00"}, reason="录入错误")
    refused(app, RuleViolation, "AMOUNT_EXCEEDS_FUNDS", "amount",
            lambda: do(app, "apply_result", subject_code="S1", kind="recover", amount="50.01",
                       cites_kind="grade"))
    do(app, "apply_result", subject_code="S1", kind="recover", amount="50.00", cites_kind="grade")


# -- the in-memory ledger itself ------------------------------------------------------------

def test_a_retried_command_returns_the_first_result_and_appends_nothing(app: Ledger) -> None:
    data = {"command_id": "retry-0001", "code": "S1", "name": "x", "kind": "project",
            "fiscal_year": 2022, "unit_code": "MZJ", "funds": "1.00"}
    first = app.register_subject(data)
    before = max_position(app)
    again = app.register_subject(data)
    assert (again.replayed, again.position, again.aggregate_id) == (
        True, first.position, first.aggregate_id)
    assert max_position(app) == before
    refused(app, RuleViolation, "COMMAND_ID_REUSED", "commandId",
            lambda: app.register_subject({**data, "funds": "2.00"}))
