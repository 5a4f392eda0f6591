"""Who is on a WebSocket (schema/websocket.py), in process: the token in connection_init,
and a bad one closed with 4401 and its reason. tests/e2e/test_subscriptions_served.py runs
the same over a real socket against `jixiao serve`."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ledger.store import Database
from schema.auth import BAD_TOKEN
from schema.websocket import init_secret
from tests.e2e.conftest import Api, cid, issue_token

SQLITE = pytest.mark.parametrize("backend", ["sqlite"])
FEED = "subscription { events(afterPosition: 0) { type commandId } }"


def first_answer(api: Api, subprotocol: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The first answer to the feed on an anonymous socket that sends `payload` at init."""
    start = "subscribe" if subprotocol == "graphql-transport-ws" else "start"
    anonymous = TestClient(api.client.app)
    with anonymous.websocket_connect("/graphql", subprotocols=[subprotocol]) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": start, "payload": {"query": FEED}})
        answer: dict[str, Any] = ws.receive_json()
        return answer


@SQLITE
@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
def test_the_token_in_connection_init_is_who_subscribes(api: Api, database: Database,
                                                        subprotocol: str) -> None:
    command_id = cid()
    api.mutate("registerUnit", {"commandId": command_id, "code": "MZJ", "name": "民政局"})
    secret = issue_token(database, "auditor")
    answer = first_answer(api, subprotocol, {"Authorization": f"Bearer {secret}"})
    assert answer["payload"]["data"]["events"] == {"type": "Unit.Registered",
                                                   "commandId": command_id}, answer
    anonymous = first_answer(api, subprotocol, {})
    assert "finance_bureau or auditor" in str(anonymous["payload"])


@SQLITE
@pytest.mark.parametrize("subprotocol", ["graphql-transport-ws", "graphql-ws"])
def test_a_bad_token_in_connection_init_closes_with_4401(api: Api, subprotocol: str) -> None:
    anonymous = TestClient(api.client.app)
    for value in ("Bearer made-up", "Basic abc", "Bearer ", 42):
        with anonymous.websocket_connect("/graphql", subprotocols=[subprotocol]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"Authorization": value}})
            if subprotocol == "graphql-ws":
                assert ws.receive_json() == {"type": "connection_error",
                                             "payload": {"message": BAD_TOKEN}}
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
        assert (closed.value.code, closed.value.reason) == (4401, BAD_TOKEN), value


@SQLITE
def test_a_bad_token_in_the_upgrade_header_closes_with_4401(api: Api) -> None:
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"],
                                      headers={"Authorization": "Bearer made-up"}) as ws:
        assert ws.accepted_subprotocol == "graphql-transport-ws"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (4401, BAD_TOKEN)


def test_init_secret_reads_only_a_bearer_authorization() -> None:
    assert init_secret({}) is None and init_secret(None) is None and init_secret([1]) is None
    assert init_secret({"Authorization": "Bearer abc "}) == "abc"
    assert init_secret({"authorization": "bearer abc"}) == "abc"
    assert init_secret({"Authorization": "Basic abc"}) == ""
    assert init_secret({"Authorization": "x", "authorization": "Bearer abc"}) == ""
