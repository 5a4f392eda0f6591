"""Read visibility through HTTP: each role reads only what was disclosed to it, as of the
moment asked for (issue 7)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.application import Ledger
from ledger.sample.loader import AGENCY
from ledger.store import Database
from tests.e2e.conftest import bearer, issue_token

SUBJECTS = """query($p: Int) { ledger(position: $p) { position
  subjects(fiscalYear: 2022, first: 200) { edges { node { code unitCode } } } } }"""
TABLE = """query($p: Int) { ledger(position: $p) {
  evaluationTable(fiscalYear: 2022, table: KEY_PROJECTS) { rows { seq subjectId } } } }"""


@dataclass
class World:
    client: TestClient
    ledger: Ledger
    tokens: dict[str, str]
    db: Database

    def post(self, query: str, variables: dict[str, Any] | None = None,
             who: str | None = None) -> dict[str, Any]:
        headers = bearer(self.tokens[who]) if who else {}
        response = self.client.post("/graphql", json={"query": query, "variables": variables},
                                    headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def codes(self, who: str | None, position: int | None = None) -> set[str]:
        body = self.post(SUBJECTS, {"p": position}, who)
        assert "errors" not in body, body
        return {e["node"]["code"] for e in body["data"]["ledger"]["subjects"]["edges"]}

    def disclose(self, audience: str, codes: list[str]) -> int:
        result = self.ledger.record_disclosure({
            "command_id": f"disc-{uuid.uuid4().hex}", "fiscal_year": 2022,
            "audience": audience, "title": f"{audience} 2022", "subject_codes": codes,
            "content_hash": "a" * 64, "content_position": 1})
        return result.position


@pytest.fixture
def world(unpublished_sample: Database) -> Iterator[World]:
    """The app over a copy of the sample (not yet disclosed), with a token per kind of caller."""
    database = unpublished_sample
    tokens = {
        "finance_bureau": issue_token(database),
        "auditor": issue_token(database, "auditor"),
        "congress": issue_token(database, "congress"),
        "unit01": issue_token(database, "budget_unit", unit="XS-U01"),
        "agency": issue_token(database, "agency", agency=AGENCY[0]),
        "other_agency": issue_token(database, "agency", agency="OTHER-AGENCY"),
    }
    with TestClient(create_app(database, rate_limit=None)) as client:
        ledger: Ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
        yield World(client=client, ledger=ledger, tokens=tokens, db=database)


ALL = 16  # subjects in the 相山区 2022 sample


@pytest.mark.slow
def test_the_public_sees_nothing_undisclosed(world: World) -> None:
    assert world.codes(None) == set()
    body = world.post(TABLE, {"p": None})
    assert body["data"]["ledger"]["evaluationTable"]["rows"] == []
    hidden = world.post('{ ledger { subject(code: "XS-2022-KP-01") { code } } }')
    assert hidden["data"]["ledger"]["subject"] is None
    assert len(world.codes("finance_bureau")) == ALL


def test_the_public_sees_exactly_what_was_disclosed_at_that_moment(world: World) -> None:
    before = world.ledger.recorder.max_notification_id()
    world.disclose("peoples_congress", ["XS-2022-KP-02"])
    world.disclose("public", ["XS-2022-KP-01"])
    assert world.codes(None) == {"XS-2022-KP-01"}
    assert world.codes(None, position=before) == set()  # not yet disclosed then
    rows = world.post(TABLE, {"p": None})["data"]["ledger"]["evaluationTable"]["rows"]
    assert [r["seq"] for r in rows] == [1]
    shown = world.post('{ ledger { subject(code: "XS-2022-KP-01") { code } } }')
    assert shown["data"]["ledger"]["subject"] == {"code": "XS-2022-KP-01"}
    hidden = world.post('{ ledger { subject(code: "XS-2022-KP-02") { code } } }')
    assert hidden["data"]["ledger"]["subject"] is None
    assert world.codes("congress") == {"XS-2022-KP-01", "XS-2022-KP-02"}
    coverage = world.post("{ ledger { coverage(fiscalYear: 2022) { subjects } } }")
    assert coverage["data"]["ledger"]["coverage"]["subjects"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("query", [
    "{ events(first: 5) { edges { cursor } } }",
    "{ ledger { auditTrail(first: 5) { edges { cursor } } } }",
    "{ ledger { disclosure(fiscalYear: 2022, audience: PEOPLES_CONGRESS) { fiscalYear } } }",
])
def test_the_public_is_refused_the_log_the_trail_and_other_audiences(world: World,
                                                                     query: str) -> None:
    body = world.post(query)
    assert body["errors"][0]["extensions"]["reason"] == "FORBIDDEN", body
    assert "errors" not in world.post(query, who="auditor")


@pytest.mark.slow
def test_a_budget_unit_sees_its_own_units_and_the_public_ones(world: World) -> None:
    own = world.codes("unit01")
    assert own and all(code for code in own)
    body = world.post("""{ ledger { subjects(first: 200) { edges { node { unitCode } } } } }""",
                      who="unit01")
    assert {e["node"]["unitCode"] for e in body["data"]["ledger"]["subjects"]["edges"]} \
        == {"XS-U01"}
    world.disclose("public", ["XS-2022-KP-02"])
    assert world.codes("unit01") == own | {"XS-2022-KP-02"}


@pytest.mark.slow
def test_an_agency_sees_only_its_commissions(world: World) -> None:
    assert len(world.codes("agency")) == ALL  # the sample commissions one agency for all
    assert world.codes("other_agency") == set()


@pytest.mark.slow
def test_the_cache_of_pinned_answers_never_crosses_callers(world: World) -> None:
    position = world.ledger.recorder.max_notification_id()
    params = {"query": f"{{ ledger(position: {position}) {{ evaluationTable(fiscalYear: 2022, "
              "table: KEY_PROJECTS) { rows { seq } } } }"}
    full = world.client.get("/graphql", params=params,
                            headers={"Authorization": f"Bearer {world.tokens['auditor']}"})
    anonymous = world.client.get("/graphql", params=params)
    assert full.status_code == anonymous.status_code == 200
    assert full.json()["data"]["ledger"]["evaluationTable"]["rows"]
    assert anonymous.json()["data"]["ledger"]["evaluationTable"]["rows"] == []


@pytest.mark.slow
def test_exports_hold_only_the_rows_the_caller_may_read(world: World) -> None:
    url = "/exports/2022/key-projects.csv"
    header_and_total = 2
    assert len(world.client.get(url).text.splitlines()) == header_and_total
    auditor = {"Authorization": f"Bearer {world.tokens['auditor']}"}
    full = world.client.get(url, headers=auditor).text
    assert len(full.splitlines()) > header_and_total
    codes = {c for c in world.codes("finance_bureau") if "-KP-" in c}
    world.disclose("public", sorted(codes))
    assert world.client.get(url).text == full


@pytest.mark.slow
def test_the_results_ledger_export_holds_only_what_the_caller_may_read(world: World) -> None:
    """Anonymous: nothing before a disclosure; then the disclosed subjects' consequences and
    their units' requests, totalled over what remains; the auditor reads every row."""
    url = "/exports/2022/results-ledger.csv"
    empty = world.client.get(url).content.decode("utf-8-sig").splitlines()
    assert "XS-2022" not in "".join(empty) and "2,收回合计,0.00,万元" in empty
    assert "合计,,,,,0.00,,,0.00," in empty  # no request of a unit it may not read
    auditor = {"Authorization": f"Bearer {world.tokens['auditor']}"}
    full = world.client.get(url, headers=auditor).content.decode("utf-8-sig")
    assert "部门整体支出" in full and "合计,,,,,1073.30,,,1073.30," in full.splitlines()
    world.disclose("public", ["XS-2022-KP-06"])
    shown = world.client.get(url).content.decode("utf-8-sig").splitlines()
    ledger_rows = [line for line in shown if "XS-2022" in line and "REQ" not in line]
    assert len(ledger_rows) == 2 and all("XS-2022-KP-06" in line for line in ledger_rows)
    assert "2,收回合计,20.00,万元" in shown and "3,优先安排,0,项" in shown
    assert any(line.startswith("1,XS-2023-REQ-02,") for line in shown)
    assert not any("XS-2023-REQ-01" in line for line in shown)  # XS-U01's, not disclosed
    assert "合计,,,,,524.35,,,524.35," in shown
