"""The role × command matrix, walked in full; the unit scope; agencies and their commissions."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.errors import DomainError, Forbidden, HiddenSubject, NotFound
from ledger.permissions import MATRIX, ROLES
from ledger.runtime import Actor
from tests.integration.helpers import (
    BUREAU,
    INDICATORS,
    PROJECT_DIMS,
    approved_subject,
    cid,
    do,
    evaluated_subject,
    max_position,
    setup_units,
)

ACTORS = {
    "finance_bureau": BUREAU,
    "budget_unit": Actor(id="u1", role="budget_unit", unit_code="MZJ"),
    "agency": Actor(id="a1", role="agency", agency_code="AG1"),
    "auditor": Actor(id="au", role="auditor"),
    "congress": Actor(id="rd", role="congress"),
    "public": Actor(id="anon", role="public"),
    "system": Actor(id="cli", role="system"),
}

YEARS = itertools.count(2040)  # each opening names a year not yet opened

PAYLOADS: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
    "register_unit": lambda ids: {"code": f"U-{cid()[-6:]}", "name": "新单位",
                                  "parent_code": "MZJ"},
    "register_subject": lambda ids: {"code": f"S-{cid()[-6:]}", "name": "x", "kind": "project",
                                     "fiscal_year": 2022, "unit_code": "MZJ", "funds": "1.00"},
    "record_ex_ante_assessment": lambda ids: {"subject_code": "S1", "conclusion": "予以支持",
                                              "dimensions": {"立项必要性": "必要"}},
    "declare_goals": lambda ids: {"subject_code": "S1", "indicators": INDICATORS},
    "review_goals": lambda ids: {"subject_code": "S1", "decision": "approve"},
    "adjust_goals": lambda ids: {"subject_code": "S1", "indicators": INDICATORS,
                                 "reason": "调整"},
    "record_monitoring": lambda ids: {"subject_code": "S1", "round_name": "r",
                                      "window_start": "2022-01-01", "window_end": "2022-07-31",
                                      "budget_amount": "1.00", "executed_amount": "0.50"},
    "submit_self_evaluation": lambda ids: {"subject_code": "S1", "budget_amount": "1.00",
                                           "executed_amount": "1.00", "indicator_results": [
                                               {"name": "覆盖人数", "actual": "1000"},
                                               {"name": "保障水平", "achieved": True},
                                               {"name": "满意度", "actual": "95"}]},
    "review_self_evaluation": lambda ids: {"subject_code": "S1", "version": 1,
                                           "decision": "return", "reasons": ["请核对"]},
    "commission_evaluation": lambda ids: {"subject_code": "S1", "agency_code": "AG1",
                                          "commissioned_by": "FB"},
    "record_evaluation": lambda ids: {"subject_code": "S1", "kind": "finance",
                                      "commission_id": ids["commission"], "agency_code": "AG1",
                                      "dimensions": PROJECT_DIMS, "narrative": "x",
                                      "evaluated_on": "2023-01-01"},
    "draw_sampling_plan": lambda ids: {"plan_id": f"P-{cid()[-6:]}", "fiscal_year": 2022,
                                       "title": "抽查复核", "method": "key", "subjects": [
                                           {"subject_code": "S1", "reason": "民生重点"}]},
    "record_spot_check": lambda ids: {"subject_code": "S1", "reviews": ids["evaluation"],
                                      "score": "91"},
    "assign_grade": lambda ids: {"subject_code": "S1", "grade": "EXCELLENT",
                                 "basis_kind": "evaluation", "basis_id": ids["evaluation"]},
    "apply_result": lambda ids: {"subject_code": "S1", "kind": "transfer_link",
                                 "cites_kind": "evaluation", "cites_id": ids["evaluation"]},
    "request_rectification": lambda ids: {"subject_code": "S1", "items": ["a"],
                                          "deadline": "2023-06-30"},
    "report_rectification": lambda ids: {"subject_code": "S1",
                                         "rectification_id": ids["rectification"],
                                         "report": "done"},
    "review_rectification": lambda ids: {"subject_code": "S1",
                                         "rectification_id": ids["rectification"],
                                         "decision": "return", "comments": "again"},
    "record_disclosure": lambda ids: {"fiscal_year": 2022, "audience": "public", "title": "t",
                                      "subject_codes": ["S1"], "content_hash": "a" * 64,
                                      "content_position": 1},
    "admit_agency": lambda ids: {"code": f"AG-{cid()[-6:]}", "name": "事务所"},
    "declare_agency_relationship": lambda ids: {"code": "AG1", "unit_code": "JYJ",
                                                "relationship": "年度审计"},
    "assess_agency": lambda ids: {"code": "AG1", "year": 2022, "score": "90", "rating": "优秀"},
    "suspend_agency": lambda ids: {"code": "AG9", "reason": "r"},
    "reinstate_agency": lambda ids: {"code": "AG9", "reason": "r"},
    "remove_agency": lambda ids: {"code": "AG8", "reason": "r"},
    "admit_expert": lambda ids: {"code": f"E-{cid()[-6:]}", "name": "专家"},
    "remove_expert": lambda ids: {"code": "E1", "reason": "r"},
    "adopt_rules": lambda ids: {"rules": {"version": 99, "effective_from": "2030-01-01"}},
    "add_library_indicator": lambda ids: {
        "code": f"L-{cid()[-6:]}", "sector": "通用", "level1": "产出", "level2": "时效",
        "name": "按期完成率", "unit": "%", "direction": ">=", "reference_value": "95"},
    "revise_library_indicator": lambda ids: {
        "code": "L1", "sector": "通用", "level1": "产出", "level2": "时效", "name": "按期完成率",
        "unit": "%", "direction": ">=", "reference_value": "98", "reason": "r"},
    "retire_library_indicator": lambda ids: {"code": "L2", "reason": "r"},
    "correct_event": lambda ids: {"position": ids["registered"], "values": {"name": "更正"},
                                  "reason": "r"},
    "open_monitoring_round": lambda ids: {"round_id": f"R-{cid()[-6:]}", "name": "1-8月",
                                          "fiscal_year": 2022, "due_on": "2022-09-20"},
    "close_monitoring_round": lambda ids: {"round_id": "R-MATRIX"},
    "act_on_warning": lambda ids: {"subject_code": "S1", "snapshot_id": "mon-none",
                                   "warning_index": 0, "action": "suspend", "remarks": "暂缓"},
    "open_fiscal_year": lambda ids: {"fiscal_year": next(YEARS)},
    "close_fiscal_year": lambda ids: {"fiscal_year": next(YEARS)},
    "record_budget_request": lambda ids: {
        "fiscal_year": 2023, "code": f"R-{cid()[-6:]}", "unit_code": "MZJ",
        "subject_code": "S1", "funding_source": "一般公共预算", "requested_amount": "1.00"},
    "arrange_budget": lambda ids: {"fiscal_year": 2023, "request_code": "R1",
                                   "arranged_amount": "1.00"},
    "link_transfer": lambda ids: {"fiscal_year": 2023, "code": f"T-{cid()[-6:]}",
                                  "recipient_unit_code": "MZJ", "programme": "p",
                                  "amount": "1.00", "direction": "maintain",
                                  "basis_subject_code": "S1"},
}


def test_every_command_has_a_row_and_a_payload() -> None:
    commands = {name for name in dir(Ledger) if name in MATRIX}
    assert set(MATRIX) == set(PAYLOADS) == commands


def test_the_whole_matrix(ledger: Ledger) -> None:
    setup_units(ledger)
    do(ledger, "register_unit", code="JYJ", name="相山区教育局")
    evaluation_id = evaluated_subject(ledger)
    for code in ("AG8", "AG9"):
        do(ledger, "admit_agency", code=code, name=code)
    do(ledger, "admit_expert", code="E1", name="专家")
    for code in ("L1", "L2"):
        do(ledger, "add_library_indicator", code=code, sector="通用", level1="产出",
           level2="时效", name=code, unit="%", direction=">=")
    do(ledger, "open_monitoring_round", round_id="R-MATRIX", name="1-8月", fiscal_year=2022,
       due_on="2022-09-20")
    rect = do(ledger, "request_rectification", subject_code="S1", items=["a"],
              deadline="2023-06-30")
    com = do(ledger, "commission_evaluation", subject_code="S1", agency_code="AG1",
             commissioned_by="FB")
    ids = {"evaluation": evaluation_id, "rectification": rect.ids["rectificationId"],
           "commission": com.ids["commissionId"],
           "registered": str(ledger.position_of(ledger.subject("S1").id, 1))}
    for command, allowed in sorted(MATRIX.items()):
        for role in ROLES:
            before = max_position(ledger)
            data = {"command_id": cid(), **PAYLOADS[command](ids)}
            try:
                getattr(ledger, command)(data, ACTORS[role])
            except Forbidden as refusal:
                assert max_position(ledger) == before
                if refusal.code == "FORBIDDEN":
                    assert role not in allowed, f"{role} should be able to {command}"
                    continue
                assert role in allowed  # the right is there; the scope refused it
            except DomainError:
                pass  # a rule refusal: the right was granted, the state said no
            assert role in allowed, f"{role} must not be able to {command}"


def test_a_budget_unit_cannot_touch_another_units_subject(ledger: Ledger) -> None:
    setup_units(ledger)
    do(ledger, "register_unit", code="JYJ", name="相山区教育局")
    do(ledger, "register_unit", code="MZJ-1", name="民政局下属单位", parent_code="MZJ")
    do(ledger, "register_subject", code="EDU", name="托幼", kind="project", fiscal_year=2022,
       unit_code="JYJ", funds="53.00")
    do(ledger, "register_subject", code="SUB", name="下属项目", kind="project",
       fiscal_year=2022, unit_code="MZJ-1", funds="5.00")
    unit = ACTORS["budget_unit"]
    before = max_position(ledger)
    with pytest.raises(NotFound) as info:  # refused as if it did not exist
        ledger.declare_goals({"command_id": cid(), "subject_code": "EDU",
                              "indicators": INDICATORS}, unit)
    assert info.value.code == "SUBJECT_NOT_FOUND" and max_position(ledger) == before
    with pytest.raises(Forbidden):
        ledger.register_subject({"command_id": cid(), "code": "X", "name": "x",
                                 "kind": "project", "fiscal_year": 2022, "unit_code": "JYJ",
                                 "funds": "1.00"}, unit)
    # Its own sub-unit is in scope.
    ledger.declare_goals({"command_id": cid(), "subject_code": "SUB",
                          "indicators": INDICATORS}, unit)


def test_an_agency_records_only_its_own_commissions(ledger: Ledger) -> None:
    setup_units(ledger)
    evaluated_subject(ledger)
    com = do(ledger, "commission_evaluation", subject_code="S1", agency_code="AG1",
             commissioned_by="FB")
    other = Actor(id="a2", role="agency", agency_code="AG2")
    with pytest.raises(HiddenSubject) as info:  # not commissioned: as if it did not exist
        ledger.record_evaluation({"command_id": cid(), "subject_code": "S1",
                                  "kind": "finance", "agency_code": "AG1",
                                  "commission_id": com.ids["commissionId"],
                                  "dimensions": PROJECT_DIMS, "narrative": "x",
                                  "evaluated_on": "2023-01-01"}, other)
    assert info.value.code == "SUBJECT_NOT_FOUND"
    assert info.value.reason.code == "NOT_YOUR_COMMISSION"


# -- who records which evaluation (ledger.permissions RECORDS_OWN, RECORDS_COMMISSIONED) --------

EVALUATORS = {
    "bureau": BUREAU,
    "system": ACTORS["system"],
    "MZJ": ACTORS["budget_unit"],  # the department over MZJ-1
    "MZJ-1": Actor(id="u2", role="budget_unit", unit_code="MZJ-1"),  # S2's own unit
    "JYJ": Actor(id="u3", role="budget_unit", unit_code="JYJ"),  # another department
    "AG1": ACTORS["agency"],  # holds every commission below
    "AG2": Actor(id="a2", role="agency", agency_code="AG2"),  # admitted, holds none
    "auditor": ACTORS["auditor"],
    "congress": ACTORS["congress"],
    "public": ACTORS["public"],
}
# (who, subject, how): own work of a kind, or the agency's work under whose commission.
# S1 is MZJ's own subject, S2 its subordinate unit MZJ-1's.
MAY_RECORD = {
    *{(who, s, how) for who in ("bureau", "system") for s in ("S1", "S2")
      for how in ("finance", "under FB")},
    *{("system", s, how) for s in ("S1", "S2") for how in ("department", "under MZJ")},
    *{("AG1", s, how) for s in ("S1", "S2") for how in ("under FB", "under MZJ")},
    ("MZJ", "S2", "department"),  # the 主管部门, of its subordinate's subject
    *{("MZJ", s, "under MZJ") for s in ("S1", "S2")},  # entering its own agency's report
}


def test_who_records_which_evaluation(ledger: Ledger) -> None:
    setup_units(ledger)
    do(ledger, "register_unit", code="MZJ-1", name="相山区社会福利院", kind="subordinate",
       parent_code="MZJ")
    do(ledger, "register_unit", code="JYJ", name="相山区教育局")
    do(ledger, "admit_agency", code="AG2", name="另一家事务所")
    approved_subject(ledger, "S1")
    do(ledger, "register_subject", code="S2", name="养老服务补助", kind="project",
       fiscal_year=2022, unit_code="MZJ-1", funds="10.00")
    commissioners = {"FB": BUREAU, "MZJ": ACTORS["budget_unit"]}
    commissions = {(s, by): ledger.commission_evaluation(
        {"command_id": cid(), "subject_code": s, "agency_code": "AG1", "commissioned_by": by},
        commissioners[by]).ids["commissionId"] for s in ("S1", "S2") for by in commissioners}
    for who, actor in EVALUATORS.items():
        for s in ("S1", "S2"):
            for how in ("finance", "department", "under FB", "under MZJ"):
                data: dict[str, Any] = {"command_id": cid(), "subject_code": s,
                                        "dimensions": PROJECT_DIMS, "narrative": "x",
                                        "evaluated_on": "2023-03-15"}
                if how.startswith("under"):
                    data.update(commission_id=commissions[s, how[-3:].strip()],
                                agency_code="AG1")
                else:
                    data["kind"] = how
                before = max_position(ledger)
                try:
                    ledger.record_evaluation(data, actor)
                except DomainError as refusal:
                    assert (who, s, how) not in MAY_RECORD, f"{who} {s} {how}: {refusal}"
                    assert refusal.rule and (refusal.field or refusal.code == "FORBIDDEN")
                    assert max_position(ledger) == before
                    continue
                assert (who, s, how) in MAY_RECORD, f"{who} must not record {s} {how}"


def test_who_commissions_which_evaluation(ledger: Ledger) -> None:
    """The bureau its 财政评价; a department its 部门评价 of its own and its units' subjects."""
    setup_units(ledger)
    do(ledger, "register_unit", code="MZJ-1", name="相山区社会福利院", kind="subordinate",
       parent_code="MZJ")
    do(ledger, "register_unit", code="JYJ", name="相山区教育局")
    approved_subject(ledger, "S1")
    allowed = {("finance_bureau", "FB"), ("system", "FB"), ("system", "MZJ"),
               ("budget_unit", "MZJ")}
    for role, actor in ACTORS.items():
        for by in ("FB", "MZJ", "MZJ-1", "JYJ"):
            before = max_position(ledger)
            try:
                ledger.commission_evaluation({"command_id": cid(), "subject_code": "S1",
                                              "agency_code": "AG1", "commissioned_by": by},
                                             actor)
            except DomainError:
                assert (role, by) not in allowed, f"{role} should commission as {by}"
                assert max_position(ledger) == before
                continue
            assert (role, by) in allowed, f"{role} must not commission as {by}"
