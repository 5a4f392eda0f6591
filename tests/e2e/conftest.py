"""API fixtures: the real ASGI app over a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.application import Ledger
from ledger.store import Database
from ledger.tokens import TokenStore


class Api:
    """A thin GraphQL client over Starlette's TestClient (real HTTP semantics, in process)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    @property
    def ledger(self) -> Ledger:
        ledger: Ledger = self.client.app.state.services.ledger  # type: ignore[attr-defined]
        return ledger

    @property
    def db(self) -> Database:
        """The store the app serves (for `sample_api`: its copy of the sample)."""
        db: Database = self.client.app.state.services.read_model.db  # type: ignore[attr-defined]
        return db

    def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.post(query, variables)
        assert "errors" not in body, json.dumps(body, ensure_ascii=False)
        found: dict[str, Any] = body["data"]
        return found

    def get(self, query: str, variables: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Any:
        params = {"query": query}
        if variables is not None:
            params["variables"] = json.dumps(variables)
        return self.client.get("/graphql", params=params, headers=headers or {})

    def mutate(self, name: str, input: dict[str, Any]) -> dict[str, Any]:
        """Run one mutation and return its payload (a Result or a refusal)."""
        pascal = name[0].upper() + name[1:]
        query = (f"mutation($input: {pascal}Input!) {{ {name}(input: $input) {{ __typename "
                 "... on CommandSuccess { commandId command position replayed aggregateId "
                 "version events ids { name value } } "
                 "... on Refusal { code field rule message } "
                 "... on Conflict { currentVersion } ... on NotFound { key } "
                 "... on ValidationError { problems { field rule message } } } }")
        payload: dict[str, Any] = self.data(query, {"input": input})[name]
        return payload


def cid() -> str:
    return f"api-{uuid.uuid4().hex}"


def issue_token(database: Database, role: str = "finance_bureau", *, unit: str | None = None,
                agency: str | None = None) -> str:
    """A real API token (as `jixiao tokens create` issues it); returns the secret."""
    store = TokenStore(database)
    try:
        return store.create(role, f"test {role}", unit=unit, agency=agency)[1]
    finally:
        store.close()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    """Acts as the finance bureau (a real token), without a rate limit."""
    headers = bearer(issue_token(database))
    with TestClient(create_app(database, rate_limit=None), headers=headers) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
def sample_api(unpublished_sample: Database) -> Iterator[Api]:
    """Like `api`, over a store with the sample (undisclosed) loaded."""
    headers = bearer(issue_token(unpublished_sample))
    with TestClient(create_app(unpublished_sample, rate_limit=None),
                    headers=headers) as test_client:
        yield Api(test_client)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: schemathesis property tests of the GraphQL API")
