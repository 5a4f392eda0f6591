"""`ledger { preview(commands: [...]) }` over HTTP: the finance bureau's what-if, refused to
every other role, typed refusals naming the command, and nothing appended; on both stores
(the `database` fixture is SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.application import Ledger
from ledger.runtime import camel
from ledger.store import Database
from projections.results_ledger import ResultsLedger
from tests.e2e.conftest import bearer, issue_token
from tests.integration.helpers import (
    approved_subject,
    cid,
    do,
    evaluated_subject,
    setup_units,
)

PREVIEW = """query($commands: [PreviewCommand!]!) { ledger { position
  preview(commands: $commands) { __typename
    ... on LedgerPreview { position pendingEvents { type version }
      evaluationTable(fiscalYear: 2022, table: KEY_PROJECTS) {
        table { rows { seq subjectName funds assessment gradeLabel } totalFunds }
        before { totalFunds }
        changes { subjectName field before after } }
      restatements(fiscalYear: 2022, table: KEY_PROJECTS) { field before after } }
    ... on Refusal { code field rule message } } } }"""
TABLE = """{ ledger { evaluationTable(fiscalYear: 2022, table: KEY_PROJECTS) {
  rows { seq subjectName funds assessment gradeLabel } totalFunds } } }"""
ROLES = {"budget_unit": {"unit": "MZJ"}, "agency": {"agency": "AG1"}, "auditor": {},
         "congress": {}}  # and the public: no token at all


@pytest.fixture
def app(database: Database) -> Iterator[tuple[TestClient, dict[str, str]]]:
    tokens = {"finance_bureau": issue_token(database)}
    tokens |= {role: issue_token(database, role, **extra) for role, extra in ROLES.items()}
    with TestClient(create_app(database, rate_limit=None)) as client:
        ledger: Ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
        setup_units(ledger)
        evaluated_subject(ledger, "S1")
        yield client, tokens


def post(client: TestClient, token: str | None, query: str,
         variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables},
                           headers=bearer(token) if token else {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]
    return found


def correction(ledger: Ledger) -> dict[str, Any]:
    position = ledger.position_of(ledger.subject("S1").id, 1)
    return {"correctEvent": {"commandId": cid(), "position": position,
                             "values": {"funds": "604.85"}, "reason": "录入错误"}}


def test_the_bureau_previews_and_nothing_is_appended(
        app: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app
    ledger: Ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
    command = correction(ledger)
    newest = ledger.recorder.max_notification_id()
    found = post(client, tokens["finance_bureau"], PREVIEW, {"commands": [command]})["ledger"]
    preview = found["preview"]
    assert preview["__typename"] == "LedgerPreview", preview
    assert preview["position"] == found["position"] == newest
    assert [e["type"] for e in preview["pendingEvents"]] == ["LedgerAggregate.EventCorrected"]
    table = preview["evaluationTable"]
    assert table["changes"] == [{"subjectName": "相山区民政局2022年农村最低生活保障金",
                                 "field": "funds", "before": "640.85", "after": "604.85"}]
    assert preview["restatements"] == [
        {k: v for k, v in c.items() if k != "subjectName"} for c in table["changes"]]
    assert table["before"]["totalFunds"] == "640.85"
    assert ledger.recorder.max_notification_id() == newest
    recorded = client.post("/graphql", headers=bearer(tokens["finance_bureau"]), json={
        "query": "mutation($i: CorrectEventInput!) { correctEvent(input: $i) { __typename } }",
        "variables": {"i": command["correctEvent"]}}).json()
    assert recorded["data"]["correctEvent"]["__typename"] == "CorrectEventResult", recorded
    now = post(client, tokens["finance_bureau"], TABLE)["ledger"]["evaluationTable"]
    assert now == table["table"]


def test_a_refusal_names_the_command(app: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app
    ledger: Ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
    newest = ledger.recorder.max_notification_id()
    bad = {"applyResult": {"commandId": cid(), "subjectCode": "S1", "kind": "REDUCE",
                           "amount": "9999.00", "citesKind": "GRADE"}}  # past its funds
    found = post(client, tokens["finance_bureau"], PREVIEW,
                 {"commands": [correction(ledger), bad]})["ledger"]["preview"]
    assert found["__typename"] != "LedgerPreview", found
    assert found["field"].startswith("commands.1"), found
    assert found["message"].startswith("command 1 (apply_result)"), found
    assert ledger.recorder.max_notification_id() == newest


@pytest.mark.parametrize("role", [*sorted(ROLES), "public"])
def test_every_other_role_is_refused(app: tuple[TestClient, dict[str, str]], role: str) -> None:
    client, tokens = app
    ledger: Ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
    consequence = {"applyResult": {"commandId": cid(), "subjectCode": "S1", "kind": "REDUCE",
                                   "amount": "10.00", "citesKind": "EVALUATION",
                                   "citesId": next(iter(ledger.subject("S1").evaluations))}}
    newest = ledger.recorder.max_notification_id()
    for query, command in ((PREVIEW, correction(ledger)), (RESULTS_PREVIEW, consequence)):
        found = post(client, tokens.get(role), query,
                     {"commands": [command]})["ledger"]["preview"]
        assert found["__typename"] == "Forbidden" and found["code"] == "FORBIDDEN", found
        assert "preview" in found["rule"]
    assert ledger.recorder.max_notification_id() == newest


# -- the results ledger (结果应用台账) as it would be ---------------------------------------


def selection(record: type) -> str:
    """Every field of a record, as the GraphQL selection of its type (so the comparisons
    below cover whatever the results ledger has, totals and requests included)."""
    hints = typing.get_type_hints(record)
    out: list[str] = []
    for f in dataclasses.fields(record):
        hint = hints[f.name]
        inner = typing.get_args(hint)[0] if typing.get_origin(hint) is tuple else hint
        nested = dataclasses.is_dataclass(inner) and isinstance(inner, type)
        out.append(f"{camel(f.name)} {{ {selection(inner)} }}" if nested else camel(f.name))
    return " ".join(out)


LEDGER = selection(ResultsLedger)
CHANGE = "table tableLabel part key change subjectId subjectName field before after"
RESULTS_PREVIEW = f"""query($commands: [PreviewCommand!]!) {{ ledger {{ position
  preview(commands: $commands) {{ __typename
    ... on LedgerPreview {{ pendingEvents {{ type }}
      resultsLedger(fiscalYear: 2022) {{ table {{ {LEDGER} }} before {{ {LEDGER} }}
        changes {{ {CHANGE} }} }}
      restatements(fiscalYear: 2022) {{ {CHANGE} }}
      annex: restatements(fiscalYear: 2022, table: KEY_PROJECTS) {{ {CHANGE} }}
      ledgerOnly: restatements(fiscalYear: 2022, table: RESULTS_LEDGER) {{ {CHANGE} }} }}
    ... on Refusal {{ code field rule message }} }} }} }}"""
RESULTS = f"{{ ledger {{ position resultsLedger(fiscalYear: 2022) {{ {LEDGER} }} }} }}"
FAIR = [{"name": "决策", "weight": "20", "score": "14"}, {"name": "过程", "weight": "20",
        "score": "14"}, {"name": "产出", "weight": "30", "score": "21"},
        {"name": "效益", "weight": "30", "score": "21"}]  # 70.00: 中


def results_world(ledger: Ledger) -> dict[str, Any]:
    """S1 graded 优; S2 graded 中 with a 核减 of 20.00 recorded; 2023's requests R1 (S1, 700.00)
    and R2 (S2, 500.00). Returns the positions and ids the commands name."""
    do(ledger, "assign_grade", subject_code="S1", grade="EXCELLENT", basis_kind="evaluation",
       basis_id=next(iter(ledger.subject("S1").evaluations)))
    approved_subject(ledger, "S2")
    commission = do(ledger, "commission_evaluation", subject_code="S2", agency_code="AG1",
                    commissioned_by="FB")
    evaluated = do(ledger, "record_evaluation", subject_code="S2", kind="finance",
                   commission_id=commission.ids["commissionId"], agency_code="AG1",
                   dimensions=FAIR, narrative="评价为中", evaluated_on="2023-03-15")
    do(ledger, "assign_grade", subject_code="S2", grade="FAIR", basis_kind="evaluation",
       basis_id=evaluated.ids["evaluationId"])
    reduced = do(ledger, "apply_result", subject_code="S2", kind="reduce", amount="20.00",
                 cites_kind="grade")
    do(ledger, "open_fiscal_year", fiscal_year=2023)
    for code, subject, amount in (("R1", "S1", "700.00"), ("R2", "S2", "500.00")):
        do(ledger, "record_budget_request", fiscal_year=2023, code=code, unit_code="MZJ",
           subject_code=subject, funding_source="一般公共预算", requested_amount=amount)
    s2 = ledger.subject("S2")

    def position(item: tuple[str, str]) -> int:
        return ledger.position_of(s2.id, next(
            v for v, it in s2.items_by_version.items() if it == item))
    result = reduced.ids["resultId"]
    return {"reduced": position(("result", result)), "result": result, "s2": str(s2.id),
            "evaluated": position(("evaluation", evaluated.ids["evaluationId"]))}


def record(client: TestClient, token: str, commands: list[dict[str, Any]]) -> None:
    """Record the previewed commands, one by one, as their mutations."""
    for command in commands:
        [(name, data)] = command.items()
        kind = name[0].upper() + name[1:]
        found = post(client, token, f"mutation($i: {kind}Input!) {{ {name}(input: $i) "
                     "{ __typename ... on Refusal { code message } } }", {"i": data})
        assert found[name]["__typename"] == f"{kind}Result", found


def without_new_ids(ledger: dict[str, Any], kept: set[str]) -> dict[str, Any]:
    """The ledger with the ids of consequences not in `kept` blanked: a preview cannot know
    the id recording will give a new consequence."""
    rows = [r if r["resultId"] in kept else {**r, "resultId": None} for r in ledger["rows"]]
    return {**ledger, "rows": rows}


def test_a_previewed_consequence_shows_in_the_results_ledger_as_recording_would(
        app: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app
    bureau = tokens["finance_bureau"]
    ledger: Ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
    at = results_world(ledger)
    commands = [
        {"correctEvent": {"commandId": cid(), "position": at["reduced"],
                          "values": {"amount": "30.00"}, "reason": "金额录入错误"}},
        {"applyResult": {"commandId": cid(), "subjectCode": "S2", "kind": "REDUCE",
                         "percentage": "10", "citesKind": "GRADE",
                         "targetKind": "BUDGET_REQUEST", "targetId": "R2"}},
        {"applyResult": {"commandId": cid(), "subjectCode": "S1", "kind": "PRIORITY",
                         "citesKind": "GRADE", "targetKind": "BUDGET_REQUEST",
                         "targetId": "R1"}}]
    newest = ledger.recorder.max_notification_id()
    now = post(client, bureau, RESULTS)["ledger"]
    found = post(client, bureau, RESULTS_PREVIEW, {"commands": commands})["ledger"]
    preview = found["preview"]
    assert preview["__typename"] == "LedgerPreview", preview
    assert ledger.recorder.max_notification_id() == newest  # nothing appended
    assert found["position"] == now["position"] == newest
    assert post(client, bureau, RESULTS)["ledger"] == now
    shown = preview["resultsLedger"]
    assert shown["before"] == now["resultsLedger"]

    table = shown["table"]
    assert [(r["subjectCode"], r["effect"], r["amount"], r["percentage"], r["targetId"])
            for r in table["rows"]] == [("S1", "priority", None, None, "R1"),
                                        ("S2", "reduce", "30.00", None, "S2"),
                                        ("S2", "reduce", "50.00", "10.00", "R2")]
    assert (table["reducedTotal"], table["priorityCount"], table["requestedTotal"]) == (
        "80.00", 1, "1200.00")
    assert [(q["code"], q["priority"], q["reducedAmount"], q["afterConsequences"])
            for q in table["requests"]] == [("R1", True, "0.00", "700.00"),
                                            ("R2", False, "80.00", "420.00")]

    changes = shown["changes"]
    assert {(c["table"], c["tableLabel"]) for c in changes} == {("RESULTS_LEDGER", "结果应用台账")}
    assert {(c["part"], c["key"], c["subjectId"], c["field"], c["before"], c["after"])
            for c in changes if c["change"] == "CHANGED"} == {
        ("ROW", at["result"], at["s2"], "amount", "20.00", "30.00"),
        ("REQUEST", "R1", str(ledger.subject("S1").id), "priority", "false", "true"),
        ("REQUEST", "R2", at["s2"], "reduced_amount", "20.00", "80.00"),
        ("REQUEST", "R2", at["s2"], "after_consequences", "480.00", "420.00"),
        ("TOTAL", "", "", "reduced_total", "20.00", "80.00"),
        ("TOTAL", "", "", "priority_count", "0", "1")}
    added = {r["resultId"] for r in table["rows"]} - {at["result"]}
    assert {c["key"] for c in changes if c["change"] == "ADDED"} == added
    assert {(c["subjectName"], c["after"]) for c in changes
            if c["change"] == "ADDED" and c["field"] == "effect"} == {
        ("相山区民政局2022年农村最低生活保障金", "priority"),
        ("相山区民政局2022年农村最低生活保障金", "reduce")}
    assert all(c["before"] is None for c in changes if c["change"] == "ADDED")
    assert not any(c["change"] == "REMOVED" for c in changes)
    assert preview["restatements"] == preview["ledgerOnly"] == changes  # no annex cell moves
    assert preview["annex"] == []

    record(client, bureau, commands)
    recorded = post(client, bureau, RESULTS)["ledger"]
    assert recorded["position"] > newest
    assert without_new_ids(recorded["resultsLedger"], {at["result"]}) == without_new_ids(
        table, {at["result"]})


def test_a_grade_change_in_the_preview_is_the_basis_of_its_consequence(
        app: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app
    bureau = tokens["finance_bureau"]
    ledger: Ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
    at = results_world(ledger)
    evaluation_id = next(iter(ledger.subject("S2").evaluations))
    commands = [
        {"correctEvent": {"commandId": cid(), "position": at["evaluated"],
                          "values": {"score": "92.00"}, "reason": "分数汇总错误"}},
        {"assignGrade": {"commandId": cid(), "subjectCode": "S2", "grade": "EXCELLENT",
                         "basisKind": "EVALUATION", "basisId": evaluation_id}},
        {"applyResult": {"commandId": cid(), "subjectCode": "S2", "kind": "PRIORITY",
                         "citesKind": "GRADE", "targetKind": "BUDGET_REQUEST",
                         "targetId": "R2"}}]
    newest = ledger.recorder.max_notification_id()
    preview = post(client, bureau, RESULTS_PREVIEW, {"commands": commands})["ledger"]["preview"]
    assert preview["__typename"] == "LedgerPreview", preview
    assert ledger.recorder.max_notification_id() == newest
    new = preview["resultsLedger"]["table"]["rows"][-1]
    assert (new["subjectCode"], new["effect"], new["basisGradeLabel"], new["ruleWording"]) == (
        "S2", "priority", "优", "优先安排")
    assert new["basisPosition"] is None  # the grade it rests on is not recorded yet
    # Every table's changes, each naming its table: 附件1 first, then the results ledger.
    named = [(c["tableLabel"], c["part"], c["field"], c["before"], c["after"])
             for c in preview["restatements"] if c["change"] == "CHANGED"]
    assert named == [("附件1", "ROW", "grade", "中", "优"),
                     ("结果应用台账", "REQUEST", "priority", "false", "true"),
                     ("结果应用台账", "TOTAL", "priority_count", "0", "1")]
    assert [c["table"] for c in preview["annex"]] == ["KEY_PROJECTS"]

    record(client, bureau, commands)
    recorded = post(client, bureau, RESULTS)["ledger"]["resultsLedger"]
    mine = recorded["rows"][-1]
    assert mine["basisPosition"] > newest  # the grade's position, once recorded
    expected = without_new_ids(preview["resultsLedger"]["table"], {at["result"]})
    expected["rows"][-1]["basisPosition"] = mine["basisPosition"]  # all else as previewed
    assert without_new_ids(recorded, {at["result"]}) == expected
