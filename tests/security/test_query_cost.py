"""A 1 KB query must not freeze the server.

A chain of fragments, each spreading the next twice, is 2^n fields once expanded; the depth
and alias limits used to expand it and held the event loop for seconds (20 levels: 12 s).
The limits are now measured per fragment, once, and a document is validated off the event
loop under a time cap, so a concurrent `{ __typename }` is answered meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from graphql import ASTValidationRule, OperationDefinitionNode, ValidationContext

import schema
from tests.security.conftest import Served, assert_public_annex_intact

LEVELS = 20


def fragment_chain(leaf: str, levels: int = LEVELS) -> str:
    """`fragment Fi on Ledger { ...Fi+1 ...Fi+1 }` down to a last fragment holding `leaf`."""
    chain = [f"fragment F{i} on Ledger {{ ...F{i + 1} ...F{i + 1} }}" for i in range(1, levels)]
    return "\n".join(["{ ledger { ...F1 } }", *chain,
                      f"fragment F{levels} on Ledger {{ {leaf} }}"])


class Timed:
    """A request sent on a thread, with how long it took."""

    def __init__(self, url: str, query: str) -> None:
        self.answer: dict[str, Any] = {}
        self.seconds = 0.0
        self.thread = threading.Thread(target=self.send, args=(url, query), daemon=True)
        self.thread.start()

    def send(self, url: str, query: str) -> None:
        started = time.monotonic()
        self.answer = httpx.post(f"{url}/graphql", json={"query": query}, timeout=60).json()
        self.seconds = time.monotonic() - started

    def wait(self) -> Timed:
        self.thread.join(timeout=90)
        return self


def probe_while(url: str, query: str) -> tuple[Timed, Timed]:
    """Send `query`, then `{ __typename }` while it is being handled."""
    attack = Timed(url, query)
    time.sleep(0.3)  # the attack is being validated by now
    probe = Timed(url, "{ __typename }").wait()
    return attack.wait(), probe


def messages(answer: dict[str, Any]) -> str:
    return " ".join(e["message"] for e in answer.get("errors", []))


@pytest.mark.parametrize(("leaf", "expected"), [
    ("position", None),  # legal: the executor merges the repeated spreads
    ("p: position", "aliases"),  # 2^19 aliases once expanded
    ("subject(code: \"x\") { " + "auditTrail(first: 1) { edges { node { " * 3 + "changes"
     + " } } }" * 3 + " }", "maximum operation depth"),
])
def test_a_doubling_fragment_chain_is_measured_without_expanding_it(
        served: Served, leaf: str, expected: str | None) -> None:
    attack, probe = probe_while(served.url, fragment_chain(leaf))
    assert probe.answer == {"data": {"__typename": "Query"}}
    assert probe.seconds < 1.0, f"{{ __typename }} waited {probe.seconds:.1f}s"
    if expected is None:
        assert attack.answer["data"]["ledger"]["position"] > 0, attack.answer
    else:
        assert expected in messages(attack.answer), attack.answer
        assert attack.answer.get("data") is None
    assert attack.seconds < 5.0, f"the chain took {attack.seconds:.1f}s"
    assert_public_annex_intact(served.url)


class SlowRule(ASTValidationRule):
    """Stands for any validation that turns out slow: 4 s for an operation named Slow."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        if any(isinstance(d, OperationDefinitionNode) and d.name and d.name.value == "Slow"
               for d in context.document.definitions):
            time.sleep(4)


@pytest.fixture
def slow_validation(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(schema, "LIMIT_RULES", (*schema.LIMIT_RULES, SlowRule))
    yield


def test_slow_validation_is_capped_and_off_the_event_loop(served: Served,
                                                          slow_validation: None) -> None:
    attack, probe = probe_while(served.url, "query Slow { __typename }")
    assert probe.answer == {"data": {"__typename": "Query"}}
    assert probe.seconds < 1.0, f"{{ __typename }} waited {probe.seconds:.1f}s"
    error = attack.answer["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", attack.answer
    assert "validate" in error["message"]
    assert attack.seconds < 3.5, f"the refusal took {attack.seconds:.1f}s (no time cap)"
    assert_public_annex_intact(served.url)
