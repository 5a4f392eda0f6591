"""The self-evaluation table (项目支出绩效自评表): scored by the year's rule, versioned, reviewed.

Stated cases of the issue, on the pure scoring function and through the commands of an
in-memory ledger; every figure below is computed by hand from the rule in docs/domain.md.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.domain.records import GoalIndicator
from ledger.errors import InvalidInput, RuleViolation
from ledger.rules import SelfEvaluationWeights
from ledger.runtime import Actor
from ledger.scoring import budget_table, score_table
from tests.integration.helpers import do, max_position, setup_units

# 产出 8 + 8 + 34 = 50, 效益 30, 满意度 10: the goals' weights are the table's 分值 as given.
GOALS = [
    {"level1": "产出", "level2": "数量", "name": "建成数量", "comparator": ">=",
     "target": "50", "unit": "个", "weight": "8"},
    {"level1": "产出", "level2": "成本", "name": "单位成本", "comparator": "<=",
     "target": "90", "unit": "万元", "weight": "8"},
    {"level1": "产出", "level2": "时效", "name": "按期完成率", "comparator": ">=",
     "target": "95", "unit": "%", "weight": "34"},
    {"level1": "效益", "level2": "社会效益", "name": "服务保障水平",
     "comparator": "qualitative", "target": "有效提升", "unit": "", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度", "name": "满意度", "comparator": ">=",
     "target": "90", "unit": "%", "weight": "10"},
]
INDICATORS = tuple(map(GoalIndicator.of, GOALS))
UNIT = Actor(id="u1", role="budget_unit", unit_code="MZJ")


def results(built: str = "45", cost: str = "100", band: str = "部分达成") -> list[dict[str, Any]]:
    return [{"name": "建成数量", "actual": built, "deviation_reason": "两处选址调整，顺延至次年"},
            {"name": "单位成本", "actual": cost}, {"name": "按期完成率", "actual": "95"},
            {"name": "服务保障水平", "band": band}, {"name": "满意度", "actual": "92"}]


DEFAULT_RULE = SelfEvaluationWeights()


def scored(rule: SelfEvaluationWeights = DEFAULT_RULE, budget: str = "9000.00",
           executed: str = "8997.40", **kw: str) -> tuple[Decimal, dict[str, Any]]:
    score, _, table = score_table(INDICATORS, results(**kw),
                                  budget_table([], Decimal(budget), Decimal(executed)), rule)
    return score, table


def by_name(table: dict[str, Any]) -> dict[str, Decimal]:
    return {row["name"]: row["score"] for row in table["indicators"]}


def test_the_issues_stated_cases() -> None:
    score, table = scored()
    rows = by_name(table)
    assert rows["建成数量"] == Decimal("7.20")  # ≥50个, 45 → 45/50 × 8
    assert rows["单位成本"] == Decimal("7.20")  # ≤90万元, 100 → 90/100 × 8
    assert rows["服务保障水平"] == Decimal("18.00")  # 部分达成: 0.6 × 30
    assert rows["按期完成率"] == Decimal("34.00") and rows["满意度"] == Decimal("10.00")
    # 执行率 8997.40/9000 = 99.971…%: 9.9971 points, ROUND_HALF_UP to 0.01 → 10.00.
    totals = {t["name"]: t["score"] for t in table["totals"]}
    assert totals == {"预算执行率": Decimal("10.00"), "产出指标": Decimal("48.40"),
                      "效益指标": Decimal("18.00"), "满意度指标": Decimal("10.00")}
    assert table["execution_rate"] == Decimal("99.97")
    assert score == Decimal("86.40") == sum(totals.values())
    assert "ROUND_HALF_UP" in table["rule"] and "部分达成 0.6" in table["rule"]


def test_a_cheaper_cost_is_capped_at_its_points() -> None:
    assert by_name(scored(cost="60")[1])["单位成本"] == Decimal("8.00")  # 90/60 × 8 = 12 → 8


def test_the_rounding_and_the_bands_are_rule_data() -> None:
    down = SelfEvaluationWeights(rounding="ROUND_DOWN")
    assert {t["name"]: t["score"] for t in scored(down)[1]["totals"]}["预算执行率"] == \
        Decimal("9.99")
    bands = SelfEvaluationWeights(qualitative_bands={"达成": "1", "部分达成": "0.5",
                                                     "未达成": "0"})
    assert by_name(scored(bands)[1])["服务保障水平"] == Decimal("15.00")
    assert by_name(scored(band="未达成")[1])["服务保障水平"] == Decimal("0.00")


def test_an_equal_indicator_scores_in_full_within_its_tolerance_else_nothing() -> None:
    equal = GoalIndicator.of({**GOALS[4], "comparator": "=", "target": "90"})
    goals = (*INDICATORS[:4], equal)
    budget = budget_table([], Decimal("1.00"), Decimal("1.00"))
    for tolerance, actual, expected in (("0", "90", "10.00"), ("0", "92", "0.00"),
                                        ("5", "94", "10.00"), ("5", "95", "0.00")):
        rule = SelfEvaluationWeights(equal_tolerance_percent=tolerance)
        found = [{**r, "actual": actual} if r["name"] == "满意度" else r for r in results()]
        rows = {r["name"]: r["score"] for r in score_table(goals, found, budget, rule)[2]
                ["indicators"]}
        assert rows["满意度"] == Decimal(expected), (tolerance, actual)


def test_budget_rows_by_source_make_the_totals() -> None:
    lines = [{"source": "上年结转", "initial_budget": "10.00", "full_year_budget": "20.00",
              "executed": "20.00"},
             {"source": "本年财政拨款", "initial_budget": "80.00", "full_year_budget": "70.00",
              "executed": "61.00"}]
    table = budget_table(lines, None, None)
    assert [line["source"] for line in table["lines"]] == ["本年财政拨款", "上年结转"]
    assert (table["initial_budget"], table["full_year_budget"], table["executed"]) == (
        Decimal("90.00"), Decimal("90.00"), Decimal("81.00"))
    with pytest.raises(InvalidInput) as info:
        budget_table(lines, Decimal("91.00"), None)
    assert info.value.field == "budgetAmount"


# -- through the commands ------------------------------------------------------------------


def subject(app: Ledger) -> None:
    setup_units(app)
    do(app, "register_subject", code="S9", name="相山区民政局2022年养老服务设施", kind="project",
       fiscal_year=2022, unit_code="MZJ", funds="9000.00")
    do(app, "declare_goals", subject_code="S9", indicators=GOALS)
    do(app, "review_goals", subject_code="S9", decision="approve")


def submit(app: Ledger, actor: Actor = UNIT, **kw: str) -> Any:
    return app.submit_self_evaluation({
        "command_id": f"self-evaluation-{max_position(app)}", "subject_code": "S9",
        "budget_lines": [{"source": "本年财政拨款", "initial_budget": "9000.00",
                          "full_year_budget": "9000.00", "executed": "8997.40"}],
        "indicator_results": results(**kw)}, actor)


def test_the_result_names_the_rule_version_that_scored_it(memory_ledger: Ledger) -> None:
    subject(memory_ledger)
    do(memory_ledger, "adopt_rules", rules={"version": 3, "effective_from": "2022-01-01",
                                            "self_evaluation": {"rounding": "ROUND_DOWN"}})
    result = submit(memory_ledger)
    assert result.ids == {"score": "86.39", "selfEvaluationVersion": "1", "ruleVersion": "3"}
    kept = memory_ledger.subject("S9").self_evaluations[0]
    assert (kept.rule_version, kept.status, kept.execution_rate) == (3, "submitted",
                                                                     Decimal("99.97"))
    assert "ROUND_DOWN" in kept.rule
    assert kept.indicators[0].deviation_reason == "两处选址调整，顺延至次年"
    assert kept.budget_lines[0].source == "本年财政拨款"


def test_a_resubmission_keeps_both_and_a_returned_one_is_never_a_basis(
        memory_ledger: Ledger) -> None:
    subject(memory_ledger)
    assert submit(memory_ledger).ids["score"] == "86.40"
    with pytest.raises(RuleViolation) as pending:
        submit(memory_ledger, built="50")
    assert pending.value.code == "SELF_EVALUATION_AWAITS_REVIEW"
    assert memory_ledger.subject("S9").authoritative_basis() is None  # submitted, not accepted
    with pytest.raises(RuleViolation) as bare:
        do(memory_ledger, "review_self_evaluation", subject_code="S9", version=1,
           decision="return")
    assert (bare.value.code, bare.value.field) == ("RETURN_NEEDS_REASONS", "reasons")
    do(memory_ledger, "review_self_evaluation", subject_code="S9", version=1,
       decision="return", reasons=["建成数量与验收记录不符"])
    assert memory_ledger.subject("S9").authoritative_basis() is None
    with pytest.raises(RuleViolation) as grade:
        do(memory_ledger, "assign_grade", subject_code="S9", grade="GOOD",
           basis_kind="self_evaluation", basis_id="self")
    assert grade.value.code == "NO_SCORE"
    assert submit(memory_ledger, built="50", cost="90", band="达成").ids == {
        "score": "100.00", "selfEvaluationVersion": "2", "ruleVersion": "1"}
    do(memory_ledger, "review_self_evaluation", subject_code="S9", version=2,
       decision="accept")
    s = memory_ledger.subject("S9")
    assert [(v.version, v.score, v.status) for v in s.self_evaluations] == [
        (1, Decimal("86.40"), "returned"), (2, Decimal("100.00"), "accepted")]
    assert s.self_evaluations[0].review_reasons == ("建成数量与验收记录不符",)
    basis = s.authoritative_basis()
    assert basis is not None and (basis.kind, basis.score) == ("self_evaluation",
                                                               Decimal("100.00"))


def test_only_the_bureau_reviews_and_only_the_latest_version(memory_ledger: Ledger) -> None:
    subject(memory_ledger)
    submit(memory_ledger)
    with pytest.raises(Exception) as forbidden:
        memory_ledger.review_self_evaluation({"command_id": "review-by-unit", "subject_code": "S9",
                                              "version": 1, "decision": "accept"}, UNIT)
    assert getattr(forbidden.value, "code", None) == "FORBIDDEN"
    with pytest.raises(RuleViolation) as other:
        do(memory_ledger, "review_self_evaluation", subject_code="S9", version=2,
           decision="accept")
    assert other.value.code == "SELF_EVALUATION_NOT_LATEST"


def test_a_submission_stored_before_the_review_step_counts_as_accepted() -> None:
    from ledger.domain.base import Meta
    from ledger.domain.subject import Subject

    meta = Meta(actor_id="t", actor_role="system", command_id="c-1")
    s = Subject(code="S", name="n", kind="project", fiscal_year=2022, unit_code="U",
                funds=Decimal(1), is_new=False, is_key=False, tags=[], meta=meta)
    s.submit_self_evaluation(score=Decimal("99.70"), parts={"output": Decimal("50")},
                             indicator_results=[], rule_version=1, meta=meta)
    assert s.self_evaluation is not None and s.self_evaluation.status == "accepted"
    assert s.self_evaluation.score == Decimal("99.70") and s.self_evaluation.indicators == ()


def test_a_correction_restates_the_version_it_corrects(memory_ledger: Ledger) -> None:
    subject(memory_ledger)
    submit(memory_ledger)
    do(memory_ledger, "review_self_evaluation", subject_code="S9", version=1,
       decision="return", reasons=["请核对"])
    submit(memory_ledger, built="50", cost="90", band="达成")
    do(memory_ledger, "review_self_evaluation", subject_code="S9", version=2,
       decision="accept")
    s = memory_ledger.subject("S9")
    first = memory_ledger.position_of(s.id, 4)  # registered, declared, approved, submitted
    do(memory_ledger, "correct_event", position=first, values={"score": "80.00"},
       reason="笔误")
    s = memory_ledger.subject("S9")
    assert [v.score for v in s.self_evaluations] == [Decimal("80.00"), Decimal("100.00")]
    assert s.self_evaluation is not None and s.self_evaluation.score == Decimal("100.00")
