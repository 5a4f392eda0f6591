"""Consequences as rules (结果运用): the basis, the rule version, the target year and the
override a contradicting consequence needs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.application import Ledger
from ledger.errors import RuleViolation
from ledger.grades import Grade
from tests.integration.helpers import do, evaluated_subject, setup_units
from tests.unit.test_subject_rules import graded, position, refused


@pytest.fixture
def app(memory_ledger: Ledger) -> Ledger:
    setup_units(memory_ledger)
    return memory_ledger


def test_cancel_on_excellent_needs_the_bureaus_override_with_a_reason(app: Ledger) -> None:
    graded(app, "95", "EXCELLENT")
    error = refused(app, RuleViolation, "CONSEQUENCE_CONTRADICTS_RULE", "overrideReason",
                    lambda: do(app, "apply_result", subject_code="S1", kind="cancel",
                               cites_kind="grade"))
    assert "优先安排" in str(error)
    done = do(app, "apply_result", subject_code="S1", kind="cancel", cites_kind="grade",
              override_reason="项目已整体并入新设专项")
    result = app.subject("S1").results[done.ids["resultId"]]
    assert (result.kind, result.override_reason) == ("cancel", "项目已整体并入新设专项")
    assert result.basis_grade is not None and result.basis_grade.label == "优"


def test_a_consequence_records_its_basis_rule_and_target_year(app: Ledger) -> None:
    graded(app, "95", "EXCELLENT")
    subject = app.subject("S1")
    grade_version = max(v for v, it in subject.items_by_version.items() if it[0] == "grade")
    done = do(app, "apply_result", subject_code="S1", kind="priority", cites_kind="grade")
    result = app.subject("S1").results[done.ids["resultId"]]
    assert result.basis_position == app.position_of(subject.id, grade_version)
    assert (result.rule_version, result.rule_wording) == (1, "优先安排")
    assert (result.target_fiscal_year, result.target_kind, result.target_id) == (
        2023, "subject", "S1")


@pytest.mark.parametrize("cites_kind", ["grade", "self_evaluation", "evaluation"])
def test_every_citation_kind_checks_its_id(app: Ledger, cites_kind: str) -> None:
    graded(app, "95", "EXCELLENT")
    refused(app, RuleViolation, "CITATION_NOT_FOUND", "cites",
            lambda: do(app, "apply_result", subject_code="S1", kind="continue",
                       cites_kind=cites_kind, cites_id="no-such-item"))


def test_a_spot_check_basis_names_its_position(app: Ledger) -> None:
    evaluation_id = evaluated_subject(app)
    spot = do(app, "record_spot_check", subject_code="S1", reviews=evaluation_id, score="70")
    do(app, "assign_grade", subject_code="S1", grade="FAIR", basis_kind="spot_check",
       basis_id=spot.ids["spotCheckId"])
    done = do(app, "apply_result", subject_code="S1", kind="reduce", percentage="10",
              cites_kind="spot_check", cites_id=spot.ids["spotCheckId"])
    result = app.subject("S1").results[done.ids["resultId"]]
    assert result.basis_position == position(app, spot)
    assert (result.amount, result.percentage) == (Decimal("64.09"), Decimal("10"))


def _next_year_request(app: Ledger, amount: str = "1000.00") -> None:
    do(app, "open_fiscal_year", fiscal_year=2023)
    do(app, "record_budget_request", fiscal_year=2023, code="R1", unit_code="MZJ",
       subject_code="S1", funding_source="一般公共预算", requested_amount=amount)


def test_a_reduction_of_next_years_request_is_capped_by_the_request(app: Ledger) -> None:
    graded(app, "70", "FAIR")  # this year's funds are 640.85
    _next_year_request(app)
    refused(app, RuleViolation, "AMOUNT_EXCEEDS_TARGET", "amount",
            lambda: do(app, "apply_result", subject_code="S1", kind="reduce",
                       amount="1000.01", cites_kind="grade", target_kind="budget_request",
                       target_id="R1"))
    done = do(app, "apply_result", subject_code="S1", kind="reduce", amount="900.00",
              cites_kind="grade", target_kind="budget_request", target_id="R1")
    result = app.subject("S1").results[done.ids["resultId"]]
    assert (result.target_kind, result.target_id, result.amount) == (
        "budget_request", "R1", Decimal("900.00"))
    refused(app, RuleViolation, "BUDGET_REQUEST_NOT_FOUND", "requestCode",
            lambda: do(app, "apply_result", subject_code="S1", kind="continue",
                       cites_kind="grade", target_kind="budget_request", target_id="R9"))


def test_the_consequence_rule_is_rule_data(app: Ledger) -> None:
    graded(app, "70", "FAIR")
    rules = app.rules_in_force(date(2022, 12, 31))
    data = rules.model_dump(mode="json")
    data["version"] = 2
    data["effective_from"] = "2022-01-01"
    data["consequences"]["by_grade"][Grade.FAIR.value]["contradicts"] = ["priority", "cancel"]
    do(app, "adopt_rules", rules=data)
    refused(app, RuleViolation, "CONSEQUENCE_CONTRADICTS_RULE", "overrideReason",
            lambda: do(app, "apply_result", subject_code="S1", kind="cancel",
                       cites_kind="grade"))
