"""Every mutation over HTTP, on SQLite and PostgreSQL: success, idempotent retry, a typed
refusal. Prerequisites are recorded straight through the Ledger (the API is what's tested)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from ledger import errors as le
from ledger.application import Ledger
from ledger.domain.base import stable_id
from ledger.runtime import Actor
from schema.errors import UNAVAILABLE
from schema.inputs import COMMANDS
from tests.e2e.conftest import Api, cid
from tests.integration.helpers import (
    INDICATORS,
    PROJECT_DIMS,
    approved_subject,
    do,
    evaluated_subject,
    setup_units,
)

Setup = Callable[[Ledger], dict[str, Any]]
Build = Callable[[dict[str, Any]], dict[str, Any]]

PROJECT_DIMENSIONS = PROJECT_DIMS
GOALS = [{"level1": i["level1"], "level2": i["level2"], "name": i["name"],
          "comparator": i["comparator"], "target": i["target"], "unit": i.get("unit", ""),
          "weight": i["weight"]} for i in INDICATORS]


def nothing(app: Ledger) -> dict[str, Any]:
    return {}


def units(app: Ledger) -> dict[str, Any]:
    setup_units(app)
    return {}


def registered(app: Ledger) -> dict[str, Any]:
    setup_units(app)
    do(app, "register_subject", code="S1", name="农村最低生活保障金", kind="project",
       fiscal_year=2022, unit_code="MZJ", funds="640.85", is_new=True)
    return {"registered": app.position_of(stable_id("subject", "S1"), 1)}


def declared(app: Ledger) -> dict[str, Any]:
    registered(app)
    do(app, "record_ex_ante_assessment", subject_code="S1", conclusion="予以支持",
       dimensions={"立项必要性": "必要"})
    do(app, "declare_goals", subject_code="S1", indicators=INDICATORS)
    return {}


def approved(app: Ledger) -> dict[str, Any]:
    setup_units(app)
    approved_subject(app, "S1")
    do(app, "register_subject", code="S2", name="未批复", kind="project", fiscal_year=2022,
       unit_code="MZJ", funds="10.00")
    return {}


def commissioned(app: Ledger) -> dict[str, Any]:
    approved(app)
    com = do(app, "commission_evaluation", subject_code="S1", agency_code="AG1",
             commissioned_by="FB")
    return {"commission": com.ids["commissionId"]}


def evaluated(app: Ledger) -> dict[str, Any]:
    setup_units(app)
    return {"evaluation": evaluated_subject(app, "S1")}


def graded(app: Ledger) -> dict[str, Any]:
    ctx = evaluated(app)
    do(app, "assign_grade", subject_code="S1", grade="EXCELLENT", basis_kind="evaluation",
       basis_id=ctx["evaluation"])
    return ctx


def rectifying(app: Ledger) -> dict[str, Any]:
    approved(app)
    r = do(app, "request_rectification", subject_code="S1", items=["补充绩效目标"],
           deadline="2023-06-30")
    return {"rectification": r.ids["rectificationId"]}


def reported(app: Ledger) -> dict[str, Any]:
    ctx = rectifying(app)
    do(app, "report_rectification", subject_code="S1", rectification_id=ctx["rectification"],
       report="已整改")
    return ctx


def suspended(app: Ledger) -> dict[str, Any]:
    setup_units(app)
    do(app, "suspend_agency", code="AG1", reason="考核不合格")
    do(app, "admit_agency", code="AG2", name="另一家事务所")
    return {}


def expert(app: Ledger) -> dict[str, Any]:
    do(app, "admit_expert", code="E0", name="张三", fields=["财政"])
    return {}


LIBRARY_ENTRY = {"code": "TY-MY-001", "sector": "通用", "level1": "满意度",
                 "level2": "服务对象满意度", "name": "服务对象满意度", "unit": "%",
                 "direction": ">=", "reference_value": "90"}
LIBRARY_INPUT = {"code": "TY-MY-001", "sector": "通用", "level1": "满意度",
                 "level2": "服务对象满意度", "name": "服务对象满意度", "unit": "%",
                 "direction": ">=", "referenceValue": "90"}


def library_entry(app: Ledger) -> dict[str, Any]:
    do(app, "add_library_indicator", **LIBRARY_ENTRY)
    return {}


def self_evaluation_submitted(app: Ledger) -> dict[str, Any]:
    approved(app)
    do(app, "submit_self_evaluation", subject_code="S1", budget_amount="1.00",
       executed_amount="1.00", indicator_results=RESULTS)
    return {}


def year_opened(app: Ledger) -> dict[str, Any]:
    approved(app)
    do(app, "open_fiscal_year", fiscal_year=2022)
    do(app, "open_fiscal_year", fiscal_year=2023)
    return {}


def budget_requested(app: Ledger) -> dict[str, Any]:
    year_opened(app)
    do(app, "record_budget_request", fiscal_year=2023, code="R1", unit_code="MZJ",
       subject_code="S1", funding_source="一般公共预算", requested_amount="1.00")
    return {}


def fiscal_operations(app: Ledger) -> dict[str, Any]:
    year_opened(app)
    do(app, "register_subject", code="F1", name="财政运行综合绩效", kind="fiscal_operations",
       fiscal_year=2022, unit_code="MZJ", funds="0.00")
    return {}


REQUEST = {"fiscalYear": 2023, "code": "R1", "unitCode": "MZJ", "subjectCode": "S1",
           "fundingSource": "一般公共预算", "requestedAmount": "1.00"}
TRANSFER = {"fiscalYear": 2023, "code": "T1", "recipientUnitCode": "MZJ",
            "programme": "均衡性转移支付", "amount": "1.00", "direction": "INCREASE",
            "basisSubjectCode": "F1"}


def round_opened(app: Ledger) -> dict[str, Any]:
    approved(app)
    do(app, "open_monitoring_round", round_id="R1", name="2022年1-8月绩效运行监控",
       fiscal_year=2022, window_end_month=8, due_on="2022-09-20")
    return {}


def warned(app: Ledger) -> dict[str, Any]:
    approved(app)
    snapshot = do(app, "record_monitoring", subject_code="S1", round_name="1-8月",
                  window_start="2022-01-01", window_end="2022-08-31", budget_amount="640.85",
                  executed_amount="100.00")  # behind: EXECUTION_BEHIND
    return {"snapshot": snapshot.ids["snapshotId"]}


@dataclass(frozen=True)
class Case:
    setup: Setup
    valid: Build
    invalid: Build
    refusal: tuple[str, str]  # (__typename, code)


MONITORING = {"subjectCode": "S1", "roundName": "2022年1-8月绩效运行监控",
              "windowStart": "2022-01-01", "windowEnd": "2022-08-31",
              "budgetAmount": "640.85", "executedAmount": "400.00",
              "indicators": [{"name": "覆盖人数", "progress": "60", "likelihood": "确定能"}]}
RESULTS = [{"name": "覆盖人数", "actual": "1000"}, {"name": "保障水平", "achieved": True},
           {"name": "满意度", "actual": "95"}]

CASES: dict[str, Case] = {
    "registerUnit": Case(
        units, lambda c: {"code": "U1", "name": "相山区教育局", "kind": "DEPARTMENT",
                          "parentCode": "FB"},
        lambda c: {"code": "U2", "name": "x", "parentCode": "NOPE"},
        ("NotFound", "UNIT_NOT_FOUND")),
    "registerSubject": Case(
        units, lambda c: {"code": "S9", "name": "安心托幼", "kind": "PROJECT", "fiscalYear": 2022,
                          "unitCode": "MZJ", "funds": "53.00", "isKey": True, "tags": ["民生"]},
        lambda c: {"code": "S8", "name": "x", "kind": "PROJECT", "fiscalYear": 2022,
                   "unitCode": "MZJ", "funds": "1.234"},
        ("ValidationError", "INVALID_INPUT")),
    "recordExAnteAssessment": Case(
        registered, lambda c: {"subjectCode": "S1", "conclusion": "予以支持",
                               "dimensions": {"立项必要性": "必要", "筹资合规性": "合规"}},
        lambda c: {"subjectCode": "S1", "conclusion": "随便", "dimensions": {}},
        ("ValidationError", "INVALID_INPUT")),
    "declareGoals": Case(
        registered, lambda c: {"subjectCode": "S1", "indicators": GOALS},
        lambda c: {"subjectCode": "NOPE", "indicators": GOALS},
        ("NotFound", "SUBJECT_NOT_FOUND")),
    "reviewGoals": Case(
        declared, lambda c: {"subjectCode": "S1", "decision": "APPROVE", "comments": "同意"},
        lambda c: {"subjectCode": "S1", "decision": "RETURN", "comments": "已批复后不可退回"},
        ("RuleViolation", "GOALS_NOT_DECLARED")),
    "adjustGoals": Case(
        approved, lambda c: {"subjectCode": "S1", "indicators": GOALS, "reason": "政策调整"},
        lambda c: {"subjectCode": "S2", "indicators": GOALS, "reason": "政策调整"},
        ("RuleViolation", "GOALS_NOT_APPROVED")),
    "recordMonitoring": Case(
        approved, lambda c: MONITORING,
        lambda c: {**MONITORING, "windowStart": "2021-01-01"},
        ("ValidationError", "INVALID_INPUT")),
    "submitSelfEvaluation": Case(
        approved, lambda c: {"subjectCode": "S1", "budgetAmount": "1.00",
                             "executedAmount": "1.00", "indicatorResults": RESULTS},
        lambda c: {"subjectCode": "S2", "budgetAmount": "1.00", "executedAmount": "1.00",
                   "indicatorResults": RESULTS},
        ("RuleViolation", "GOALS_NOT_APPROVED")),
    "openFiscalYear": Case(
        nothing, lambda c: {"fiscalYear": 2023}, lambda c: {"fiscalYear": 1800},
        ("ValidationError", "INVALID_INPUT")),
    "closeFiscalYear": Case(
        year_opened, lambda c: {"fiscalYear": 2022}, lambda c: {"fiscalYear": 1800},
        ("ValidationError", "INVALID_INPUT")),
    "recordBudgetRequest": Case(
        year_opened, lambda c: REQUEST, lambda c: {**REQUEST, "unitCode": "NOPE"},
        ("NotFound", "UNIT_NOT_FOUND")),
    "arrangeBudget": Case(
        budget_requested, lambda c: {"fiscalYear": 2023, "requestCode": "R1",
                                     "arrangedAmount": "1.00"},
        lambda c: {"fiscalYear": 2023, "requestCode": "NOPE", "arrangedAmount": "1.00"},
        ("RuleViolation", "BUDGET_REQUEST_NOT_FOUND")),
    "linkTransfer": Case(
        fiscal_operations, lambda c: TRANSFER, lambda c: {**TRANSFER, "basisSubjectCode": "S1"},
        ("RuleViolation", "TRANSFER_BASIS_NOT_FISCAL_OPERATIONS")),
    "reviewSelfEvaluation": Case(
        self_evaluation_submitted,
        lambda c: {"subjectCode": "S1", "version": 1, "decision": "RETURN",
                   "reasons": ["偏差原因分析不充分"]},
        lambda c: {"subjectCode": "S1", "version": 2, "decision": "ACCEPT"},
        ("RuleViolation", "SELF_EVALUATION_NOT_LATEST")),
    "commissionEvaluation": Case(
        approved, lambda c: {"subjectCode": "S1", "agencyCode": "AG1", "commissionedBy": "FB"},
        lambda c: {"subjectCode": "S1", "agencyCode": "AG1", "commissionedBy": "MZJ"},
        ("Forbidden", "NOT_THE_COMMISSIONER")),  # the bureau, in a department's name
    "recordEvaluation": Case(
        commissioned, lambda c: {"subjectCode": "S1", "kind": "FINANCE",
                                 "commissionId": c["commission"], "agencyCode": "AG1",
                                 "dimensions": PROJECT_DIMENSIONS, "narrative": "评价为优",
                                 "evaluatedOn": "2023-03-15", "findings": ["档案不全"]},
        lambda c: {"subjectCode": "S1", "kind": "FINANCE", "narrative": "x",
                   "evaluatedOn": "2023-03-15",
                   "dimensions": [{"name": "决策", "weight": "50", "score": "40"}]},
        ("ValidationError", "INVALID_INPUT")),
    "recordSpotCheck": Case(
        evaluated, lambda c: {"subjectCode": "S1", "reviews": c["evaluation"], "score": "88.50"},
        lambda c: {"subjectCode": "S1", "reviews": "nope", "score": "88.50"},
        ("RuleViolation", "EVALUATION_NOT_FOUND")),
    "assignGrade": Case(
        evaluated, lambda c: {"subjectCode": "S1", "grade": "EXCELLENT",
                              "basisKind": "EVALUATION", "basisId": c["evaluation"]},
        lambda c: {"subjectCode": "S1", "grade": "GOOD", "basisKind": "EVALUATION",
                   "basisId": c["evaluation"]},
        ("RuleViolation", "GRADE_CONTRADICTS_SCALE")),
    "applyResult": Case(
        graded, lambda c: {"subjectCode": "S1", "kind": "PRIORITY", "citesKind": "GRADE"},
        lambda c: {"subjectCode": "S1", "kind": "RECOVER", "citesKind": "GRADE"},
        ("RuleViolation", "AMOUNT_REQUIRED")),
    "requestRectification": Case(
        approved, lambda c: {"subjectCode": "S1", "items": ["细化绩效目标"],
                             "deadline": "2023-06-30"},
        lambda c: {"subjectCode": "S1", "items": [], "deadline": "2023-06-30"},
        ("ValidationError", "INVALID_INPUT")),
    "reportRectification": Case(
        rectifying, lambda c: {"subjectCode": "S1", "rectificationId": c["rectification"],
                               "report": "已完成整改"},
        lambda c: {"subjectCode": "S1", "rectificationId": "nope", "report": "x"},
        ("RuleViolation", "RECTIFICATION_NOT_FOUND")),
    "reviewRectification": Case(
        reported, lambda c: {"subjectCode": "S1", "rectificationId": c["rectification"],
                             "decision": "ACCEPT"},
        lambda c: {"subjectCode": "S1", "rectificationId": "nope", "decision": "ACCEPT"},
        ("RuleViolation", "RECTIFICATION_NOT_FOUND")),
    "recordDisclosure": Case(
        registered, lambda c: {"fiscalYear": 2022, "audience": "PEOPLES_CONGRESS",
                               "title": "重点绩效目标", "subjectCodes": ["S1"],
                               "contentHash": "0f" * 32, "contentPosition": 1},
        lambda c: {"fiscalYear": 2022, "audience": "PUBLIC", "title": "x",
                   "subjectCodes": ["S1"], "contentHash": "0f" * 32, "contentPosition": 1,
                   # no key configured here: no citation can be checked (and so none taken)
                   "checkpoint": {"origin": "jixiao.local/ledger", "size": 1,
                                  "root": "A" * 43 + "=", "lastPosition": 1,
                                  "note": "jixiao.local/ledger\n1\n" + "A" * 43 + "=\n"}},
        ("RuleViolation", "CHECKPOINT_UNVERIFIABLE")),
    "admitAgency": Case(
        units, lambda c: {"code": "AG2", "name": "安徽某会计师事务所",
                          "qualification": "会计师事务所"},
        lambda c: {"code": "AG 1", "name": "代码含空格"},
        ("ValidationError", "INVALID_INPUT")),
    "declareAgencyRelationship": Case(
        units, lambda c: {"code": "AG1", "unitCode": "MZJ", "relationship": "为该局提供年度审计"},
        lambda c: {"code": "AG1", "unitCode": "NOPE", "relationship": "x"},
        ("NotFound", "UNIT_NOT_FOUND")),
    "assessAgency": Case(
        units, lambda c: {"code": "AG1", "year": 2022, "score": "95", "rating": "优秀"},
        lambda c: {"code": "NOPE", "year": 2022, "score": "95", "rating": "优秀"},
        ("NotFound", "AGENCY_NOT_FOUND")),
    "suspendAgency": Case(
        units, lambda c: {"code": "AG1", "reason": "考核不合格"},
        lambda c: {"code": "NOPE", "reason": "x"},
        ("NotFound", "AGENCY_NOT_FOUND")),
    "reinstateAgency": Case(
        suspended, lambda c: {"code": "AG1", "reason": "整改到位"},
        lambda c: {"code": "AG2", "reason": "x"},
        ("RuleViolation", "AGENCY_NOT_SUSPENDED")),
    "removeAgency": Case(
        units, lambda c: {"code": "AG1", "reason": "退出"},
        lambda c: {"code": "NOPE", "reason": "x"},
        ("NotFound", "AGENCY_NOT_FOUND")),
    "admitExpert": Case(
        expert, lambda c: {"code": "E1", "name": "李四", "fields": ["教育", "绩效"]},
        lambda c: {"code": "E1", "name": "   "},
        ("ValidationError", "INVALID_INPUT")),
    "removeExpert": Case(
        expert, lambda c: {"code": "E0", "reason": "退出"},
        lambda c: {"code": "NOPE", "reason": "x"},
        ("NotFound", "EXPERT_NOT_FOUND")),
    "adoptRules": Case(
        nothing, lambda c: {"rules": {"version": 2, "effective_from": "2022-01-01",
                                      "ex_ante_threshold": "100.00"}},
        lambda c: {"rules": {"version": 3, "ex_ante_threshold": 100.5}},
        ("ValidationError", "INVALID_INPUT")),
    "addLibraryIndicator": Case(
        nothing, lambda c: LIBRARY_INPUT,
        lambda c: {**LIBRARY_INPUT, "code": "X1", "level1": "产出"},
        ("RuleViolation", "INDICATOR_LEVELS_NOT_ALLOWED")),
    "reviseLibraryIndicator": Case(
        library_entry, lambda c: {**LIBRARY_INPUT, "referenceValue": "95", "reason": "提高标准"},
        lambda c: {**LIBRARY_INPUT, "code": "NOPE", "reason": "提高标准"},
        ("RuleViolation", "LIBRARY_INDICATOR_NOT_FOUND")),
    "retireLibraryIndicator": Case(
        library_entry, lambda c: {"code": "TY-MY-001", "reason": "并入新版指标"},
        lambda c: {"code": "NOPE", "reason": "并入新版指标"},
        ("RuleViolation", "LIBRARY_INDICATOR_NOT_FOUND")),
    "openMonitoringRound": Case(
        units, lambda c: {"roundId": "R1", "name": "2022年1-8月绩效运行监控",
                          "fiscalYear": 2022, "dueOn": "2022-09-20",
                          "subjectKinds": ["PROJECT", "POLICY"], "unitCodes": ["MZJ"]},
        lambda c: {"roundId": "R2", "name": "r", "fiscalYear": 2022, "dueOn": "2022-09-20",
                   "unitCodes": ["NOPE"]},
        ("NotFound", "UNIT_NOT_FOUND")),
    "closeMonitoringRound": Case(
        round_opened, lambda c: {"roundId": "R1", "remarks": "汇总完毕"},
        lambda c: {"roundId": "NOPE"},
        ("NotFound", "MONITORING_ROUND_NOT_FOUND")),
    "actOnWarning": Case(
        warned, lambda c: {"subjectCode": "S1", "snapshotId": c["snapshot"], "warningIndex": 0,
                           "action": "RECOVER_FUNDS", "amount": "100.00",
                           "remarks": "收回闲置资金"},
        lambda c: {"subjectCode": "S1", "snapshotId": c["snapshot"], "warningIndex": 7,
                   "action": "SUSPEND", "remarks": "暂缓"},
        ("RuleViolation", "WARNING_NOT_FOUND")),
    "drawSamplingPlan": Case(
        approved, lambda c: {"planId": "P1", "fiscalYear": 2022, "title": "2022年抽查复核",
                             "method": "RANDOM", "seed": "20230501", "population": ["S1", "S2"],
                             "count": 1},
        lambda c: {"planId": "P2", "fiscalYear": 2022, "title": "重点抽取", "method": "KEY",
                   "subjects": [{"subjectCode": "S1"}]},
        ("ValidationError", "INVALID_INPUT")),
    "correctEvent": Case(
        registered, lambda c: {"position": c["registered"], "values": {"funds": "604.85"},
                               "reason": "录入错误"},
        lambda c: {"position": c["registered"], "values": {"code": "S2"}, "reason": "改代码"},
        ("ValidationError", "INVALID_INPUT")),
}


@pytest.mark.slow
def test_every_command_is_a_mutation_with_a_case() -> None:
    names = {m.split("_")[0] + "".join(p.title() for p in m.split("_")[1:]) for m in COMMANDS}
    assert names == set(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_mutation(api: Api, name: str) -> None:
    case = CASES[name]
    ctx = case.setup(api.ledger)
    data = {"commandId": cid(), **case.valid(ctx)}
    done = api.mutate(name, data)
    assert done["__typename"] == f"{name[0].upper()}{name[1:]}Result", done
    assert done["replayed"] is False and done["position"] > 0
    assert done["commandId"] == data["commandId"] and done["command"] == name
    assert done["events"], done

    again = api.mutate(name, data)
    assert again["replayed"] is True
    assert again["position"] == done["position"]
    assert again["ids"] == done["ids"]

    refused = api.mutate(name, {"commandId": cid(), **case.invalid(ctx)})
    assert (refused["__typename"], refused["code"]) == case.refusal, refused
    assert refused["message"] and refused["rule"] is not None
    if refused["__typename"] == "ValidationError":
        assert refused["problems"] and refused["field"]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "data"), [
    ("registerUnit", {"code": "MZJ", "name": "重复"}),
    ("admitAgency", {"code": "AG1", "name": "重复"}),
])
def test_a_taken_code_is_refused_with_a_typed_answer(api: Api, name: str,
                                                     data: dict[str, Any]) -> None:
    units(api.ledger)
    refused = api.mutate(name, {"commandId": cid(), **data})
    # The ledger names the taken code (…_EXISTS) or reports the store's collision (Conflict).
    assert refused["__typename"] in ("RuleViolation", "Conflict"), refused
    assert refused["code"] and refused["message"]


@pytest.mark.slow
def test_result_ids_are_typed(api: Api) -> None:
    ctx = commissioned(api.ledger)
    query = """mutation($input: RecordEvaluationInput!) { recordEvaluation(input: $input) {
        ... on RecordEvaluationResult { evaluationId score ids { name value } } } }"""
    found = api.data(query, {"input": {"commandId": cid(), **CASES["recordEvaluation"].valid(
        ctx)}})["recordEvaluation"]
    assert found["score"] == "92.00" and found["evaluationId"].startswith("eva-")
    assert {"name": "evaluationId", "value": found["evaluationId"]} in found["ids"]


def test_a_command_id_names_one_request_forever(api: Api) -> None:
    units(api.ledger)
    data = {"commandId": cid(), "code": "U1", "name": "相山区教育局"}
    assert api.mutate("registerUnit", data)["__typename"] == "RegisterUnitResult"
    reused = api.mutate("registerUnit", {**data, "name": "别的名字"})
    assert (reused["__typename"], reused["code"]) == ("RuleViolation", "COMMAND_ID_REUSED")
    assert reused["field"] == "commandId"


@pytest.mark.parametrize(("error", "typename"), [
    (le.Conflict("changed first", current_version=7, field="commandId"), "Conflict"),
    (le.Forbidden("NOT_YOURS", "only the owning unit may", field="subjectCode",
                  rule="own subjects only"), "Forbidden"),
    (le.Unavailable("STORAGE_UNAVAILABLE", "down", rule="retry"), "Unavailable"),
])
def test_every_refusal_kind_maps_to_its_type(api: Api, monkeypatch: pytest.MonkeyPatch,
                                             error: le.DomainError, typename: str) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(api.ledger, "register_unit", refuse)
    found = api.mutate("registerUnit", {"commandId": cid(), "code": "U1", "name": "x"})
    assert found["__typename"] == typename
    assert (found["code"], found["field"], found["rule"]) == (error.code, error.field, error.rule)
    if typename == "Unavailable":  # the driver's words stay in the server log
        assert found["message"] == UNAVAILABLE
    else:
        assert found["message"] == error.message
    if typename == "Conflict":
        assert found["currentVersion"] == 7


@pytest.mark.slow
def test_floats_never_reach_the_ledger(api: Api) -> None:
    units(api.ledger)
    body = api.post("""mutation { correctEvent(input: {commandId: "abcdefgh-f", position: 1,
        values: {funds: 1.5}, reason: "x"}) { __typename ... on Refusal { code field rule } } }""")
    assert body["data"]["correctEvent"] == {"__typename": "ValidationError",
                                            "code": "INVALID_INPUT", "field": "values.funds",
                                            "rule": "no_float"}


@pytest.mark.slow
def test_the_actor_comes_from_one_replaceable_function(api: Api,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import schema.app

    monkeypatch.setattr(schema.app, "resolve_actor",
                        lambda connection: Actor(id="someone", role="public"))
    refused = api.mutate("registerUnit", {"commandId": cid(), "code": "U1", "name": "x"})
    assert (refused["__typename"], refused["code"]) == ("Forbidden", "FORBIDDEN")
    assert "public" in refused["message"]


@pytest.mark.slow
def test_an_absurd_amount_in_a_json_field_is_a_typed_refusal(api: Api) -> None:
    ctx = registered(api.ledger)
    body = api.post("""mutation($p: Int!) { correctEvent(input: {commandId: "abcdefgh-e1",
        position: $p, values: {funds: "1e999999"}, reason: "x"}) {
        __typename ... on Refusal { code field } } }""", {"p": ctx["registered"]})
    assert body.get("data") and body["data"]["correctEvent"]["__typename"] == "ValidationError"
