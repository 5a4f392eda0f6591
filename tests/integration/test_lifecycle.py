"""Every lifecycle step of docs/domain.md#lifecycle as a command that records an event, on
both stores."""

from __future__ import annotations

from decimal import Decimal

from ledger.application import Ledger
from ledger.log import read_log
from tests.integration.helpers import (
    INDICATORS,
    PROJECT_DIMS,
    approved_subject,
    do,
    evaluated_subject,
    max_position,
    setup_units,
)


def types_after(app: Ledger, position: int) -> list[str]:
    return [r.type for r in read_log(app, start=position + 1)
            if r.type != "CommandRecord.Accepted"]


def test_whole_lifecycle_records_one_event_per_step(ledger: Ledger) -> None:
    setup_units(ledger)
    start = max_position(ledger)
    approved_subject(ledger, "S1", funds="150.00", is_new=True)
    do(ledger, "adjust_goals", subject_code="S1", indicators=[
        *INDICATORS[:2], {**INDICATORS[2], "target": "92"}], reason="年中调整满意度目标")
    mon = do(ledger, "record_monitoring", subject_code="S1", round_name="1-8月",
             window_start="2022-01-01", window_end="2022-08-31", budget_amount="150.00",
             executed_amount="30.00",
             indicators=[{"name": "覆盖人数", "progress": "70", "likelihood": "完全不可能",
                          "deviation_cause": "经费保障", "corrective_measures": "加快拨付"}])
    selfe = do(ledger, "submit_self_evaluation", subject_code="S1", budget_amount="150.00",
               executed_amount="150.00", indicator_results=[
                   {"name": "覆盖人数", "actual": "800"}, {"name": "保障水平", "achieved": True},
                   {"name": "满意度", "actual": "95"}])
    do(ledger, "review_self_evaluation", subject_code="S1", version=1, decision="accept")
    com = do(ledger, "commission_evaluation", subject_code="S1", agency_code="AG1",
             commissioned_by="FB")
    ev = do(ledger, "record_evaluation", subject_code="S1", kind="finance",
            commission_id=com.ids["commissionId"], agency_code="AG1", dimensions=PROJECT_DIMS,
            narrative="评价为优", findings=["绩效目标未细化"], evaluated_on="2023-03-15")
    spot = do(ledger, "record_spot_check", subject_code="S1",
              reviews=ev.ids["evaluationId"], score="88.5")
    do(ledger, "assign_grade", subject_code="S1", grade="GOOD", basis_kind="spot_check",
       basis_id=spot.ids["spotCheckId"])
    do(ledger, "apply_result", subject_code="S1", kind="reduce", amount="20.00",
       cites_kind="evaluation", cites_id=ev.ids["evaluationId"])
    do(ledger, "apply_result", subject_code="S1", kind="recover", amount="5.50",
       cites_kind="grade")
    rec = do(ledger, "request_rectification", subject_code="S1", items=["细化绩效目标"],
             deadline="2023-06-30")
    rid = rec.ids["rectificationId"]
    do(ledger, "report_rectification", subject_code="S1", rectification_id=rid, report="已细化")
    do(ledger, "review_rectification", subject_code="S1", rectification_id=rid,
       decision="return", comments="仍不够具体")
    do(ledger, "report_rectification", subject_code="S1", rectification_id=rid, report="已补充")
    do(ledger, "review_rectification", subject_code="S1", rectification_id=rid, decision="accept")
    do(ledger, "record_disclosure", fiscal_year=2022, audience="peoples_congress",
       title="2022年重点项目绩效目标", subject_codes=["S1"], content_hash="ab" * 32,
       content_position=max_position(ledger))

    assert types_after(ledger, start) == [
        "Subject.Registered", "Subject.ExAnteAssessed", "Subject.GoalsDeclared",
        "Subject.GoalsApproved", "Subject.GoalsAdjusted", "Subject.MonitoringRecorded",
        "Subject.SelfEvaluationSubmitted", "SelfEvaluationTable.SelfEvaluationAccepted",
        "Subject.EvaluationCommissioned",
        "Subject.EvaluationRecorded", "Subject.SpotCheckRecorded", "Subject.GradeAssigned",
        "Subject.ResultApplied", "Subject.ResultApplied", "Subject.RectificationRequested",
        "Subject.RectificationReported", "Subject.RectificationReturned",
        "Subject.RectificationReported", "Subject.RectificationAccepted",
        "Disclosure.Recorded"]
    subject = ledger.subject("S1")
    assert subject.goal_revision == 2
    warnings = {w.code for w in subject.monitoring[0].warnings}
    assert warnings == {"EXECUTION_BEHIND", "PROGRESS_GAP", "GOAL_UNACHIEVABLE"}
    assert mon.ids["snapshotId"] == subject.monitoring[0].id
    # 10 (execution) + 40/80·50·0.8 + 40/80·50 + 10·1 → output/outcome split by the tree.
    assert subject.self_evaluation is not None
    assert Decimal(selfe.ids["score"]) == subject.self_evaluation.score
    grade = subject.grade
    assert grade is not None
    assert (grade.grade, grade.score, grade.basis_kind, grade.basis_id,
            grade.scale_version) == ("GOOD", Decimal("88.50"), "spot_check",
                                        spot.ids["spotCheckId"], 1)
    assert subject.rectifications[rid].status == "accepted"
    assert {r.kind for r in subject.results.values()} == {"reduce", "recover"}


def test_agency_library_lifecycle(ledger: Ledger) -> None:
    setup_units(ledger)
    do(ledger, "assess_agency", code="AG1", year=2022, score="86", rating="良好")
    do(ledger, "suspend_agency", code="AG1", reason="执业质量考核不合格")
    assert ledger.agency("AG1").status == "suspended"
    do(ledger, "reinstate_agency", code="AG1", reason="整改完成")
    do(ledger, "remove_agency", code="AG1", reason="退出机构库")
    assert ledger.agency("AG1").status == "removed"
    do(ledger, "admit_expert", code="E1", name="张三", fields=["财政"])
    do(ledger, "remove_expert", code="E1", reason="到期")
    assert ledger.expert("E1").status == "removed"


def test_self_evaluation_without_satisfaction_moves_its_weight(ledger: Ledger) -> None:
    setup_units(ledger)
    do(ledger, "register_subject", code="S2", name="x", kind="project", fiscal_year=2022,
       unit_code="MZJ", funds="10.00")
    do(ledger, "declare_goals", subject_code="S2", indicators=INDICATORS[:2])
    do(ledger, "review_goals", subject_code="S2", decision="approve")
    result = do(ledger, "submit_self_evaluation", subject_code="S2", budget_amount="10.00",
                executed_amount="10.00", indicator_results=[
                    {"name": "覆盖人数", "actual": "1000"}, {"name": "保障水平", "achieved": True}])
    assert result.ids["score"] == "100.00"
    evaluated = ledger.subject("S2").self_evaluations[-1]
    assert evaluated is not None
    parts = {p.name: p.points for p in evaluated.parts}
    assert parts["satisfaction"] == 0 and parts["output"] + parts["outcome"] == 90


def test_rules_are_versioned_data(ledger: Ledger) -> None:
    setup_units(ledger)
    evaluation_id = evaluated_subject(ledger)
    # A place where 中 starts at 70: adopted as version 2 from 2022-01-01.
    do(ledger, "adopt_rules", rules={"version": 2, "effective_from": "2022-01-01",
                                     "grade_scale": {"bands": [
                                         {"grade": "EXCELLENT", "lower": "95"},
                                         {"grade": "GOOD", "lower": "80"},
                                         {"grade": "FAIR", "lower": "70"},
                                         {"grade": "POOR", "lower": "0"}]}})
    do(ledger, "assign_grade", subject_code="S1", grade="GOOD", basis_kind="evaluation",
       basis_id=evaluation_id)
    grade = ledger.subject("S1").grade
    assert grade is not None and grade.scale_version == 2
