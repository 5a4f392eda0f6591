"""Pure rules: the grade scale, money, self-evaluation scoring, deviation warnings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ledger.domain.records import GoalIndicator
from ledger.errors import InvalidInput
from ledger.grades import DEFAULT_GRADE_SCALE, Grade, GradeBand, GradeScale
from ledger.money import parse_money
from ledger.monitoring import deviation_warnings, execution_rate, expected_execution
from ledger.rules import MonitoringRule, SelfEvaluationWeights
from ledger.scoring import budget_table, fraction, score_table


@pytest.mark.parametrize(("score", "grade"), [
    ("100", Grade.EXCELLENT), ("90", Grade.EXCELLENT), ("89.99", Grade.GOOD),
    ("89.5", Grade.GOOD), ("80", Grade.GOOD), ("79.99", Grade.FAIR), ("60", Grade.FAIR),
    ("59.99", Grade.POOR), ("0", Grade.POOR)])
def test_default_scale_lower_bounds_are_inclusive(score: str, grade: Grade) -> None:
    assert DEFAULT_GRADE_SCALE.grade_for(Decimal(score)) is grade


@pytest.mark.parametrize("score", ["-0.01", "100.01"])
def test_scores_outside_the_scale_are_refused(score: str) -> None:
    with pytest.raises(ValueError, match="within"):
        DEFAULT_GRADE_SCALE.grade_for(Decimal(score))


def test_a_scale_must_descend_and_reach_zero() -> None:
    with pytest.raises(ValidationError):
        GradeScale(bands=(GradeBand(grade=Grade.GOOD, lower=Decimal(80)),
                          GradeBand(grade=Grade.EXCELLENT, lower=Decimal(90)),
                          GradeBand(grade=Grade.POOR, lower=Decimal(0))))
    with pytest.raises(ValidationError):
        GradeScale(bands=(GradeBand(grade=Grade.GOOD, lower=Decimal(80)),))


def test_grade_labels_round_trip() -> None:
    assert [g.label for g in Grade] == ["优", "良", "中", "差"]
    assert Grade.parse("良") is Grade.GOOD and Grade.parse("excellent") is Grade.EXCELLENT
    with pytest.raises(ValueError):
        Grade.from_label("A")


@pytest.mark.parametrize(("raw", "expected"), [
    ("640.85", "640.85"), ("53", "53.00"), (53, "53.00"), ("1,116.10", "1116.10"),
    (Decimal("0.1"), "0.10")])
def test_money_parses_to_two_places(raw: object, expected: str) -> None:
    assert str(parse_money(raw)) == expected


@pytest.mark.parametrize("raw", [0.1, True, "1.001", "-1", "inf", "abc", None])
def test_money_refuses_floats_and_inexact_amounts(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_money(raw)


def test_satisfaction_weight_moves_to_output_and_outcome() -> None:
    moved = SelfEvaluationWeights().without_satisfaction()
    assert (moved.budget_execution, moved.output + moved.outcome, moved.satisfaction) == (
        Decimal(10), Decimal(90), Decimal(0))
    assert moved.output == Decimal("56.25") and moved.outcome == Decimal("33.75")


def goal(**fields: str) -> GoalIndicator:
    return GoalIndicator.of({"level1": "产出", "level2": "数量", "weight": "10", **fields})


def test_fraction_is_proportional_and_capped() -> None:
    rule = SelfEvaluationWeights()
    more = goal(name="x", comparator=">=", target="100")
    less = goal(name="y", comparator="<=", target="10")
    assert fraction(more, {"actual": "80"}, rule) == Decimal("0.8")
    assert fraction(more, {"actual": "120"}, rule) == 1
    assert fraction(less, {"actual": "20"}, rule) == Decimal("0.5")
    assert fraction(goal(name="z", comparator="qualitative", target="好"),
                    {"achieved": False}, rule) == 0
    with pytest.raises(InvalidInput):
        fraction(more, {"actual": "许多"}, rule)


def test_self_evaluation_score() -> None:
    indicators = [
        goal(level1="产出", name="a", comparator=">=", target="100", weight="50"),
        goal(level1="效益", name="b", comparator="qualitative", target="好", weight="30"),
        goal(level1="满意度", name="c", comparator=">=", target="90", weight="20"),
    ]
    budget = budget_table([], Decimal("100"), Decimal("80"))
    score, parts, _ = score_table(
        indicators, [{"name": "a", "actual": "50"}, {"name": "b", "achieved": True},
                     {"name": "c", "actual": "90"}], budget, SelfEvaluationWeights())
    assert parts == {"budget_execution": Decimal("8.00"), "output": Decimal("25.00"),
                     "outcome": Decimal("30.00"), "satisfaction": Decimal("10.00")}
    assert score == Decimal("73.00")
    with pytest.raises(InvalidInput, match="no result"):
        score_table(indicators, [], budget, SelfEvaluationWeights())


def test_deviation_warnings_follow_the_rule() -> None:
    assert expected_execution(date(2022, 8, 31), 2022) == Decimal("66.67")
    rate = execution_rate(Decimal("100"), Decimal("50"))
    rule = MonitoringRule()
    codes = [w["code"] for w in deviation_warnings(rule, 2022, date(2022, 8, 31), rate, [
        {"name": "a", "progress": Decimal("70"), "likelihood": "确定能"},
        {"name": "b", "progress": Decimal("55"), "likelihood": "完全不可能"}])]
    assert codes == ["EXECUTION_BEHIND", "PROGRESS_GAP", "GOAL_UNACHIEVABLE"]
    lenient = MonitoringRule(execution_tolerance_points=Decimal(20),
                             max_progress_gap_points=Decimal(25))
    assert deviation_warnings(lenient, 2022, date(2022, 8, 31), rate, [
        {"name": "a", "progress": Decimal("70"), "likelihood": "确定能"}]) == []


@pytest.mark.parametrize("raw", ["1e999999", "-1e999999", "1000000000000"])
def test_absurd_amounts_are_refused_as_values(raw: str) -> None:
    with pytest.raises(ValueError, match="finite amount below"):
        parse_money(raw)
