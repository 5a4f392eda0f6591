"""Monitoring rounds over HTTP: open a round and act on a warning by mutation, then ask
who has not reported, as of now and as of an earlier position; a budget unit's answer
covers its own subjects only."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.store import Database
from tests.e2e.conftest import Api, bearer, cid, issue_token
from tests.integration.helpers import INDICATORS

ROUND = """query($id: String!, $position: Int) { ledger(position: $position) {
  monitoringRounds(fiscalYear: 2022) { roundId name windowStart windowEnd dueOn closed }
  monitoringRound(roundId: $id) { inScope reported late notReported monitoredAmount
    executionRate statements warnings { code count } actions { code label count }
    owed: subjects(status: NOT_REPORTED) { code statusLabel }
    all: subjects { code status reportedOn budgetAmount warnings actions } } } }"""


@pytest.mark.parametrize("backend", ["sqlite"])
def test_who_has_not_reported_and_what_followed_a_warning(api: Api,
                                                          database: Database) -> None:
    for unit in (("FB", "相山区财政局", "finance_bureau"), ("MZJ", "相山区民政局", "department"),
                 ("JYJ", "相山区教育局", "department")):
        api.mutate("registerUnit", {"commandId": cid(), "code": unit[0], "name": unit[1],
                                    "kind": unit[2].upper()})
    for code, unit in (("S1", "MZJ"), ("S2", "JYJ")):
        api.mutate("registerSubject", {"commandId": cid(), "code": code, "name": f"项目{code}",
                                       "kind": "PROJECT", "fiscalYear": 2022, "unitCode": unit,
                                       "funds": "100.00"})
        api.mutate("declareGoals", {"commandId": cid(), "subjectCode": code,
                                    "indicators": INDICATORS})
        api.mutate("reviewGoals", {"commandId": cid(), "subjectCode": code,
                                   "decision": "APPROVE"})
    opened = api.mutate("openMonitoringRound", {
        "commandId": cid(), "roundId": "R1", "name": "2022年1-8月绩效运行监控",
        "fiscalYear": 2022, "windowEndMonth": 8, "dueOn": "2022-09-20",
        "subjectKinds": ["PROJECT"]})
    assert opened["__typename"] == "OpenMonitoringRoundResult"
    snapshot = api.mutate("recordMonitoring", {
        "commandId": cid(), "subjectCode": "S1", "roundId": "R1", "roundName": "1-8月",
        "windowStart": "2022-01-01", "windowEnd": "2022-08-31", "budgetAmount": "100.00",
        "executedAmount": "20.00", "effectiveOn": "2022-09-21",
        "indicators": [{"name": "覆盖人数", "progress": "30", "likelihood": "有可能",
                        "deviationCause": "制度保障", "correctiveMeasures": "完善制度"}]})
    snapshot_id = {i["name"]: i["value"] for i in snapshot["ids"]}["snapshotId"]
    before_action = snapshot["position"]
    acted = api.mutate("actOnWarning", {
        "commandId": cid(), "subjectCode": "S1", "snapshotId": snapshot_id, "warningIndex": 0,
        "action": "SUSPEND", "remarks": "暂缓拨付"})
    assert acted["__typename"] == "ActOnWarningResult"

    found = api.data(ROUND, {"id": "R1"})["ledger"]
    assert found["monitoringRounds"] == [{"roundId": "R1", "name": "2022年1-8月绩效运行监控",
                                          "windowStart": "2022-01-01",
                                          "windowEnd": "2022-08-31", "dueOn": "2022-09-20",
                                          "closed": False}]
    summary = found["monitoringRound"]
    assert (summary["inScope"], summary["reported"], summary["late"],
            summary["notReported"]) == (2, 0, 1, 1)
    assert summary["owed"] == [{"code": "S2", "statusLabel": "未报送"}]
    assert (summary["monitoredAmount"], summary["executionRate"]) == ("100.00", "20.00")
    assert {"code": "EXECUTION_BEHIND", "count": 1} in summary["warnings"]
    assert summary["actions"] == [{"code": "suspend", "label": "暂缓", "count": 1}]
    [s1] = [s for s in summary["all"] if s["code"] == "S1"]
    assert (s1["status"], s1["reportedOn"], s1["actions"]) == ("late", "2022-09-21",
                                                               ["suspend"])

    earlier = api.data(ROUND, {"id": "R1", "position": before_action})["ledger"]
    assert earlier["monitoringRound"]["actions"] == []

    # A budget unit sees its own subjects' part of the round, and the warning's action in its
    # subject's history.
    headers = bearer(issue_token(database, "budget_unit", unit="JYJ"))
    with TestClient(create_app(database, rate_limit=None), headers=headers) as unit_client:
        mine = Api(unit_client).data(ROUND, {"id": "R1"})["ledger"]["monitoringRound"]
    assert [s["code"] for s in mine["all"]] == ["S2"] and mine["notReported"] == 1
    history = api.data("""{ ledger { subject(code: "S1") {
        warningActions { snapshotId warningIndex warningCode action label }
        auditTrail(first: 50) { edges { node { type } } } } } }""")["ledger"]["subject"]
    assert history["warningActions"] == [{"snapshotId": snapshot_id, "warningIndex": 0,
                                          "warningCode": "EXECUTION_BEHIND",
                                          "action": "suspend", "label": "暂缓"}]
    types = [e["node"]["type"] for e in history["auditTrail"]["edges"]]
    assert types[-1] == "MonitoringFollowUp.WarningActed"
