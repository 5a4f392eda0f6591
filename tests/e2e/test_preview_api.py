"""`ledger { preview(commands: [...]) }` over HTTP: the finance bureau's what-if, refused to
every other role, typed refusals naming the command, and nothing appended."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.application import Ledger
from ledger.store import Database
from tests.e2e.conftest import bearer, issue_token
from tests.integration.helpers import cid, evaluated_subject, setup_units

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
    found = post(client, tokens.get(role), PREVIEW,
                 {"commands": [correction(ledger)]})["ledger"]["preview"]
    assert found["__typename"] == "Forbidden" and found["code"] == "FORBIDDEN", found
    assert "preview" in found["rule"]
