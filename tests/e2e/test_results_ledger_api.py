"""The results ledger (结果应用台账) through the real app on both stores: a consequence
recorded over HTTP, refused without an override, read now and as of a past position."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Api, cid
from tests.integration.helpers import do, evaluated_subject, setup_units

RESULTS = """query($p: Int) { ledger(position: $p) { position resultsLedger(fiscalYear: 2022) {
  rows { subjectCode basisKind basisPosition basisGradeLabel ruleVersion ruleWording effect
    effectLabel amount targetFiscalYear targetKind targetId overrideReason }
  reducedTotal recoveredTotal priorityCount overriddenCount requestedTotal arrangedTotal
  requests { code requestedAmount priority reducedAmount afterConsequences arrangedAmount }
} } }"""


def results(api: Api, position: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = api.data(RESULTS, {"p": position})["ledger"]
    return found


def test_the_results_ledger_reads_consequences_as_of_any_moment(api: Api) -> None:
    ledger = api.ledger
    setup_units(ledger)
    evaluation_id = evaluated_subject(ledger)
    do(ledger, "assign_grade", subject_code="S1", grade="EXCELLENT", basis_kind="evaluation",
       basis_id=evaluation_id)
    do(ledger, "open_fiscal_year", fiscal_year=2023)
    do(ledger, "record_budget_request", fiscal_year=2023, code="R1", unit_code="MZJ",
       subject_code="S1", funding_source="一般公共预算", requested_amount="700.00")
    first = api.mutate("applyResult", {"commandId": cid(), "subjectCode": "S1",
                                       "kind": "PRIORITY", "citesKind": "GRADE",
                                       "targetKind": "BUDGET_REQUEST", "targetId": "R1"})
    assert first["__typename"] == "ApplyResultResult", first
    before = results(api)
    [row] = before["resultsLedger"]["rows"]
    assert (row["effect"], row["effectLabel"], row["basisGradeLabel"], row["ruleVersion"],
            row["ruleWording"], row["targetFiscalYear"]) == (
                "priority", "优先安排", "优", 1, "优先安排", 2023)
    assert row["basisPosition"] is not None and row["basisPosition"] < first["position"]
    [request] = before["resultsLedger"]["requests"]
    assert request["priority"] is True and request["afterConsequences"] == "700.00"

    refused = api.mutate("applyResult", {"commandId": cid(), "subjectCode": "S1",
                                         "kind": "CANCEL", "citesKind": "GRADE"})
    assert (refused["__typename"], refused["code"]) == ("RuleViolation",
                                                       "CONSEQUENCE_CONTRADICTS_RULE")
    override = api.mutate("applyResult", {"commandId": cid(), "subjectCode": "S1",
                                          "kind": "CANCEL", "citesKind": "GRADE",
                                          "targetKind": "BUDGET_REQUEST", "targetId": "R1",
                                          "overrideReason": "项目并入新设专项"})
    assert override["__typename"] == "ApplyResultResult", override
    do(ledger, "arrange_budget", fiscal_year=2023, request_code="R1", arranged_amount="0.00")

    now = results(api)["resultsLedger"]
    assert [r["effect"] for r in now["rows"]] == ["priority", "cancel"]
    assert now["rows"][1]["overrideReason"] == "项目并入新设专项"
    assert (now["priorityCount"], now["overriddenCount"]) == (1, 1)
    assert now["requests"][0]["afterConsequences"] is None  # cancelled
    assert (now["requestedTotal"], now["arrangedTotal"]) == ("700.00", "0.00")
    then = results(api, first["position"])["resultsLedger"]
    assert then == before["resultsLedger"]

    history = api.data("""query { ledger { subject(code: "S1") { consequences {
      kind overrideReason } } } }""")["ledger"]["subject"]["consequences"]
    assert {"kind": "cancel", "overrideReason": "项目并入新设专项"} in [
        {"kind": h["kind"].lower(), "overrideReason": h["overrideReason"]} for h in history]


def test_a_continuing_project_reads_back_to_the_year_before(api: Api) -> None:
    ledger = api.ledger
    setup_units(ledger)
    do(ledger, "register_subject", code="S0", name="2021年农村最低生活保障金", kind="project",
       fiscal_year=2021, unit_code="MZJ", funds="600.00", is_new=False, is_key=True)
    continued = api.mutate("registerSubject", {
        "commandId": cid(), "code": "S1", "name": "2022年农村最低生活保障金",
        "kind": "PROJECT", "fiscalYear": 2022, "unitCode": "MZJ", "funds": "640.85",
        "predecessorCode": "S0"})
    assert continued["__typename"] == "RegisterSubjectResult", continued
    assert continued["events"] == ["Subject.Registered", "Subject.PredecessorNamed"]
    found = api.data("""query { ledger { subject(code: "S1") { predecessorCode
      predecessor { code fiscalYear predecessorCode predecessor { code } } } } }""")
    assert found["ledger"]["subject"] == {"predecessorCode": "S0", "predecessor": {
        "code": "S0", "fiscalYear": 2021, "predecessorCode": None, "predecessor": None}}

    skipped = api.mutate("registerSubject", {
        "commandId": cid(), "code": "S2", "name": "2023年农村最低生活保障金",
        "kind": "PROJECT", "fiscalYear": 2023, "unitCode": "MZJ", "funds": "1.00",
        "predecessorCode": "S0"})
    assert (skipped["__typename"], skipped["code"], skipped["field"]) == (
        "RuleViolation", "PREDECESSOR_NOT_PREVIOUS_YEAR", "predecessorCode")
    assert api.data('query { ledger { subject(code: "S2") { code } } }')["ledger"][
        "subject"] is None


def test_the_sample_shows_2021_spot_checks_giving_2022_requests_priority(
        sample_api: Api) -> None:
    """ledger { resultsLedger(fiscalYear: 2021) } over the sample (ledger.sample.previous_year):
    the report's 对2021年抽查评级为优的各预算单位申请预算资金给予优先安排, with illustrative
    amounts; 2022's tables are not touched by it."""
    found = sample_api.data(RESULTS.replace("2022", "2021"))["ledger"]["resultsLedger"]
    assert [(r["subjectCode"], r["effect"], r["basisKind"], r["basisGradeLabel"],
             r["ruleWording"], r["targetFiscalYear"], r["targetKind"], r["targetId"])
            for r in found["rows"]] == [
        ("XS-2021-DO-01", "priority", "spot_check", "优", "优先安排", 2022, "budget_request",
         "XS-2022-REQ-01"),
        ("XS-2021-DO-02", "priority", "spot_check", "优", "优先安排", 2022, "budget_request",
         "XS-2022-REQ-02")]
    assert all(r["basisPosition"] and r["ruleVersion"] for r in found["rows"])
    assert found["priorityCount"] == 2
    assert [(q["code"], q["priority"], q["arrangedAmount"]) for q in found["requests"]] == [
        ("XS-2022-REQ-01", True, "640.85"), ("XS-2022-REQ-02", True, "120.00")]
    assert found["requestedTotal"] == found["arrangedTotal"] == "760.85"
    continued = sample_api.data("""{ ledger { subject(code: "XS-2022-KP-05") {
      predecessorCode predecessor { code fiscalYear } } } }""")["ledger"]["subject"]
    assert continued == {"predecessorCode": "XS-2021-KP-01",
                         "predecessor": {"code": "XS-2021-KP-01", "fiscalYear": 2021}}
    cycle = sample_api.data("{ ledger { fiscalYearCycle(fiscalYear: 2021) { openedOn "
                            "closing { position } } } }")["ledger"]["fiscalYearCycle"]
    assert cycle == {"openedOn": "2021-01-01", "closing": None}
