"""Attack regression fixtures: the real app, served on a real socket, over the published sample.

Every attack test ends by asking, as an anonymous caller, for the two annex tables the people's
congress reads: they must still answer 6441.47 and 24589.14 (`assert_public_annex_intact`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from jixiao.app import create_app
from ledger.application import Ledger
from ledger.store import Database
from tests.browser.conftest import ServerThread
from tests.e2e.conftest import bearer, issue_token

ANNEX_TOTALS = {"KEY_PROJECTS": Decimal("6441.47"), "DEPARTMENT_OVERALL": Decimal("24589.14")}
TOTALS_QUERY = """query($table: AnnexKind!) { ledger { evaluationTable(fiscalYear: 2022,
    table: $table) { totalFunds rows { subjectName } } } }"""


HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every attack test runs a real server over the published sample: the slow tier."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.slow)


@dataclass
class Served:
    """A running server over a published sample: its URL, app, store and a bureau token."""

    url: str
    app: Starlette
    db: Database
    bureau: dict[str, str]  # Authorization header of a finance-bureau token

    @property
    def ledger(self) -> Ledger:
        ledger: Ledger = self.app.state.services.ledger
        return ledger

    def graphql(self, query: str, variables: dict[str, object] | None = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables},
                          headers=headers or {}, timeout=30)


def operator_sql(db: Database, statement: str, params: tuple[Any, ...] = ()) -> None:
    """What an operator with a database client does: no application involved."""
    conn = db.connect()
    try:
        conn.execute(db.sql(statement), params)
        if db.backend == "sqlite":
            conn.commit()
    finally:
        conn.close()


def public_totals(url: str) -> dict[str, Decimal]:
    """The annex totals as an anonymous reader gets them, over HTTP."""
    found: dict[str, Decimal] = {}
    for table in ANNEX_TOTALS:
        body = httpx.post(f"{url}/graphql", json={"query": TOTALS_QUERY,
                                                  "variables": {"table": table}},
                          timeout=30).json()
        assert "errors" not in body, body
        found[table] = Decimal(body["data"]["ledger"]["evaluationTable"]["totalFunds"])
    return found


def assert_public_annex_intact(url: str) -> None:
    assert public_totals(url) == ANNEX_TOTALS


@pytest.fixture
def served(published_sample: Database) -> Iterator[Served]:
    """The published sample behind the real app on a real socket (SQLite and PostgreSQL)."""
    app = create_app(published_sample, rate_limit=None)
    with ServerThread(app) as url:
        yield Served(url=url, app=app, db=published_sample,
                     bureau=bearer(issue_token(published_sample)))
