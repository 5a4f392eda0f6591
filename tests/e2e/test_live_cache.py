""""Now" is a position: a live answer is kept under the projected position it was read at
(schema.app.AnswerCache), served again without execution while nothing is appended, never
after an append, and never to a caller who may see something else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.test_visibility import SUBJECTS, TABLE, World, world  # noqa: F401

pytestmark = pytest.mark.slow  # each test loads the sample


def live_hits(served: World) -> int:
    hits: int = served.client.app.state.graphql.cache.live_hits  # type: ignore[attr-defined]
    return hits


def test_a_repeated_live_query_is_answered_from_the_cache_until_an_append(
        world: World) -> None:  # noqa: F811
    first = world.post(TABLE, {"p": None}, "finance_bureau")
    before = live_hits(world)
    assert world.post(TABLE, {"p": None}, "finance_bureau") == first
    assert live_hits(world) == before + 1  # answered without execution
    now = "{ ledger { position } }"
    body = world.post(now, who="finance_bureau")
    hits = live_hits(world)
    assert world.post(now, who="finance_bureau") == body and live_hits(world) == hits + 1
    # an append: "now" moves, and nothing kept for the old position is served for it
    world.disclose("public", ["XS-2022-KP-01"])
    later = world.post(now, who="finance_bureau")
    assert later["data"]["ledger"]["position"] > body["data"]["ledger"]["position"]
    assert live_hits(world) == hits + 1
    rows = world.post(TABLE, {"p": None})["data"]["ledger"]["evaluationTable"]["rows"]
    assert len(rows) == 1  # the public's answer after the disclosure, not a kept one


def test_callers_who_may_see_different_things_never_share_a_live_answer(
        world: World) -> None:  # noqa: F811
    world.disclose("public", ["XS-2022-KP-02"])
    seen: dict[str | None, Any] = {}
    for who in (None, "unit01", "finance_bureau", None, "unit01", "finance_bureau"):
        body = world.post(SUBJECTS, {"p": None}, who)
        assert "errors" not in body, body
        codes = {e["node"]["code"] for e in body["data"]["ledger"]["subjects"]["edges"]}
        assert seen.setdefault(who, codes) == codes
    assert seen[None] == {"XS-2022-KP-02"}  # the public: what was disclosed to it
    assert seen["unit01"] > seen[None]  # the unit: that and its own
    assert seen["finance_bureau"] > seen["unit01"]
    cache = world.client.app.state.graphql.cache  # type: ignore[attr-defined]
    asked = json.dumps(SUBJECTS, ensure_ascii=False)[1:-1]
    readers = {key[1] for key in cache.items if asked in key[0]}
    assert len(readers) == 3  # one entry each, at the same position
