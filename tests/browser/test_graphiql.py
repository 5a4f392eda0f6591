"""GraphiQL at /graphql with the network closed: every request off the test server is aborted
(tests/browser/conftest.py), so the page renders and answers only from the package's files."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2 as httpx
import pytest

from tests.browser.conftest import Session

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def run_default_query(page: Any) -> dict[str, Any]:
    page.wait_for_selector(".graphiql-container .graphiql-query-editor .CodeMirror")
    page.click(".graphiql-execute-button")
    page.wait_for_function("() => /position/.test(document.querySelector("
                           "'.graphiql-response .CodeMirror')?.innerText || '')")
    text: str = page.eval_on_selector(".graphiql-response .CodeMirror",
                                      "e => e.CodeMirror.getValue()")
    answer: dict[str, Any] = json.loads(text)
    return answer


def test_graphiql_renders_and_answers_offline(session: Session) -> None:
    page, url = session.page, session.portal.url
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    page.goto(url + "/graphql")
    answer = run_default_query(page)
    head = httpx.get(url + "/graphql", params={"query": "{ ledger { position } }"}).json()
    assert answer == {"data": head["data"]}
    assert answer["data"]["ledger"]["position"] > 0
    assert {re.sub(r".*/", "", u) for u in loaded} >= {
        "graphiql.min.js", "react.production.min.js", "react-dom.production.min.js",
        "graphiql.min.css", "ide.js"}
    session.watch.check()  # nothing asked of another host, no console errors (CSP, SRI)
