"""Malformed request bodies.

A body that is not UTF-8, or JSON nested 100 000 deep, used to reach the JSON decoder
unguarded and come back as a 500; it is now a typed 400 naming the body and the rule.
"""

from __future__ import annotations

import httpx2 as httpx
import pytest

from tests.security.conftest import Served, assert_public_annex_intact


@pytest.mark.parametrize(("body", "rule"), [
    (b'{"query": "{ __typename }", "operationName": "\xff\xfe"}', "UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nesting"),
    (b'{"query": "{ __typename }", "variables": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nesting"),
    (b'{"query": ', "JSON"),
])
def test_a_malformed_json_body_is_a_typed_400(served: Served, body: bytes, rule: str) -> None:
    answer = httpx.post(f"{served.url}/graphql", content=body, timeout=30,
                        headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["extensions"]["field"] == "body"
    assert rule in error["extensions"]["rule"], error
    assert_public_annex_intact(served.url)


@pytest.mark.parametrize(("variables", "rule"), [
    ("[" * 3000 + "]" * 3000, "nesting"),
    ("{", "JSON"),
])
def test_malformed_variables_in_a_get_are_a_typed_400(served: Served, variables: str,
                                                      rule: str) -> None:
    answer = httpx.get(f"{served.url}/graphql", timeout=30, params={
        "query": "query($p: Int) { ledger(position: $p) { position } }",
        "variables": variables})
    assert answer.status_code == 400, answer.text
    error = answer.json()["errors"][0]
    assert error["extensions"]["field"] == "variables"
    assert rule in error["extensions"]["rule"], error
    assert_public_annex_intact(served.url)
