"""Anonymous cache poisoning: a GET that names a GraphQL parameter twice.

The pinned-answer cache used to key on the first `query` (or `variables`, `operationName`)
while strawberry executed the last, so `?query=A&query=B` stored B's answer under A, served
to every later reader of A as `immutable`. A repeated GraphQL parameter is now a typed 400,
and the cache key is taken from the very parameters that are executed.
"""

from __future__ import annotations

import json

import httpx2 as httpx
import pytest

from tests.security.conftest import Served, assert_public_annex_intact

AT_5 = "{ ledger(position: 5) { position } }"
AT_7 = "{ ledger(position: 7) { position } }"
BY_VARIABLE = "query($p: Int!) { ledger(position: $p) { position } }"
BY_NAME = ("query Five { ledger(position: 5) { position } } "
           "query Seven { ledger(position: 7) { position } }")

# (what the victim asks for, the attacker's query string with a repeated parameter)
POISONS = {
    "query": ({"query": AT_5}, [("query", AT_5), ("query", AT_7)]),
    "variables": ({"query": BY_VARIABLE, "variables": json.dumps({"p": 5})},
                  [("query", BY_VARIABLE), ("variables", json.dumps({"p": 5})),
                   ("variables", json.dumps({"p": 7}))]),
    "operationName": ({"query": BY_NAME, "operationName": "Five"},
                      [("query", BY_NAME), ("operationName", "Five"),
                       ("operationName", "Seven")]),
}


@pytest.mark.parametrize("parameter", list(POISONS))
def test_a_repeated_graphql_parameter_cannot_poison_the_pinned_cache(
        served: Served, parameter: str) -> None:
    victim, attack = POISONS[parameter]
    refused = httpx.get(f"{served.url}/graphql", params=attack, timeout=30)
    assert refused.status_code == 400, refused.text
    error = refused.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_REQUEST", "field": parameter,
                                   "rule": "given at most once"}
    assert refused.headers["cache-control"] == "no-store"

    for _ in range(2):  # the first answer is computed, the second comes from the cache
        answer = httpx.get(f"{served.url}/graphql", params=victim, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"data": {"ledger": {"position": 5}}}
        assert "immutable" in answer.headers["cache-control"]
    assert_public_annex_intact(served.url)


def test_a_missing_and_an_empty_operation_name_are_cached_apart(served: Served) -> None:
    """`operationName=` is executed differently from no operationName, so it is keyed apart."""
    answered = httpx.get(f"{served.url}/graphql", params={"query": AT_5}, timeout=30)
    assert answered.json() == {"data": {"ledger": {"position": 5}}}
    empty = httpx.get(f"{served.url}/graphql", params={"query": AT_5, "operationName": ""},
                      timeout=30)
    assert empty.status_code == 400, empty.text  # strawberry: 'Unknown operation named ""'
    assert "immutable" not in empty.headers["cache-control"]
    assert_public_annex_intact(served.url)


def test_an_answer_that_depends_on_the_token_is_never_publicly_cacheable(
        served: Served) -> None:
    """A shared cache (proxy, CDN) keys on the URL: the bureau's pinned answer marked
    `public` could be stored there and handed to the next anonymous reader of the URL."""
    for _ in range(2):  # computed, then from the cache
        bureau = httpx.get(f"{served.url}/graphql", params={"query": AT_5},
                           headers=served.bureau, timeout=30)
        assert bureau.status_code == 200, bureau.text
        assert bureau.headers["cache-control"].startswith("private,"), bureau.headers
        assert "authorization" in bureau.headers["vary"].lower()
        anonymous = httpx.get(f"{served.url}/graphql", params={"query": AT_5}, timeout=30)
        assert anonymous.headers["cache-control"].startswith("public,"), anonymous.headers
        assert "authorization" in anonymous.headers["vary"].lower()
    assert_public_annex_intact(served.url)
