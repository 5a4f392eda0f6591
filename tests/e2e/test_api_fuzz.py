"""No input makes the server fail: schemathesis generates queries and mutations from the schema
and sends them to the ASGI app (over the sample data, on SQLite and PostgreSQL).

A failure is a 5xx or a GraphQL error that is not the client's fault (e.g. a masked
"Unexpected error."). Refusals of bad arguments carry extensions.code BAD_USER_INPUT and
typed command refusals are data, so neither counts. Select with `-m fuzz`, skip with
`-m "not fuzz"`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.graphql import nodes
from schemathesis.python.asgi import shutdown_lifespans

from jixiao.app import create_app
from ledger.store import Database
from projections.views import ReadModel
from schema.context import Services

pytestmark = pytest.mark.slow  # fuzzing: not in the fast tier

MAX_EXAMPLES = 25  # per operation (2 queries + 26 mutations) and backend: well under a minute

decimals = st.one_of(
    st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False)
    .map(lambda d: nodes.String(format(d, "f"))),
    st.sampled_from(["640.85", "6441.47", "0", "100", "1.234", "-5", "abc", "1e9"])
    .map(nodes.String),
    st.integers(min_value=-10, max_value=10**6).map(nodes.Int),
)
instants = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                 timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]))
    .map(lambda d: nodes.String(d.isoformat())),
    st.sampled_from(["2022-09-30T18:00:00", "yesterday", ""]).map(nodes.String),
)
days = st.one_of(st.dates(min_value=datetime(2000, 1, 1).date(),
                          max_value=datetime(2100, 1, 1).date())
                 .map(lambda d: nodes.String(d.isoformat())),
                 st.sampled_from(["2022-02-30", "2022-8-31"]).map(nodes.String))
KEYS = ["funds", "name", "score", "version", "effective_from", "ex_ante_threshold", "立项必要性",
        "monitoring", "x"]
json_values: st.SearchStrategy[graphql.ValueNode] = st.one_of(
    st.text(max_size=12).map(nodes.String), st.integers(-5, 10**6).map(nodes.Int),
    st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
    st.booleans().map(nodes.Boolean))


def json_object(fields: dict[str, graphql.ValueNode]) -> graphql.ValueNode:
    return nodes.Object([graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
                         for k, v in fields.items() if k.isidentifier() and k.isascii()])


schemathesis.graphql.scalar("Decimal", decimals)
schemathesis.graphql.scalar("DateTime", instants)
schemathesis.graphql.scalar("Date", days)
schemathesis.graphql.scalar("JSON", st.dictionaries(st.sampled_from(KEYS), json_values,
                                                    max_size=3).map(json_object))


@pytest.fixture
def fuzzed(unpublished_sample: Database) -> Iterator[Any]:
    app = create_app(unpublished_sample)
    try:
        yield schemathesis.graphql.from_asgi("/graphql", app)
    finally:
        shutdown_lifespans()


def fuzz(operation: Any) -> str | None:
    """Run MAX_EXAMPLES generated cases against one operation; the failure, if any."""

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    def run(case: Any) -> None:
        response = case.call_and_validate(checks=[not_a_server_error])
        assert response.status_code < 500
        assert "Traceback" not in response.text

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # every operation's failure, not the first
        return f"{operation.label}: {exc!r}"
    return None


@pytest.mark.fuzz
def test_no_input_makes_the_server_fail(fuzzed: Any) -> None:
    """Every query root and mutation, MAX_EXAMPLES generated cases each."""
    operations = [result.ok() for result in fuzzed.get_all_operations()]
    assert len(operations) >= 28  # ledger, events and one mutation per command
    failures = [f for f in map(fuzz, operations) if f is not None]
    assert not failures, "\n\n".join(failures)


@pytest.mark.fuzz
def test_the_fuzzer_would_notice_a_broken_resolver(fuzzed: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ReadModel, "resolve", broken)  # every `ledger` answer needs it,
    monkeypatch.setattr(Services, "region", broken)  # or this, when it names a region
    found = fuzz(fuzzed["Query"]["ledger"])
    assert found is not None and "Unexpected error." in found
