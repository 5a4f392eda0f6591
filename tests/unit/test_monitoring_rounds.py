"""Monitoring rounds, deviation causes and the actions that follow a warning
(docs/domain.md, lifecycle step 3), through the commands on an in-memory ledger."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.application import Ledger
from ledger.domain.subject import Subject
from ledger.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from ledger.runtime import Actor, CommandResult
from tests.integration.helpers import approved_subject, do, setup_units
from tests.unit.test_subject_rules import refused

UNIT = Actor(id="unit", role="budget_unit", unit_code="MZJ")


@pytest.fixture
def app(memory_ledger: Ledger) -> Ledger:
    setup_units(memory_ledger)
    approved_subject(memory_ledger, "S1")
    return memory_ledger


def open_round(app: Ledger, round_id: str = "R-2022-08", **extra: Any) -> CommandResult:
    fields: dict[str, Any] = {"round_id": round_id, "name": "2022年1-8月绩效运行监控",
                              "fiscal_year": 2022, "window_end_month": 8,
                              "due_on": "2022-09-20", **extra}
    return do(app, "open_monitoring_round", **fields)


def monitor(app: Ledger, round_id: str | None = "R-2022-08", on: str = "2022-09-15",
            end: str = "2022-08-31", executed: str = "200.00",
            cause: str | None = None) -> CommandResult:
    return do(app, "record_monitoring", subject_code="S1", round_name="1-8月",
              round_id=round_id, window_start="2022-01-01", window_end=end,
              budget_amount="640.85", executed_amount=executed, effective_on=on,
              indicators=[{"name": "覆盖人数", "progress": "60", "likelihood": "有可能",
                           "deviation_cause": cause, "corrective_measures": "加快拨付"}])


def test_a_round_takes_its_window_end_from_the_rules_when_not_given(app: Ledger) -> None:
    open_round(app, window_end_month=None, due_on="2022-08-20")
    # Version 1 of the rules: the national 1–7月 window.
    refused(app, RuleViolation, "ROUND_WINDOW_MISMATCH", "windowEnd", lambda: monitor(app))
    assert "snapshotId" in monitor(app, end="2022-07-31").ids


def test_a_round_is_opened_once_with_a_sound_window_and_due_date(app: Ledger) -> None:
    refused(app, InvalidInput, "INVALID_INPUT", "windowEndMonth",
            lambda: open_round(app, window_start_month=9))
    refused(app, InvalidInput, "INVALID_INPUT", "dueOn",
            lambda: open_round(app, due_on="2022-08-30"))
    refused(app, NotFound, "UNIT_NOT_FOUND", "unitCodes",
            lambda: open_round(app, unit_codes=["NOPE"]))
    assert open_round(app).ids == {"roundId": "R-2022-08"}
    with pytest.raises(RuleViolation):
        open_round(app)


def test_only_the_bureau_opens_and_closes_rounds_and_acts_on_warnings(app: Ledger) -> None:
    data = {"command_id": "unit-opens-1", "round_id": "R", "name": "r", "fiscal_year": 2022,
            "due_on": "2022-09-20"}
    with pytest.raises(Forbidden):
        app.open_monitoring_round(data, UNIT)
    open_round(app)
    snapshot = monitor(app).ids["snapshotId"]
    with pytest.raises(Forbidden):
        app.act_on_warning({"command_id": "unit-acts-1", "subject_code": "S1",
                            "snapshot_id": snapshot, "warning_index": 0,
                            "action": "suspend", "remarks": "暂缓"}, UNIT)


def test_a_snapshot_cites_an_open_round_that_covers_its_subject(app: Ledger) -> None:
    refused(app, NotFound, "MONITORING_ROUND_NOT_FOUND", "roundId", lambda: monitor(app))
    open_round(app, round_id="OTHER-KIND", subject_kinds=["department_overall"])
    refused(app, RuleViolation, "SUBJECT_NOT_IN_ROUND", "roundId",
            lambda: monitor(app, round_id="OTHER-KIND"))
    do(app, "register_unit", code="JYJ", name="相山区教育局")
    open_round(app, round_id="OTHER-UNIT", unit_codes=["JYJ"])
    refused(app, RuleViolation, "SUBJECT_NOT_IN_ROUND", "roundId",
            lambda: monitor(app, round_id="OTHER-UNIT"))
    do(app, "register_unit", code="SUB", name="所属单位", kind="subordinate", parent_code="MZJ")
    do(app, "register_subject", code="S2", name="所属单位项目", kind="project", fiscal_year=2022,
       unit_code="SUB", funds="10.00")
    open_round(app, round_id="DEPT", unit_codes=["MZJ"])  # a department with the units under it
    assert "snapshotId" in monitor(app, round_id="DEPT").ids
    do(app, "close_monitoring_round", round_id="DEPT")
    refused(app, RuleViolation, "ROUND_CLOSED", "roundId", lambda: monitor(app, round_id="DEPT"))
    refused(app, RuleViolation, "ROUND_CLOSED", "roundId",
            lambda: do(app, "close_monitoring_round", round_id="DEPT"))


def test_deviation_causes_come_from_the_rules_in_force(app: Ledger) -> None:
    refused(app, RuleViolation, "UNKNOWN_DEVIATION_CAUSE", "indicators.0.deviationCause",
            lambda: monitor(app, round_id=None, cause="政策变化"))
    assert "snapshotId" in monitor(app, round_id=None, cause="经费保障").ids
    do(app, "adopt_rules", rules={"version": 2, "effective_from": "2022-01-01", "monitoring": {
        "deviation_causes": ["政策变化", "年初预算编制不合理", "其他"]}})
    assert "snapshotId" in monitor(app, round_id=None, cause="政策变化").ids
    refused(app, RuleViolation, "UNKNOWN_DEVIATION_CAUSE", "indicators.0.deviationCause",
            lambda: monitor(app, round_id=None, cause="经费保障"))


def test_an_action_cites_a_warning_and_is_in_the_subjects_history(app: Ledger) -> None:
    open_round(app)
    snapshot = monitor(app, executed="100.00").ids["snapshotId"]  # 15.6%: behind, and a gap
    subject = app.subject("S1")
    assert [w.code for w in subject.monitoring[0].warnings][:1] == ["EXECUTION_BEHIND"]
    act: dict[str, Any] = {"subject_code": "S1", "snapshot_id": snapshot, "warning_index": 0,
                           "remarks": "执行进度滞后"}
    refused(app, RuleViolation, "SNAPSHOT_NOT_FOUND", "snapshotId",
            lambda: do(app, "act_on_warning", **{**act, "snapshot_id": "mon-x"},
                       action="suspend"))
    refused(app, RuleViolation, "WARNING_NOT_FOUND", "warningIndex",
            lambda: do(app, "act_on_warning", **{**act, "warning_index": 9}, action="suspend"))
    refused(app, RuleViolation, "AMOUNT_REQUIRED", "amount",
            lambda: do(app, "act_on_warning", **act, action="adjust_budget"))
    refused(app, RuleViolation, "AMOUNT_EXCEEDS_FUNDS", "amount",
            lambda: do(app, "act_on_warning", **act, action="recover_funds", amount="999.00"))
    refused(app, RuleViolation, "AMOUNT_NOT_APPLICABLE", "amount",
            lambda: do(app, "act_on_warning", **act, action="suspend", amount="1.00"))
    done = do(app, "act_on_warning", **act, action="adjust_budget", amount="200.00",
              effective_on="2022-09-25")
    assert done.events == ["MonitoringFollowUp.WarningActed"]
    [action] = app.subject("S1").warning_actions.values()
    assert (action.id, action.snapshot_id, action.warning_code, action.action, action.label,
            str(action.amount)) == (done.ids["actionId"], snapshot, "EXECUTION_BEHIND",
                                    "adjust_budget", "调整预算", "200.00")


def test_a_snapshot_keeps_its_round_and_date(app: Ledger) -> None:
    open_round(app)
    monitor(app, on="2022-09-28")
    subject = app.subject("S1")
    assert isinstance(subject, Subject)
    [snapshot] = subject.monitoring
    assert (snapshot.round_id, str(snapshot.reported_on)) == ("R-2022-08", "2022-09-28")
