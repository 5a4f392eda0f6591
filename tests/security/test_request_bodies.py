"""Malformed and slow request bodies.

A body that is not UTF-8, or JSON nested 100 000 deep, used to reach the JSON decoder
unguarded and come back as a 500; it is now a typed 400 naming the body and the rule. A
client that sends its headers and then trickles or stalls the body gets 408 once the body
read timeout (JIXIAO_BODY_TIMEOUT) has passed, and the connection is closed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from jixiao.app import create_app
from ledger.store import Database
from tests.browser.conftest import ServerThread
from tests.security.conftest import Served, assert_public_annex_intact

BODY_TIMEOUT = 1.0


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


@pytest.fixture
def impatient(published_sample: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The sample served with a 1 s body read timeout, set as an operator would."""
    monkeypatch.setenv("JIXIAO_BODY_TIMEOUT", str(BODY_TIMEOUT))
    app = create_app(published_sample, rate_limit=None)
    with ServerThread(app) as url:
        yield url


def open_post(url: str, length: int) -> socket.socket:
    """A raw connection that has sent a POST's headers and the first byte of its body."""
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    conn.sendall(b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(length).encode() + b"\r\n\r\n{")
    return conn


def answer_of(conn: socket.socket) -> tuple[bytes, bool]:
    """What the server sends, and whether it then closed the connection (within 10 s).

    A reset counts as closed: the server closes with the trickled bytes unread, and the
    kernel may then answer the client's next byte with a reset that drops the 408 too.
    """
    received = b""
    try:
        while chunk := conn.recv(4096):
            received += chunk
    except TimeoutError:
        return received, False
    except ConnectionResetError:
        pass
    return received, True


@pytest.mark.parametrize("trickle", [False, True], ids=["stalled", "trickled"])
def test_a_slow_body_gets_408_and_the_connection_closed(impatient: str, trickle: bool) -> None:
    conn = open_post(impatient, 1000)
    started = time.monotonic()
    stop = threading.Event()

    def drip() -> None:  # one byte every 0.2 s: each read is quick, the whole body never is
        while trickle and not stop.wait(0.2):
            try:
                conn.sendall(b" ")
            except OSError:
                return

    dripping = threading.Thread(target=drip, daemon=True)
    dripping.start()
    probe = httpx.post(f"{impatient}/graphql", json={"query": "{ __typename }"}, timeout=30)
    assert probe.json() == {"data": {"__typename": "Query"}}  # the stalled body holds no one up
    received, closed = answer_of(conn)
    stop.set()
    dripping.join()
    conn.close()
    waited = time.monotonic() - started
    assert closed, f"still open after {waited:.1f}s; received {received[:200]!r}"
    if received or not trickle:
        assert received.startswith(b"HTTP/1.1 408"), received[:200]
        assert b"REQUEST_TIMEOUT" in received
    assert BODY_TIMEOUT * 0.8 < waited < BODY_TIMEOUT + 5, f"answered after {waited:.1f}s"
    assert_public_annex_intact(impatient)
