"""Subscriptions over a real socket: a `jixiao serve` process (as a fresh install runs it,
uvicorn picking its WebSocket library itself) and third-party clients, `gql` for the happy
paths and `websockets` for what a refusal looks like on the wire. Both subprotocols, the
token in the header or in connection_init, and bad tokens closed with 4401 and a reason.

starlette's in-process TestClient (tests/e2e/test_api_subscriptions.py) never touches
uvicorn's WebSocket support; these do."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from ledger.migrate import migrate
from ledger.store import Database
from ledger.tokens import TokenStore
from schema.auth import BAD_TOKEN
from tests.conftest import migrated_postgres
from tests.faults.conftest import REGISTER, Server

pytestmark = pytest.mark.slow  # a server process per store

FEED = """subscription($after: Int) { events(afterPosition: $after) {
    position type commandId payload } }"""
TRANSPORT_WS = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL  # "graphql-transport-ws"
LEGACY_WS = WebsocketsTransport.APOLLO_SUBPROTOCOL  # "graphql-ws"


class Served:
    """A serve process and tokens of several kinds on its store."""

    def __init__(self, server: Server) -> None:
        self.server = server
        store = TokenStore(server.db)
        try:
            self.bureau = store.create("finance_bureau", "ws test")[1]
            self.unit = store.create("budget_unit", "ws test unit", unit="MZJ")[1]
            revoked, self.revoked = store.create("auditor", "ws test revoked")
            store.revoke(revoked.id)
        finally:
            store.close()

    @property
    def ws_url(self) -> str:
        return self.server.url.replace("http://", "ws://")

    def head(self) -> int:
        answer = httpx.get(self.server.url, params={"query": "{ ledger { position } }"})
        position: int = answer.json()["data"]["ledger"]["position"]
        return position

    def register_unit(self) -> str:
        command_id = f"ws-{uuid.uuid4().hex}"
        answer = httpx.post(self.server.url, headers={"Authorization": f"Bearer {self.bureau}"},
                            json={"query": REGISTER, "variables": {"input": {
                                "commandId": command_id, "code": command_id[-12:],
                                "name": "订阅测试单位"}}}, timeout=30).json()
        assert "position" in answer["data"]["registerUnit"], answer
        return command_id


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("ws") / "ledger.db"
        db = Database.from_url(f"sqlite:///{path}")
        migrate(db)
        yield from serving(db)
    else:
        with migrated_postgres() as db:
            yield from serving(db)


def serving(db: Database) -> Iterator[Served]:
    server = Server(db)
    server.start()
    try:
        yield Served(server)
    finally:
        server.stop()


async def first_event(served: Served, transport: WebsocketsTransport) -> dict[str, Any]:
    """Subscribe from the current head, append an event over HTTP, and take what arrives."""
    after = served.head()
    async with Client(transport=transport) as session:
        events = session.subscribe(GraphQLRequest(FEED, variable_values={"after": after}))
        command_id = await asyncio.to_thread(served.register_unit)
        async with asyncio.timeout(20):
            result = await anext(events)
        await events.aclose()
    event: dict[str, Any] = result["events"]
    assert event["commandId"] == command_id and event["type"] == "Unit.Registered"
    assert event["position"] > after
    return event


def test_transport_ws_with_the_token_in_connection_init(served: Served) -> None:
    """What a browser does (it cannot set headers on a WebSocket)."""
    transport = WebsocketsTransport(url=served.ws_url, subprotocols=[TRANSPORT_WS],
                                    init_payload={"Authorization": f"Bearer {served.bureau}"})
    asyncio.run(first_event(served, transport))


def test_legacy_graphql_ws_with_the_token_in_the_header(served: Served) -> None:
    transport = WebsocketsTransport(url=served.ws_url, subprotocols=[LEGACY_WS],
                                    headers={"Authorization": f"Bearer {served.bureau}"})
    asyncio.run(first_event(served, transport))


def test_legacy_graphql_ws_with_the_token_in_connection_init(served: Served) -> None:
    transport = WebsocketsTransport(url=served.ws_url, subprotocols=[LEGACY_WS],
                                    init_payload={"authorization": f"Bearer {served.bureau}"})
    asyncio.run(first_event(served, transport))


async def closed_by(served: Served, subprotocol: str, payload: dict[str, Any] | None = None,
                    headers: dict[str, str] | None = None) -> tuple[int, str, list[Any]]:
    """(close code, reason, messages received before the close) for one connection_init."""
    received: list[Any] = []
    ws = await websockets.connect(served.ws_url, subprotocols=[subprotocol],  # type: ignore[list-item]
                                  additional_headers=headers)
    try:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        async with asyncio.timeout(20):
            while True:
                received.append(json.loads(await ws.recv()))
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.close()
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or "", received


@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
def test_a_bad_token_in_connection_init_is_closed_with_4401(served: Served,
                                                             subprotocol: str) -> None:
    for secret in ("made-up", served.revoked):
        code, reason, received = asyncio.run(closed_by(
            served, subprotocol, {"Authorization": f"Bearer {secret}"}))
        assert (code, reason) == (4401, BAD_TOKEN)
        assert all(m["type"] != "connection_ack" for m in received)
        if subprotocol == LEGACY_WS:  # the legacy protocol says so in a message too
            assert received == [{"type": "connection_error", "payload": {"message": BAD_TOKEN}}]
    code, reason, _ = asyncio.run(closed_by(served, subprotocol, {"Authorization": "Basic x"}))
    assert (code, reason) == (4401, BAD_TOKEN)


@pytest.mark.parametrize("subprotocol", [TRANSPORT_WS, LEGACY_WS])
def test_a_bad_token_in_the_header_is_closed_with_4401(served: Served, subprotocol: str) -> None:
    """Not a bare HTTP 403 at the handshake: the socket opens and closes with the reason."""
    code, reason, received = asyncio.run(closed_by(
        served, subprotocol, headers={"Authorization": f"Bearer {served.revoked}"}))
    assert (code, reason, received) == (4401, BAD_TOKEN, [])


def test_a_token_without_the_right_gets_a_graphql_error_and_keeps_the_socket(
        served: Served) -> None:
    """A live token (or none) is connected; the feed it may not read is refused as a GraphQL
    error on that subscription (reason FORBIDDEN), not by closing the socket."""

    async def attempt(payload: dict[str, Any]) -> list[Any]:
        async with websockets.connect(served.ws_url, subprotocols=[TRANSPORT_WS]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            ack = json.loads(await ws.recv())
            await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                      "payload": {"query": FEED, "variables": {"after": 0}}}))
            refused = json.loads(await ws.recv())
            await ws.send(json.dumps({"type": "ping"}))
            return [ack, refused, json.loads(await ws.recv())]

    for payload in ({"Authorization": f"Bearer {served.unit}"}, {}):
        ack, refused, pong = asyncio.run(attempt(payload))
        assert ack["type"] == "connection_ack" and pong == {"type": "pong"}
        errors = refused["payload"] if refused["type"] == "error" else \
            refused["payload"]["errors"]
        assert [e["extensions"]["reason"] for e in errors] == ["FORBIDDEN"], refused
