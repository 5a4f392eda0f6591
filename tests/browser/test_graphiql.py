"""GraphiQL at /graphql with the network closed: every request off the test server is aborted
(tests/browser/conftest.py), so the page renders and answers only from the package's files.
A subscription typed into it, with the token in its Headers tab, reaches the server over a
WebSocket with the token in connection_init (a browser cannot send the header)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2 as httpx
import pytest

from ledger.tokens import TokenStore
from tests.browser.conftest import Session
from tests.faults.conftest import REGISTER

pytestmark = [pytest.mark.browser, pytest.mark.slow]


FEED = """subscription($after: Int) { events(afterPosition: $after) { type commandId } }"""


def answer_with(page: Any, word: str) -> dict[str, Any]:
    """The response pane's JSON as it stood when it first mentioned `word` (a subscription's
    pane shows only its latest event)."""
    found = page.wait_for_function(
        "word => { const e = document.querySelector('.graphiql-response .CodeMirror');"
        " const text = e ? e.CodeMirror.getValue() : ''; return text.includes(word) && text; }",
        arg=word)
    answer: dict[str, Any] = json.loads(found.json_value())
    return answer


def run_default_query(page: Any) -> dict[str, Any]:
    page.wait_for_selector(".graphiql-container .graphiql-query-editor .CodeMirror")
    page.click(".graphiql-execute-button")
    return answer_with(page, "position")


def edit(page: Any, selector: str, text: str) -> None:
    page.eval_on_selector(selector, "(e, text) => e.CodeMirror.setValue(text)", text)


def test_graphiql_renders_and_answers_offline(session: Session) -> None:
    """One page (the server's start is the cost): render, a query, then a subscription."""
    page, portal = session.page, session.portal
    store = TokenStore(portal.db)
    try:
        secret = store.create("auditor", "graphiql test")[1]
        bureau = store.create("finance_bureau", "graphiql test writer")[1]
    finally:
        store.close()
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    page.goto(portal.url + "/graphql")
    answer = run_default_query(page)
    expected = httpx.get(portal.url + "/graphql", params={"query": "{ ledger { position } }"})
    assert answer == {"data": expected.json()["data"]}
    head = answer["data"]["ledger"]["position"]
    assert head > 0
    assert {re.sub(r".*/", "", u) for u in loaded} >= {
        "graphiql.min.js", "react.production.min.js", "react-dom.production.min.js",
        "graphiql.min.css", "ide.js"}

    # A subscription, its token in the Headers tab: over the socket, in connection_init.
    edit(page, ".graphiql-query-editor .CodeMirror", FEED)
    page.get_by_role("button", name="Variables").click()
    edit(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror",
         json.dumps({"after": head}))
    page.get_by_role("button", name="Headers").click()
    edit(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror",
         json.dumps({"Authorization": f"Bearer {secret}"}))
    page.click(".graphiql-execute-button")
    command_id = "graphiql-feed-test"
    written = httpx.post(portal.url + "/graphql", headers={"Authorization": f"Bearer {bureau}"},
                         json={"query": REGISTER, "variables": {"input": {
                             "commandId": command_id, "code": "GQL1", "name": "订阅单位"}}})
    assert "position" in written.json()["data"]["registerUnit"], written.text
    event = answer_with(page, command_id)
    assert event == {"data": {"events": {"type": "Unit.Registered", "commandId": command_id}}}
    session.watch.check()  # nothing asked of another host, no console errors (CSP, SRI)
