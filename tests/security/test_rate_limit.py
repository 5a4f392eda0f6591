"""Rate limit bypass with made-up bearer tokens.

Every distinct token used to get a bucket of its own and a store look-up, so 400 requests
with random tokens gave 400 answers of 401 and no 429. A token not known to be live is now
charged to the client's address before it costs a look-up, and an unknown token is
remembered (in a bounded cache) so that presenting it again costs no store trip.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest

from jixiao.app import create_app
from ledger.store import Database
from ledger.tokens import TokenStore
from schema.auth import RateLimit, client_key
from tests.browser.conftest import ServerThread
from tests.e2e.conftest import bearer, issue_token
from tests.security.conftest import assert_public_annex_intact

RATE, BURST = 1.0, 20.0
ATTEMPTS = 6 * int(BURST)  # several times what the bucket lets through while they are sent
QUERY = {"query": "{ __typename }"}
ATTACKER = "127.0.0.2"  # another loopback address: the final checks come from 127.0.0.1


@dataclass
class Limited:
    """A served sample with the rate limit on, counting the token store's look-ups."""

    url: str
    bureau: dict[str, str]
    lookups: list[str]
    tokens: TokenStore


@pytest.fixture
def limited(published_sample: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Limited]:
    app = create_app(published_sample, rate_limit=RateLimit(RATE, BURST))
    tokens: TokenStore = app.state.tokens
    lookups: list[str] = []
    query = tokens._query

    def counted(sql: str, params: tuple[Any, ...] = (), *, one: bool = False) -> Any:
        if "secret_hash = ?" in sql:
            lookups.append(str(params[0]))
        return query(sql, params, one=one)

    monkeypatch.setattr(tokens, "_query", counted)
    tokens.ttl = 0.3  # live tokens are looked up again this soon (2 s in service)
    with ServerThread(app) as url:
        yield Limited(url=url, bureau=bearer(issue_token(published_sample)), lookups=lookups,
                      tokens=tokens)


def attacker() -> httpx.Client:
    """A client whose requests come from ATTACKER's address."""
    return httpx.Client(timeout=30, transport=httpx.HTTPTransport(local_address=ATTACKER))


def test_random_bearer_tokens_are_limited_per_address(limited: Limited) -> None:
    started = time.monotonic()
    with attacker() as client:
        statuses = Counter(
            client.post(f"{limited.url}/graphql", json=QUERY,
                        headers=bearer("jx_" + secrets.token_urlsafe(32))).status_code
            for _ in range(ATTEMPTS))
    elapsed = time.monotonic() - started
    allowed = BURST + RATE * elapsed + 2
    assert set(statuses) == {401, 429}, (statuses, elapsed)
    assert statuses[401] <= allowed, statuses
    assert len(limited.lookups) <= allowed, f"{len(limited.lookups)} store look-ups"

    # the bureau, from another address, is not held up by the attacker's bucket
    answer = httpx.post(f"{limited.url}/graphql", json=QUERY, headers=limited.bureau)
    assert answer.status_code == 200, answer.text
    assert_public_annex_intact(limited.url)


def test_an_unknown_token_costs_one_store_trip(limited: Limited) -> None:
    unknown = bearer("jx_" + secrets.token_urlsafe(32))
    first = httpx.post(f"{limited.url}/graphql", json=QUERY, headers=unknown)
    assert first.status_code == 401
    time.sleep(limited.tokens.ttl + 0.5)  # past the cache lifetime of live tokens
    for _ in range(5):
        again = httpx.post(f"{limited.url}/graphql", json=QUERY, headers=unknown)
        assert again.status_code == 401
        assert again.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert len(limited.lookups) == 1, limited.lookups
    assert_public_annex_intact(limited.url)


def test_failed_authentication_spends_the_anonymous_allowance(limited: Limited) -> None:
    """Anonymous and failed-auth requests from one address share one bucket."""
    with attacker() as client:
        for _ in range(10 * int(BURST)):  # until the address's bucket is empty
            refused = client.post(f"{limited.url}/graphql", json=QUERY,
                                  headers=bearer("jx_" + secrets.token_urlsafe(32)))
            if refused.status_code == 429:
                break
        assert refused.status_code == 429, refused.text
        anonymous = client.post(f"{limited.url}/graphql", json=QUERY)
    assert anonymous.status_code == 429, anonymous.text
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert_public_annex_intact(limited.url)


def test_an_ipv6_client_is_limited_by_its_slash_64() -> None:
    """A host given a /64 can pick a new address per request; the whole /64 is one client."""
    one = client_key({"client": ("2001:db8:1:2::1", 1000)})
    other = client_key({"client": ("2001:db8:1:2:ffff:0:abcd:9", 2000)})
    elsewhere = client_key({"client": ("2001:db8:1:3::1", 1000)})
    assert one == other != elsewhere
    assert client_key({"client": ("10.0.0.1", 1)}) != client_key({"client": ("10.0.0.2", 1)})
