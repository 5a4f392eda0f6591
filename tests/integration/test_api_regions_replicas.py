"""Issue 9 through the API: `ledger(region:)`, the provincial `rollup`, and queries answered
by a hot standby once it has replayed the position a client asks for."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from jixiao.regions import RegionRegistry
from ledger.application import Ledger
from ledger.migrate import migrate
from ledger.sample.loader import load_sample
from ledger.store import Database
from tests.conftest import drop_schema
from tests.e2e.conftest import bearer, issue_token
from tests.pgcluster import Cluster, Server, started_or_skip

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # regions and standby servers

TABLE = """query($region: String, $min: Int) { ledger(region: $region, minPosition: $min) {
    position evaluationTable(fiscalYear: 2022, table: KEY_PROJECTS) {
        totalFunds rows { seq } } } }"""


def post(client: TestClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_region_is_read_through_the_same_api(postgres_database: Database) -> None:
    home = postgres_database
    code = f"34{uuid.uuid4().int % 10**4:04d}"
    registry = RegionRegistry(home)
    region = registry.add(code, "相山区", f"{home.url.split('?')[0]}?schema=region_{code}")
    opened = registry.get(code)
    load_sample(opened.ledger, publish=True)
    registry.close()
    with TestClient(create_app(home, rate_limit=None),
                    headers=bearer(issue_token(home))) as client:
        there = post(client, TABLE, {"region": code})["data"]["ledger"]
        assert there["evaluationTable"]["totalFunds"] == "6441.47"
        here = post(client, TABLE, {"region": None})["data"]["ledger"]
        assert here["evaluationTable"]["rows"] == [] and here["position"] < there["position"]
        missing = post(client, TABLE, {"region": "999999"})
        assert missing["errors"][0]["extensions"]["reason"] == "REGION_NOT_FOUND"

        rollup = post(client, """query($codes: [String!]) { rollup(fiscalYear: 2022,
            table: KEY_PROJECTS, regions: $codes) { complete totalFunds parts { region
            position evaluationTable { totalFunds } } } }""", {"codes": [code]})
        found = rollup["data"]["rollup"]
        assert found["complete"] and found["totalFunds"] == "6441.47"
        assert found["parts"] == [{"region": code, "position": there["position"],
                                   "evaluationTable": {"totalFunds": "6441.47"}}]
        # The public may not roll up across regions.
        anonymous = TestClient(client.app)
        refused = post(anonymous, "{ rollup(fiscalYear: 2022, table: KEY_PROJECTS) { complete } }",
                       {})
        assert refused["errors"][0]["extensions"]["reason"] == "FORBIDDEN"
    drop_schema(Database.from_url(region.url))


@pytest.mark.slow
def test_queries_come_from_the_standby_once_it_has_the_position() -> None:
    cluster = started_or_skip(Cluster)
    try:
        primary: Server = started_or_skip(cluster.primary)
        standby: Server = started_or_skip(lambda: cluster.standby(primary))
        primary_db, standby_db = primary.database("api"), standby.database("api")
        migrate(primary_db)
        ledger = Ledger(primary_db)
        load_sample(ledger)
        ledger.close()
        app = create_app(primary_db, rate_limit=None, replicas=[standby_db])
        with TestClient(app, headers=bearer(issue_token(primary_db))) as client:
            done = post(client, """mutation { registerUnit(input: {commandId: "region-unit-1",
                code: "XS-U99", name: "新单位"}) { __typename ... on RegisterUnitResult {
                position } } }""", {})["data"]["registerUnit"]
            assert done["__typename"] == "RegisterUnitResult", done
            answer = post(client, TABLE, {"min": done["position"]})["data"]["ledger"]
            assert answer["position"] >= done["position"]
            assert answer["evaluationTable"]["totalFunds"] == "6441.47"
            # The primary answered at once (the standby had not replayed it yet); once the
            # standby has the position, the same question is routed there.
            router = app.state.services.replicas
            assert router is not None
            deadline = time.monotonic() + 20
            while router.status()[0].projected < done["position"]:
                assert time.monotonic() < deadline, router.status()
                time.sleep(0.05)
            assert router.for_read(done["position"], 0).port == standby.port
            again = post(client, TABLE, {"min": done["position"]})["data"]["ledger"]
            assert again == answer
    finally:
        cluster.close()
