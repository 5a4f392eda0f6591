"""`GET /health`: whether this server can vouch for what it serves.

It reports what the server's watch (jixiao.watch) last found: whether every view matched a
replay of the sealed log, and whether the last checkpoint could seal every new event. Either
failing answers 503 with status "degraded". Anyone sees which views differ and that sealing
stopped; the rows, columns, values and positions are for the finance bureau and auditors,
since the values can be ones the caller may not read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ledger.integrity.service import CheckpointInfo, latest_checkpoint
from projections.view_check import IntegrityStatus
from projections.views import ReadModel
from projections.visibility import READ_ALL
from schema.context import resolve_actor

T = TypeVar("T")
Run = Callable[[Callable[[], T]], Awaitable[T]]


def _time(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def health(status: IntegrityStatus, latest: CheckpointInfo | None,
           details: bool) -> dict[str, Any]:
    """The /health answer; `details` adds what differs and why sealing stopped."""
    views = status.views
    problems = []
    if views.differ:
        problems.append("views differ from a replay of the sealed log")
    if views.error is not None:
        problems.append("the views could not be checked")
    if status.sealing_error is not None:
        problems.append("new events are not being sealed")
    answer: dict[str, Any] = {
        "status": "degraded" if problems else ("ok" if views.checked_at else "unchecked"),
        "problems": problems,
        "views": {"checkedAt": _time(views.checked_at), "position": views.position,
                  "against": "sealed log" if views.sealed else "log",
                  "differ": views.differ,
                  "differing": sorted({d.view for d in views.differences})},
        "sealing": {"ok": status.sealing_error is None, "sealedAt": _time(status.sealed_at)},
        "checkpoint": None if latest is None or views.differ else {
            "size": latest.size, "lastPosition": latest.last_position,
            "madeAt": latest.made_at.isoformat()},
    }
    if details:
        answer["views"]["differences"] = [
            {"view": d.view, "key": d.key, "detail": d.detail} for d in views.differences]
        answer["views"]["error"] = views.error
        answer["sealing"]["error"] = status.sealing_error
    return answer


def health_routes(read_model_getter: Callable[[Request], ReadModel], *,
                  run: Run[Any]) -> list[Route]:
    async def endpoint(request: Request) -> Response:
        read = read_model_getter(request)
        latest = await run(lambda: latest_checkpoint(read.db))
        details = resolve_actor(request).role in READ_ALL
        found = health(read.integrity, latest, details)
        return JSONResponse(found, status_code=503 if found["problems"] else 200,
                            headers={"Cache-Control": "no-store"})

    return [Route("/health", endpoint, methods=["GET"])]
