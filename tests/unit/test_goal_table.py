"""The goal table (绩效目标表) and the indicator library (核心指标库), docs/domain.md §2:
level pairs are the rules' data, library citations must match their entry, and the review
exchange (returns with comments, resubmissions, approval) is kept on the subject."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from ledger.application import Ledger
from ledger.domain.subject import Subject
from ledger.errors import DomainError, RuleViolation
from ledger.rules import COST_AS_LEVEL1
from tests.integration.helpers import INDICATORS, do, max_position, setup_units

SATISFACTION = {"level1": "满意度", "level2": "服务对象满意度", "name": "满意度",
                "comparator": ">=", "target": "90", "unit": "%", "weight": "20"}
LIBRARY_ENTRY = {"code": "TY-MY-001", "sector": "通用", "level1": "满意度",
                 "level2": "服务对象满意度", "name": "服务对象满意度", "unit": "%",
                 "direction": ">=", "reference_value": "90"}


@pytest.fixture
def app(memory_ledger: Ledger) -> Ledger:
    setup_units(memory_ledger)
    do(memory_ledger, "register_subject", code="S1", name="相山区民政局2022年农村最低生活保障金",
       kind="project", fiscal_year=2022, unit_code="MZJ", funds="640.85")
    return memory_ledger


def refused(app: Ledger, code: str, field: str, action: Any) -> DomainError:
    before = max_position(app)
    with pytest.raises(RuleViolation) as info:
        action()
    assert (info.value.code, info.value.field) == (code, field), info.value
    assert max_position(app) == before, "a refusal appends nothing"
    return info.value


def with_indicator(**changes: Any) -> list[dict[str, Any]]:
    return [*INDICATORS[:2], {**SATISFACTION, **changes}]


def subject(app: Ledger) -> Subject:
    found = app.subject("S1")
    return found


# -- level pairs -------------------------------------------------------------------------------

def test_a_level_pair_the_rules_do_not_allow_is_refused_naming_the_indicator(app: Ledger) -> None:
    error = refused(app, "INDICATOR_LEVELS_NOT_ALLOWED", "indicators.2.level2", lambda: do(
        app, "declare_goals", subject_code="S1",
        indicators=with_indicator(level1="产出", level2="服务对象满意度", name="群众满意率")))
    assert "群众满意率" in error.message and "产出" in error.message
    refused(app, "INDICATOR_LEVELS_NOT_ALLOWED", "indicators.0.level1", lambda: do(
        app, "declare_goals", subject_code="S1",
        indicators=[{**INDICATORS[0], "level1": "成本", "level2": "经济成本"}]))


def test_a_rule_version_with_cost_as_level1_is_adoptable(app: Ledger) -> None:
    cost = {"level1": "成本", "level2": "经济成本", "name": "单位成本", "comparator": "<=",
            "target": "500", "unit": "元", "weight": "10"}
    old_cost = {**cost, "level1": "产出", "level2": "成本"}
    do(app, "declare_goals", subject_code="S1", indicators=[*INDICATORS, old_cost])
    do(app, "review_goals", subject_code="S1", decision="approve")
    do(app, "adopt_rules", rules={"version": 2, "effective_from": "2022-01-01",
                                  "indicator_levels": {k: list(v) for k, v in
                                                       COST_AS_LEVEL1.items()}})
    refused(app, "INDICATOR_LEVELS_NOT_ALLOWED", "indicators.3.level2", lambda: do(
        app, "adjust_goals", subject_code="S1", indicators=[*INDICATORS, old_cost],
        reason="按新版指标体系调整"))
    do(app, "adjust_goals", subject_code="S1", indicators=[*INDICATORS, cost],
       reason="按新版指标体系调整")
    assert subject(app).indicators[-1].level1 == "成本"


# -- the indicator library ---------------------------------------------------------------------

def test_a_library_code_must_name_an_active_entry_it_matches(app: Ledger) -> None:
    refused(app, "LIBRARY_INDICATOR_NOT_FOUND", "indicators.2.libraryCode", lambda: do(
        app, "declare_goals", subject_code="S1", indicators=with_indicator(
            library_code="TY-MY-001")))
    do(app, "add_library_indicator", **LIBRARY_ENTRY)
    error = refused(app, "LIBRARY_INDICATOR_MISMATCH", "indicators.2.unit", lambda: do(
        app, "declare_goals", subject_code="S1", indicators=with_indicator(
            library_code="TY-MY-001", unit="分")))
    assert "满意度" in error.message
    refused(app, "LIBRARY_INDICATOR_MISMATCH", "indicators.2.comparator", lambda: do(
        app, "declare_goals", subject_code="S1", indicators=with_indicator(
            library_code="TY-MY-001", comparator="=")))
    do(app, "retire_library_indicator", code="TY-MY-001", reason="并入新版指标")
    refused(app, "LIBRARY_INDICATOR_RETIRED", "indicators.2.libraryCode", lambda: do(
        app, "declare_goals", subject_code="S1", indicators=with_indicator(
            library_code="TY-MY-001")))


def test_library_entries_are_versioned_and_checked(app: Ledger) -> None:
    do(app, "add_library_indicator", **LIBRARY_ENTRY)
    refused(app, "LIBRARY_INDICATOR_EXISTS", "code",
            lambda: do(app, "add_library_indicator", **LIBRARY_ENTRY))
    refused(app, "INDICATOR_LEVELS_NOT_ALLOWED", "level2", lambda: do(
        app, "add_library_indicator", **{**LIBRARY_ENTRY, "code": "X1", "level1": "产出"}))
    do(app, "revise_library_indicator", **{**LIBRARY_ENTRY, "reference_value": "95"},
       reason="提高标准")
    do(app, "declare_goals", subject_code="S1", indicators=with_indicator(
        library_code="TY-MY-001"))
    assert subject(app).indicators[2].library_code == "TY-MY-001"
    from ledger.domain.indicator_library import LIBRARY_ID, IndicatorLibrary
    library = app.load(LIBRARY_ID)
    assert isinstance(library, IndicatorLibrary)
    entry = library.entries["TY-MY-001"]
    assert (entry.revision, entry.reference_value, entry.note) == (2, "95", "提高标准")
    first = app.load(LIBRARY_ID, version=2)
    assert isinstance(first, IndicatorLibrary)
    assert first.entries["TY-MY-001"].reference_value == "90"


# -- the goal table and its review exchange ------------------------------------------------------

def test_the_review_exchange_is_kept_with_each_return_and_resubmission(app: Ledger) -> None:
    do(app, "declare_goals", subject_code="S1", indicators=INDICATORS)
    do(app, "review_goals", subject_code="S1", decision="return", comments="请补充资金来源")
    refused(app, "FUNDS_BY_SOURCE_MISMATCH", "fundsBySource", lambda: do(
        app, "declare_goals", subject_code="S1", indicators=INDICATORS,
        funds_by_source={"current_appropriation": "600.00", "carried_over": "40.00"}))
    do(app, "declare_goals", subject_code="S1", indicators=INDICATORS,
       overall_goal="按时足额发放低保金",
       funds_by_source={"current_appropriation": "600.00", "carried_over": "40.85"})
    after_resubmission = subject(app).version
    do(app, "review_goals", subject_code="S1", decision="approve", comments="同意")
    do(app, "adjust_goals", subject_code="S1", indicators=INDICATORS, reason="调整目标值")
    table = subject(app).goal_table()
    assert [(h.action, h.revision, h.text) for h in table.history] == [
        ("declared", 1, ""), ("returned", 1, "请补充资金来源"), ("declared", 2, ""),
        ("approved", 2, "同意"), ("adjusted", 3, "调整目标值")]
    assert table.overall_goal == "按时足额发放低保金"  # the adjustment restated no header
    assert table.funds_by_source is not None and str(table.funds_by_source.total) == "640.85"
    earlier = app.load(UUID(str(subject(app).id)), version=after_resubmission)
    assert isinstance(earlier, Subject)
    assert [h.action for h in earlier.goal_table().history][-1] == "declared"
