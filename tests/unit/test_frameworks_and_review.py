"""Evaluation frameworks chosen per evaluation, sampling plans and per-indicator re-scores
(docs/domain.md, steps 5 and 6), through the commands on an in-memory ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.application import Ledger
from ledger.errors import InvalidInput, RuleViolation
from ledger.frameworks import DEFAULT_FRAMEWORKS
from ledger.rules import RuleSet
from ledger.runtime import CommandResult
from ledger.sampling import draw
from tests.integration.helpers import (
    BUREAU,
    PROJECT_DIMS,
    approved_subject,
    cid,
    do,
    self_evaluated_subject,
    setup_units,
)
from tests.unit.test_subject_rules import refused

FISCAL_DIMS = [{"name": n, "weight": "20", "score": "17"}
               for n in ("预算编制", "预算执行", "优化支出结构", "财务管理", "财政投入效果")]
TOWNSHIP_DIMS = [{"name": n, "weight": "25", "score": "21"}
                 for n in ("财政综合管理", "财政保障水平", "财政职能作用", "财政可持续发展")]


def plan(app: Ledger, **fields: object) -> CommandResult:
    """draw_sampling_plan (its `method` field would clash with do()'s)."""
    return app.draw_sampling_plan({"command_id": cid(), **fields}, BUREAU)


@pytest.fixture
def app(memory_ledger: Ledger) -> Ledger:
    setup_units(memory_ledger)
    do(memory_ledger, "register_unit", code="QGZ", name="相山区渠沟镇人民政府", kind="township")
    return memory_ledger


def township_subject(app: Ledger, code: str, kind: str) -> None:
    do(app, "register_subject", code=code, name="相山区渠沟镇人民政府2022年", kind=kind,
       fiscal_year=2022, unit_code="QGZ", funds="2841.81", is_key=True)


def evaluate(app: Ledger, code: str, dims: list[dict[str, str]], **extra: str) -> str:
    done = do(app, "record_evaluation", subject_code=code, kind="finance", dimensions=dims,
              narrative="评价为良", evaluated_on="2022-12-20", **extra)
    return str(done.ids["score"])


def test_each_default_framework_is_a_100_point_set() -> None:
    assert {f.code for f in DEFAULT_FRAMEWORKS} == {
        "project", "department_overall", "fiscal_operations", "township_overall"}
    assert all(sum(d.points for d in f.dimensions) == 100 for f in DEFAULT_FRAMEWORKS)
    with pytest.raises(ValueError, match="产出\\+效益 carry 50"):
        RuleSet.model_validate({"frameworks": [{
            "code": "project", "name": "项目", "minimum": {"dimensions": ["产出", "效益"],
                                                            "points": "60"},
            "dimensions": [{"name": "决策", "points": "25"}, {"name": "过程", "points": "25"},
                           {"name": "产出", "points": "25"}, {"name": "效益", "points": "25"}]}],
            "default_frameworks": {"project": "project"}})


def test_the_framework_is_chosen_not_fixed_by_kind(app: Ledger) -> None:
    """A 财政运行综合绩效 is scored on its own five dimensions by default; the 镇's overall
    spending on the 乡镇整体支出 four; either may be chosen for the other."""
    township_subject(app, "KP08", "fiscal_operations")
    township_subject(app, "DO06", "township")
    assert evaluate(app, "KP08", FISCAL_DIMS) == "85.00"
    assert evaluate(app, "DO06", TOWNSHIP_DIMS) == "84.00"
    error = refused(app, InvalidInput, "INVALID_INPUT", "dimensions.name",
                    lambda: evaluate(app, "KP08", TOWNSHIP_DIMS))
    assert "财政综合管理" in error.message and "财政运行综合绩效评价" in error.message
    assert evaluate(app, "KP08", TOWNSHIP_DIMS, framework_code="township_overall") == "84.00"
    kp08 = app.subject("KP08")
    assert [e.framework and e.framework.code for e in kp08.evaluations.values()] == [
        "fiscal_operations", "township_overall"]


def test_points_must_be_the_frameworks_naming_the_dimension(app: Ledger) -> None:
    approved_subject(app)
    moved = [{**d, "weight": w} for d, w in zip(PROJECT_DIMS, ("30", "10", "30", "30"),
                                                strict=True)]
    error = refused(app, InvalidInput, "INVALID_INPUT", "dimensions.weight",
                    lambda: evaluate(app, "S1", moved))
    assert error.message.startswith("决策 carries 20 points")
    refused(app, InvalidInput, "INVALID_INPUT", "dimensions.name",
            lambda: evaluate(app, "S1", PROJECT_DIMS[:3]))
    refused(app, RuleViolation, "FRAMEWORK_NOT_FOUND", "frameworkCode",
            lambda: evaluate(app, "S1", PROJECT_DIMS, framework_code="nope"))


def test_a_commissioned_framework_binds_the_evaluation(app: Ledger) -> None:
    township_subject(app, "DO06", "township")
    com = do(app, "commission_evaluation", subject_code="DO06", agency_code="AG1",
             commissioned_by="FB", framework_code="fiscal_operations")
    commission_id = com.ids["commissionId"]
    refused(app, RuleViolation, "FRAMEWORK_NOT_COMMISSIONED", "frameworkCode",
            lambda: evaluate(app, "DO06", TOWNSHIP_DIMS, commission_id=commission_id,
                             agency_code="AG1", framework_code="township_overall"))
    refused(app, InvalidInput, "INVALID_INPUT", "dimensions.name",
            lambda: evaluate(app, "DO06", TOWNSHIP_DIMS, commission_id=commission_id,
                             agency_code="AG1"))
    assert evaluate(app, "DO06", FISCAL_DIMS, commission_id=commission_id,
                    agency_code="AG1") == "85.00"


def test_a_random_draw_is_reproducible_and_a_key_draw_gives_reasons(app: Ledger) -> None:
    for code in ("S1", "S2", "S3"):
        approved_subject(app, code)
    done = plan(app, plan_id="P1", fiscal_year=2022, title="2022年抽查",
              method="random", seed="2023-05-01", population=["S1", "S2", "S3"], count=2)
    drawn = app._sampling_plan(done.ids["planId"])
    assert [s.subject_code for s in drawn.subjects] == draw(["S1", "S2", "S3"], 2, "2023-05-01")
    assert drawn.unit_codes == ("MZJ",) and drawn.method_label == "随机抽取"
    with pytest.raises(InvalidInput):
        plan(app, plan_id="P2", fiscal_year=2022, title="重点",
           method="key", subjects=[{"subject_code": "S1"}])
    refused(app, RuleViolation, "WRONG_FISCAL_YEAR", "subjects.subjectCode",
            lambda: plan(app, plan_id="P3", fiscal_year=2023, title="重点",
                       method="key", subjects=[{"subject_code": "S1", "reason": "民生重点"}]))


def test_a_spot_check_rescores_indicators_of_a_drawn_subject(app: Ledger) -> None:
    self_evaluated_subject(app, "S1")
    self_evaluated_subject(app, "S2")
    plan(app, plan_id="P1", fiscal_year=2022, title="2022年抽查",
       method="key", subjects=[{"subject_code": "S1", "reason": "民生重点"}])
    refused(app, RuleViolation, "NOT_IN_SAMPLING_PLAN", "planId",
            lambda: do(app, "record_spot_check", subject_code="S2", reviews="self",
                       score="80", plan_id="P1"))
    refused(app, RuleViolation, "UNKNOWN_INDICATOR", "indicators.name",
            lambda: do(app, "record_spot_check", subject_code="S1", reviews="self",
                       score="80", plan_id="P1", indicators=[{"name": "无此指标", "score": "1"}]))
    own = app.subject("S1").self_evaluation
    assert own is not None
    do(app, "record_spot_check", subject_code="S1", reviews="self", score="80", plan_id="P1",
       indicators=[{"name": "覆盖人数", "score": "30", "remarks": "台账不全"}])
    check = next(iter(app.subject("S1").spot_checks.values()))
    assert check.plan_id == "P1" and check.reviewed_score == own.score
    assert check.difference == Decimal("80") - own.score
    assert [(i.name, i.score, i.remarks) for i in check.indicators] == [
        ("覆盖人数", Decimal("30"), "台账不全")]
