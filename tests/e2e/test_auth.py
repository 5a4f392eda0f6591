"""Tokens through HTTP: issued by the CLI, hashed at rest, revocable; the actor of every
event comes from the token; scopes hold; abuse gets 429 (issue 7)."""

from __future__ import annotations

import argparse
import io
import uuid
from contextlib import redirect_stdout

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger import tokens_cli
from ledger.store import Database, fetchall
from schema.auth import RateLimit
from tests.e2e.conftest import bearer
from tests.e2e.test_visibility import World, world

__all__ = ["world"]

REGISTER = """mutation($input: RegisterUnitInput!) { registerUnit(input: $input) {
  __typename ... on CommandSuccess { position } ... on Refusal { code field } } }"""
SUBJECT = """mutation($input: RegisterSubjectInput!) { registerSubject(input: $input) {
  __typename ... on CommandSuccess { position } ... on Refusal { code field } } }"""


def cli(db: Database, *argv: str) -> tuple[int, str]:
    """`jixiao tokens …` as the operator runs it (registered here until ledger.cli has it)."""
    parser = argparse.ArgumentParser(prog="jixiao")
    tokens_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    with redirect_stdout(out):
        code = args.handler(args, db)
    return code, out.getvalue()


def unit_input(code: str | None = None) -> dict[str, str]:
    return {"commandId": f"auth-{uuid.uuid4().hex}", "code": code or f"U-{uuid.uuid4().hex[:6]}",
            "name": "新单位"}


@pytest.mark.slow
def test_anonymous_callers_are_public_and_may_not_write(world: World) -> None:
    body = world.post(REGISTER, {"input": unit_input()})
    assert body["data"]["registerUnit"] == {"__typename": "Forbidden", "code": "FORBIDDEN",
                                            "field": None}


@pytest.mark.slow
def test_a_bad_token_is_a_401_not_silently_public(world: World) -> None:
    for header in ("Bearer jx_not-a-token", "Basic abc", "Bearer "):
        response = world.client.post("/graphql", json={"query": "{ ledger { position } }"},
                                     headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.slow
def test_cli_tokens_are_hashed_shown_once_and_revocable(world: World) -> None:
    database = world.db
    world.client.app.state.tokens.ttl = 0  # type: ignore[attr-defined]
    code, out = cli(database, "tokens", "create", "--role", "auditor", "--name", "审计局")
    assert code == 0
    secret = out.strip()
    conn = database.connect()
    try:
        stored = fetchall(database, conn, "SELECT * FROM api_tokens")
    finally:
        conn.close()
    assert secret not in repr(stored)
    _, listing = cli(database, "tokens", "list")
    assert "审计局" in listing and secret not in listing
    token_id = next(line.split("\t")[0] for line in listing.splitlines() if "审计局" in line)
    query = {"query": "{ events(first: 1) { edges { cursor } } }"}
    assert world.client.post("/graphql", json=query,
                             headers=bearer(secret)).json().get("errors") is None
    assert cli(database, "tokens", "revoke", token_id)[0] == 0
    assert world.client.post("/graphql", json=query, headers=bearer(secret)).status_code == 401
    assert cli(database, "tokens", "create", "--role", "budget_unit", "--name", "x")[0] == 2


@pytest.mark.slow
def test_every_event_records_the_actor_of_the_token(world: World) -> None:
    body = world.post(REGISTER, {"input": unit_input()}, who="finance_bureau")
    position = body["data"]["registerUnit"]["position"]
    smuggled = world.post(REGISTER, {"input": {**unit_input(), "actorId": "someone-else"}},
                          who="finance_bureau")
    assert "errors" in smuggled  # the input type has no actor field at all
    found = world.post("""query($p: Int!) { events(after: $p, first: 3) {
        edges { node { type actorId actorRole } } } }""", {"p": position - 3}, who="auditor")
    node = next(e["node"] for e in found["data"]["events"]["edges"]
                if e["node"]["type"] == "Unit.Registered")
    assert node["actorRole"] == "finance_bureau"
    assert node["actorId"].startswith("token:") and node["actorId"].endswith("test finance_bureau")


@pytest.mark.slow
def test_a_budget_unit_cannot_touch_another_units_subject(world: World) -> None:
    base = {"name": "新项目", "kind": "PROJECT", "fiscalYear": 2022, "funds": "1.00"}
    other = world.post(SUBJECT, {"input": {**base, "commandId": f"s-{uuid.uuid4().hex}",
                                           "code": "XS-NEW-1", "unitCode": "XS-U02"}},
                       who="unit01")["data"]["registerSubject"]
    assert (other["__typename"], other["code"]) == ("Forbidden", "OUT_OF_SCOPE")
    own = world.post(SUBJECT, {"input": {**base, "commandId": f"s-{uuid.uuid4().hex}",
                                         "code": "XS-NEW-2", "unitCode": "XS-U01"}},
                     who="unit01")["data"]["registerSubject"]
    assert "position" in own, own

    def monitoring() -> dict[str, str]:
        found: dict[str, str] = world.post("""mutation($input: RecordMonitoringInput!) {
            recordMonitoring(input: $input) { __typename ... on Refusal { code } } }""",
                                           {"input": {"commandId": f"m-{uuid.uuid4().hex}",
                                                      "subjectCode": "XS-2022-KP-02",
                                                      "roundName": "r",
                                                      "windowStart": "2022-01-01",
                                                      "windowEnd": "2022-07-31",
                                                      "budgetAmount": "1.00",
                                                      "executedAmount": "0.50"}},
                                           who="unit01")["data"]["recordMonitoring"]
        return found

    # Undisclosed, another unit's subject is refused as if it did not exist; once the unit
    # can read it, the refusal says why.
    assert monitoring() == {"__typename": "NotFound", "code": "SUBJECT_NOT_FOUND"}
    world.disclose("public", ["XS-2022-KP-02"])
    assert monitoring() == {"__typename": "Forbidden", "code": "OUT_OF_SCOPE"}


@pytest.mark.slow
def test_the_auditor_reads_everything_and_writes_nothing(world: World) -> None:
    body = world.post(REGISTER, {"input": unit_input()}, who="auditor")
    assert body["data"]["registerUnit"]["__typename"] == "Forbidden"
    assert len(world.codes("auditor")) == 16


@pytest.mark.slow
@pytest.mark.parametrize("who", ["token", "anonymous"])
def test_too_many_requests_get_429_per_caller(database: Database, who: str) -> None:
    from tests.e2e.conftest import issue_token

    headers = bearer(issue_token(database)) if who == "token" else {}
    app = create_app(database, rate_limit=RateLimit(rate=0.5, burst=3))
    with TestClient(app) as client:
        codes = [client.post("/graphql", json={"query": "{ ledger { position } }"},
                             headers=headers).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        refused = client.post("/graphql", json={"query": "{ ledger { position } }"},
                              headers=headers)
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        if who == "token":  # another caller has its own bucket
            other = client.post("/graphql", json={"query": "{ ledger { position } }"})
            assert other.status_code == 200


def test_rate_limit_setting() -> None:
    assert RateLimit.from_env("off") is None
    assert RateLimit.from_env("5/20") == RateLimit(5.0, 20.0)
    assert RateLimit.from_env("") == RateLimit(50.0, 200.0)
