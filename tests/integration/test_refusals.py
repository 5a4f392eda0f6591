"""Each rule refusal gives its typed error and appends nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.errors import DomainError, Forbidden, InvalidInput, NotFound, RuleViolation
from tests.integration.helpers import (
    INDICATORS,
    PROJECT_DIMS,
    approved_subject,
    do,
    evaluated_subject,
    max_position,
    setup_units,
)


def refused(app: Ledger, kind: type[DomainError], code: str, field: str | None,
            action: Callable[[], Any]) -> DomainError:
    before = max_position(app)
    with pytest.raises(kind) as info:
        action()
    assert info.value.code == code, info.value
    if field is not None:
        assert info.value.field == field, info.value
    assert info.value.rule
    assert max_position(app) == before, "a refusal must append nothing"
    return info.value


def test_ex_ante_gate(ledger: Ledger) -> None:
    setup_units(ledger)
    do(ledger, "register_subject", code="NEW", name="新建项目", kind="project", fiscal_year=2022,
       unit_code="MZJ", funds="100.00", is_new=True)
    do(ledger, "declare_goals", subject_code="NEW", indicators=INDICATORS)
    refused(ledger, RuleViolation, "EX_ANTE_REQUIRED", "subjectCode",
            lambda: do(ledger, "review_goals", subject_code="NEW", decision="approve"))
    do(ledger, "record_ex_ante_assessment", subject_code="NEW", conclusion="不予支持",
       dimensions={"立项必要性": "不必要"})
    refused(ledger, RuleViolation, "EX_ANTE_REQUIRED", "subjectCode",
            lambda: do(ledger, "review_goals", subject_code="NEW", decision="approve"))
    do(ledger, "record_ex_ante_assessment", subject_code="NEW", conclusion="调整后支持",
       dimensions={"立项必要性": "必要"})
    do(ledger, "review_goals", subject_code="NEW", decision="approve")
    # Below the threshold, or not new: no assessment needed.
    approved_subject(ledger, "OLD", funds="99.99", is_new=False)


@pytest.mark.slow
def test_grade_must_follow_the_scale(ledger: Ledger) -> None:
    setup_units(ledger)
    evaluation_id = evaluated_subject(ledger)  # 92.00 → 优
    err = refused(ledger, RuleViolation, "GRADE_CONTRADICTS_SCALE", "grade",
                  lambda: do(ledger, "assign_grade", subject_code="S1", grade="GOOD",
                             basis_kind="evaluation", basis_id=evaluation_id))
    assert "优" in err.message
    do(ledger, "record_spot_check", subject_code="S1", reviews=evaluation_id, score="89.50")
    refused(ledger, RuleViolation, "BASIS_NOT_AUTHORITATIVE", "basis",
            lambda: do(ledger, "assign_grade", subject_code="S1", grade="EXCELLENT",
                       basis_kind="evaluation", basis_id=evaluation_id))


@pytest.mark.slow
def test_boundary_89_5_is_good(ledger: Ledger) -> None:
    setup_units(ledger)
    evaluation_id = evaluated_subject(ledger)
    spot = do(ledger, "record_spot_check", subject_code="S1", reviews=evaluation_id,
              score="89.50")
    refused(ledger, RuleViolation, "GRADE_CONTRADICTS_SCALE", "grade",
            lambda: do(ledger, "assign_grade", subject_code="S1", grade="EXCELLENT",
                       basis_kind="spot_check", basis_id=spot.ids["spotCheckId"]))
    do(ledger, "assign_grade", subject_code="S1", grade="GOOD", basis_kind="spot_check",
       basis_id=spot.ids["spotCheckId"])


@pytest.mark.slow
def test_agency_refusals(ledger: Ledger) -> None:
    setup_units(ledger)
    approved_subject(ledger)
    # A commission is its commissioner's to record: not the bureau's in a department's name.
    refused(ledger, Forbidden, "NOT_THE_COMMISSIONER", "commissionedBy",
            lambda: do(ledger, "commission_evaluation", subject_code="S1", agency_code="AG1",
                       commissioned_by="MZJ"))
    com = do(ledger, "commission_evaluation", subject_code="S1", agency_code="AG1",
             commissioned_by="FB")
    do(ledger, "admit_agency", code="AG2", name="另一家事务所")
    refused(ledger, RuleViolation, "NOT_COMMISSIONED", "agencyCode",
            lambda: do(ledger, "record_evaluation", subject_code="S1", kind="finance",
                       commission_id=com.ids["commissionId"], agency_code="AG2",
                       dimensions=PROJECT_DIMS, narrative="x", evaluated_on="2023-03-01"))
    do(ledger, "suspend_agency", code="AG1", reason="考核不合格")
    refused(ledger, RuleViolation, "AGENCY_NOT_ADMITTED", "agencyCode",
            lambda: do(ledger, "record_evaluation", subject_code="S1", kind="finance",
                       commission_id=com.ids["commissionId"], agency_code="AG1",
                       dimensions=PROJECT_DIMS, narrative="x", evaluated_on="2023-03-01"))


@pytest.mark.slow
@pytest.mark.parametrize("funds", [640.85, "640.855", "abc", "-1.00", "NaN"])
def test_money_must_be_exact_two_place_decimals(ledger: Ledger, funds: Any) -> None:
    setup_units(ledger)
    refused(ledger, InvalidInput, "INVALID_INPUT", "funds",
            lambda: do(ledger, "register_subject", code="S9", name="x", kind="project",
                       fiscal_year=2022, unit_code="MZJ", funds=funds))


def test_float_anywhere_is_refused(ledger: Ledger) -> None:
    setup_units(ledger)
    approved_subject(ledger)
    err = refused(ledger, InvalidInput, "INVALID_INPUT", None,
                  lambda: do(ledger, "record_spot_check", subject_code="S1", reviews="self",
                             score=91.5))
    assert "float" in err.message


@pytest.mark.slow
def test_unknown_subject_and_unit(ledger: Ledger) -> None:
    setup_units(ledger)
    refused(ledger, NotFound, "SUBJECT_NOT_FOUND", "subjectCode",
            lambda: do(ledger, "declare_goals", subject_code="NOPE", indicators=INDICATORS))
    refused(ledger, NotFound, "UNIT_NOT_FOUND", "unitCode",
            lambda: do(ledger, "register_subject", code="S9", name="x", kind="project",
                       fiscal_year=2022, unit_code="NOPE", funds="1.00"))


@pytest.mark.slow
@pytest.mark.parametrize(("start", "end", "field"), [
    ("2022-09-01", "2022-08-31", "windowEnd"),
    ("2021-12-01", "2022-08-31", "windowStart"),
])
def test_bad_monitoring_window(ledger: Ledger, start: str, end: str, field: str) -> None:
    setup_units(ledger)
    approved_subject(ledger)
    refused(ledger, InvalidInput, "INVALID_INPUT", field,
            lambda: do(ledger, "record_monitoring", subject_code="S1", round_name="r",
                       window_start=start, window_end=end, budget_amount="1.00",
                       executed_amount="0.50"))


@pytest.mark.slow
def test_lifecycle_order_is_enforced(ledger: Ledger) -> None:
    setup_units(ledger)
    do(ledger, "register_subject", code="S1", name="x", kind="project", fiscal_year=2022,
       unit_code="MZJ", funds="1.00")
    refused(ledger, RuleViolation, "GOALS_NOT_APPROVED", "subjectCode",
            lambda: do(ledger, "record_monitoring", subject_code="S1", round_name="r",
                       window_start="2022-01-01", window_end="2022-08-31",
                       budget_amount="1.00", executed_amount="0.50"))
    refused(ledger, RuleViolation, "GOALS_NOT_DECLARED", "subjectCode",
            lambda: do(ledger, "review_goals", subject_code="S1", decision="approve"))
    refused(ledger, RuleViolation, "NO_SCORE", "basis",
            lambda: do(ledger, "assign_grade", subject_code="S1", grade="GOOD",
                       basis_kind="self_evaluation", basis_id="self"))
    refused(ledger, RuleViolation, "CITATION_NOT_FOUND", "cites",
            lambda: do(ledger, "apply_result", subject_code="S1", kind="cancel",
                       cites_kind="monitoring", cites_id="none"))


@pytest.mark.slow
def test_consequences_follow_the_grade(ledger: Ledger) -> None:
    setup_units(ledger)
    evaluation_id = evaluated_subject(ledger)
    spot = do(ledger, "record_spot_check", subject_code="S1", reviews=evaluation_id,
              score="85")
    do(ledger, "assign_grade", subject_code="S1", grade="GOOD", basis_kind="spot_check",
       basis_id=spot.ids["spotCheckId"])
    refused(ledger, RuleViolation, "PRIORITY_NEEDS_EXCELLENT", "kind",
            lambda: do(ledger, "apply_result", subject_code="S1", kind="priority",
                       cites_kind="grade"))
    refused(ledger, RuleViolation, "AMOUNT_EXCEEDS_FUNDS", "amount",
            lambda: do(ledger, "apply_result", subject_code="S1", kind="reduce",
                       amount="9999.00", cites_kind="grade"))
    refused(ledger, RuleViolation, "AMOUNT_REQUIRED", "amount",
            lambda: do(ledger, "apply_result", subject_code="S1", kind="recover",
                       cites_kind="grade"))


@pytest.mark.slow
def test_dimension_rules(ledger: Ledger) -> None:
    setup_units(ledger)
    approved_subject(ledger)
    bad = [{"name": "决策", "weight": "30", "score": "20"}, {"name": "过程", "weight": "20",
                                                            "score": "10"},
           {"name": "产出", "weight": "25", "score": "20"}, {"name": "效益", "weight": "25",
                                                            "score": "20"}]
    refused(ledger, InvalidInput, "INVALID_INPUT", "dimensions.weight",
            lambda: do(ledger, "record_evaluation", subject_code="S1", kind="finance",
                       dimensions=bad, narrative="x", evaluated_on="2023-01-01"))


@pytest.mark.slow
def test_published_grade_evaluations(ledger: Ledger) -> None:
    """Imported tables carry grades without scores: the grade must follow what was published."""
    setup_units(ledger)
    approved_subject(ledger)
    refused(ledger, InvalidInput, "INVALID_INPUT", None,
            lambda: do(ledger, "record_evaluation", subject_code="S1", kind="finance",
                       narrative="x", evaluated_on="2023-01-01"))
    refused(ledger, RuleViolation, "GRADE_CONTRADICTS_SCALE", "publishedGrade",
            lambda: do(ledger, "record_evaluation", subject_code="S1", kind="finance",
                       dimensions=PROJECT_DIMS, published_grade="GOOD", narrative="x",
                       evaluated_on="2023-01-01"))
    ev = do(ledger, "record_evaluation", subject_code="S1", kind="finance", narrative="评价为良",
            published_grade="GOOD", evaluated_on="2023-01-01")
    refused(ledger, RuleViolation, "GRADE_CONTRADICTS_PUBLISHED", "grade",
            lambda: do(ledger, "assign_grade", subject_code="S1", grade="EXCELLENT",
                       basis_kind="evaluation", basis_id=ev.ids["evaluationId"]))
    do(ledger, "assign_grade", subject_code="S1", grade="GOOD", basis_kind="evaluation",
       basis_id=ev.ids["evaluationId"])
    grade = ledger.subject("S1").grade
    assert grade is not None and grade.score is None


def test_a_taken_code_is_a_rule_violation_not_a_conflict(ledger: Ledger) -> None:
    setup_units(ledger)
    for method, fields in (("register_unit", {"code": "MZJ", "name": "重复"}),
                           ("admit_agency", {"code": "AG1", "name": "重复"}),
                           ("register_subject", {"code": "S1", "name": "x", "kind": "project",
                                                 "fiscal_year": 2022, "unit_code": "MZJ",
                                                 "funds": "1.00"})):
        if method == "register_subject":
            do(ledger, method, **fields)
        code = {"register_unit": "UNIT_EXISTS", "admit_agency": "AGENCY_EXISTS",
                "register_subject": "SUBJECT_EXISTS"}[method]
        refused(ledger, RuleViolation, code, "code", lambda m=method, f=fields: do(ledger, m, **f))
