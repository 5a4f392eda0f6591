"""The live event feed over graphql-transport-ws: events appended by another request arrive,
and a feed resumes from a position."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession

from tests.e2e.conftest import Api, cid

pytestmark = pytest.mark.slow  # websocket feeds, waited for

FEED = """subscription($after: Int) { events(afterPosition: $after) {
    position type aggregateId version commandId actorId payload } }"""


def open_feed(ws: WebSocketTestSession, after: int | None) -> None:
    ws.send_json({"type": "connection_init"})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json({"id": "1", "type": "subscribe",
                  "payload": {"query": FEED, "variables": {"after": after}}})


def next_event(ws: WebSocketTestSession) -> dict[str, Any]:
    message = ws.receive_json()
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    event: dict[str, Any] = message["payload"]["data"]["events"]
    return event


def test_feed_receives_events_appended_by_a_mutation(api: Api) -> None:
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        assert ws.accepted_subprotocol == "graphql-transport-ws"
        open_feed(ws, None)
        command_id = cid()
        done = api.mutate("registerUnit", {"commandId": command_id, "code": "MZJ",
                                           "name": "相山区民政局"})
        event = next_event(ws)
        assert event["type"] == "Unit.Registered"
        assert event["commandId"] == command_id
        assert event["actorId"].startswith("token:")  # who, from the bearer token
        assert event["payload"]["code"] == "MZJ"
        assert event["position"] <= done["position"]
        later = api.mutate("admitAgency", {"commandId": cid(), "code": "AG1", "name": "事务所"})
        positions = [event["position"]]
        while positions[-1] < later["position"]:
            positions.append(next_event(ws)["position"])
        assert positions == sorted(set(positions))
        ws.send_json({"id": "1", "type": "complete"})


def test_many_feeds_share_one_watcher_of_the_log(api: Api) -> None:
    connect = api.client.websocket_connect
    with connect("/graphql", subprotocols=["graphql-transport-ws"]) as one, \
            connect("/graphql", subprotocols=["graphql-transport-ws"]) as two:
        open_feed(one, None)
        open_feed(two, None)
        done = api.mutate("admitExpert", {"commandId": cid(), "code": "E1", "name": "张三"})
        for ws in (one, two):
            event = next_event(ws)
            assert event["type"] == "Expert.Admitted" and event["position"] <= done["position"]
        head = api.client.app.state.services.head  # type: ignore[attr-defined]
        assert head.position >= done["position"] and head.task is not None


def test_feed_resumes_after_a_position(api: Api) -> None:
    first = api.mutate("registerUnit", {"commandId": cid(), "code": "U1", "name": "一"})
    second = api.mutate("registerUnit", {"commandId": cid(), "code": "U2", "name": "二"})
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        open_feed(ws, first["position"])
        event = next_event(ws)
        assert first["position"] < event["position"] <= second["position"]
        assert event["payload"]["code"] == "U2"
        ws.send_json({"id": "1", "type": "complete"})


def test_feed_refuses_a_negative_position(api: Api) -> None:
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        open_feed(ws, -1)
        message = ws.receive_json()
        assert message["type"] in ("error", "next")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert "negative" in str(errors)


def test_the_raw_feed_is_refused_to_anonymous_callers(api: Api) -> None:
    """The feed is every event, unfiltered: only roles that read everything may follow it."""
    from starlette.testclient import TestClient

    anonymous = TestClient(api.client.app)
    with anonymous.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        open_feed(ws, 0)
        message = ws.receive_json()
        assert message["type"] in ("error", "next")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert "finance_bureau or auditor" in str(errors)
