"""Which score a grade rests on: 财政评价 > 部门评价 > 单位自评, whatever was recorded last; and how
evaluations stored by earlier builds as `third_party` are read. On the aggregate, no store."""

from __future__ import annotations

import typing
from datetime import date
from decimal import Decimal

import pytest

from ledger import commands as c
from ledger.domain.base import Meta
from ledger.domain.subject import Subject
from ledger.errors import RuleViolation
from ledger.evaluation_kinds import (
    DEPARTMENT,
    FINANCE,
    KINDS,
    LEGACY_THIRD_PARTY,
    legacy_commission_kind,
    ranked,
)
from ledger.grades import DEFAULT_GRADE_SCALE as SCALE
from ledger.grades import Grade

BUREAU = Meta(actor_id="bureau", actor_role="finance_bureau", command_id="cmd-00000001")
UNIT = Meta(actor_id="unit", actor_role="budget_unit", command_id="cmd-00000002")


def subject() -> Subject:
    return Subject(code="S1", name="农村最低生活保障金", kind="project", fiscal_year=2022,
                   unit_code="MZJ-1", funds=Decimal("640.85"), is_new=False, is_key=True,
                   tags=[], meta=BUREAU)


def self_evaluated(score: str = "95.00") -> Subject:
    s = subject()
    s.submit_self_evaluation(score=Decimal(score), parts={}, indicator_results=[],
                             rule_version=1, meta=UNIT)
    return s


def evaluate(s: Subject, evaluation_id: str, kind: str, score: str | None,
             commission_id: str | None = None, grade: str | None = None) -> None:
    s.record_evaluation(evaluation_id=evaluation_id, evaluation_kind=kind,
                        commission_id=commission_id, agency_code=None, dimensions=[],
                        score=None if score is None else Decimal(score), published_grade=grade,
                        findings=[], narrative=f"{evaluation_id}的评价情况",
                        evaluated_on=date(2023, 3, 15),
                        rule_version=1, meta=BUREAU)


def spot_check(s: Subject, spot_check_id: str, reviews: str, score: str) -> None:
    s.record_spot_check(spot_check_id=spot_check_id, reviews=reviews, score=Decimal(score),
                        findings=[], meta=BUREAU)


def basis(s: Subject) -> tuple[str, str, Decimal | None] | None:
    found = s.authoritative_basis()
    return None if found is None else (found.kind, found.id, found.score)


def test_nothing_scored_has_no_basis() -> None:
    assert basis(subject()) is None and subject().basis_evaluation() is None


def test_the_self_evaluation_alone_and_its_re_review() -> None:
    s = self_evaluated()
    assert basis(s) == ("self_evaluation", "self", Decimal("95.00"))
    spot_check(s, "spc-1", "self", "82.00")
    assert basis(s) == ("spot_check", "spc-1", Decimal("82.00"))
    assert s.basis_evaluation() is None  # no 评价情况: no annex row


def test_a_department_evaluation_outranks_the_self_evaluation_and_its_re_review() -> None:
    s = self_evaluated()
    evaluate(s, "dep-1", DEPARTMENT, "78.00")
    spot_check(s, "spc-1", "self", "99.00")  # later, of the self-evaluation: outranks nothing
    assert basis(s) == ("evaluation", "dep-1", Decimal("78.00"))


def test_a_later_department_evaluation_never_displaces_the_finance_evaluation() -> None:
    s = self_evaluated()
    evaluate(s, "fin-1", FINANCE, "92.00")
    evaluate(s, "dep-1", DEPARTMENT, "76.00")
    spot_check(s, "spc-1", "dep-1", "70.00")  # a re-review of the department's: still below
    assert basis(s) == ("evaluation", "fin-1", Decimal("92.00"))
    evaluation = s.basis_evaluation()
    assert evaluation is not None and evaluation.narrative == "fin-1的评价情况"
    with pytest.raises(RuleViolation) as refused:
        s.assign_grade(Grade.FAIR, "evaluation", "dep-1", SCALE, 1, BUREAU)
    assert (refused.value.code, refused.value.field) == ("BASIS_NOT_AUTHORITATIVE", "basis")
    s.assign_grade(Grade.EXCELLENT, "evaluation", "fin-1", SCALE, 1, BUREAU)
    assert s.grade is not None and s.grade.basis_id == "fin-1"


def test_a_re_review_replaces_the_score_of_the_evaluation_it_reviews() -> None:
    s = self_evaluated()
    evaluate(s, "dep-1", DEPARTMENT, "88.00")
    spot_check(s, "spc-1", "dep-1", "91.00")
    spot_check(s, "spc-2", "dep-1", "90.00")
    assert basis(s) == ("spot_check", "spc-2", Decimal("90.00"))
    evaluate(s, "fin-1", FINANCE, "84.00")  # a 财政评价 comes later: it is the basis now
    assert basis(s) == ("evaluation", "fin-1", Decimal("84.00"))


def test_within_a_kind_the_latest_recorded() -> None:
    s = subject()
    evaluate(s, "fin-1", FINANCE, "92.00")
    evaluate(s, "dep-1", DEPARTMENT, "80.00")
    evaluate(s, "fin-2", FINANCE, None, grade="GOOD")  # an imported, grade-only 财政评价
    assert basis(s) == ("evaluation", "fin-2", None)
    with pytest.raises(RuleViolation) as refused:
        s.assign_grade(Grade.EXCELLENT, "evaluation", "fin-2", SCALE, 1, BUREAU)
    assert refused.value.code == "GRADE_CONTRADICTS_PUBLISHED"


@pytest.mark.parametrize(("recorded_by", "kind"), [(BUREAU, FINANCE), (UNIT, DEPARTMENT)])
def test_a_stored_third_party_evaluation_is_its_commissioners(recorded_by: Meta,
                                                             kind: str) -> None:
    """An earlier build's commission did not say whose evaluation it commissioned, and its
    agency's evaluation was stored as third_party: both are read by who recorded the
    commission (ledger.evaluation_kinds.legacy_commission_kind)."""
    s = self_evaluated()
    s._commissioned(commission_id="com-1", agency_code="AG1", commissioned_by="FB",
                    meta=recorded_by)  # as stored then: no evaluation_kind
    evaluate(s, "eva-1", LEGACY_THIRD_PARTY, "92.00", commission_id="com-1")
    assert s.commissions["com-1"].kind == kind and s.evaluations["eva-1"].kind == kind
    evaluate(s, "dep-2", DEPARTMENT, "70.00")
    # as a 财政评价 it stays the basis; as a 部门评价 the later one of that kind is
    assert basis(s) == ("evaluation", "eva-1" if kind == FINANCE else "dep-2",
                        Decimal("92.00" if kind == FINANCE else "70.00"))


def test_a_commission_recorded_now_says_whose_evaluation_it_is() -> None:
    s = subject()
    s.commission("com-1", "AG1", "MZJ", DEPARTMENT, BUREAU)  # whoever recorded it
    evaluate(s, "eva-1", LEGACY_THIRD_PARTY, "92.00", commission_id="com-1")
    assert s.evaluations["eva-1"].kind == DEPARTMENT


def test_ranked_and_the_legacy_rule() -> None:
    assert ranked([]) is None
    assert ranked([(DEPARTMENT, 1), (FINANCE, 2), (DEPARTMENT, 3)]) == 2
    assert ranked([(FINANCE, 1), (FINANCE, 2)]) == 2
    assert ranked([(DEPARTMENT, 1), (DEPARTMENT, 2)]) == 2
    assert legacy_commission_kind(True) == DEPARTMENT
    assert legacy_commission_kind(False) == FINANCE


def test_the_command_takes_exactly_the_kinds() -> None:
    annotation = c.RecordEvaluation.model_fields["kind"].annotation
    literal = next(a for a in typing.get_args(annotation) if a is not type(None))
    assert typing.get_args(literal) == KINDS
