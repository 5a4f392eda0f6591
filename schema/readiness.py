"""`GET /readyz`: whether the views keep up with the log, for operators and load balancers
(`/health`, schema.health, says whether they agree with the sealed log).

    {"status": "ok" | "degraded", "position": 322, "head": 323,
     "views": [{"name": "subjects", "position": 322, "lag": 1,
                "stopped": {"position": 323, "since": "…", "error": "DataError"},
                "skipped": []}, …]}

A view stopped before an event it cannot project (projections.stops) makes the status
"degraded", not a 503: every instance reads the same log, so a 503 would take all of them out
of service at once and turn one unprojectable event into an outage, while reads still answer
as of the position before it. 503 means the store cannot be reached. Only the error's kind is
shown here; its message, which may quote stored data, is for `jixiao projections status` and
the log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from projections.stops import ViewState, view_states
from projections.views import ReadModel
from schema.errors import PublicError
from schema.portal import Run

ReadModelGetter = Callable[[Request], ReadModel]


def readiness(read: ReadModel) -> dict[str, Any]:
    """Caught up first, as any read would be; then each view as it stands."""
    position = read.current()
    with read.conn() as conn:
        states = view_states(read.db, conn, [v.name for v in read.runner.views])
    return {"status": "degraded" if any(s.stop for s in states) else "ok",
            "position": position, "head": max((s.position + s.lag for s in states), default=0),
            "views": [as_json(s) for s in states]}


def as_json(state: ViewState) -> dict[str, Any]:
    stop = state.stop
    return {"name": state.name, "position": state.position, "lag": state.lag,
            "stopped": None if stop is None else {
                "position": stop.position, "since": stop.stopped_at,
                "error": stop.error.split(":", 1)[0], "quarantined": state.stop_quarantined},
            "skipped": [q.position for q in state.skipped]}


def readiness_routes(read_model: ReadModelGetter, *, run: Run) -> list[BaseRoute]:
    async def readyz(request: Request) -> Response:
        try:
            body = await run(lambda: readiness(read_model(request)))
        except PublicError:  # the store cannot be reached (Services.run says so)
            return JSONResponse({"status": "unavailable"}, status_code=503,
                                headers={"Cache-Control": "no-store"})
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return [Route("/readyz", readyz, methods=["GET", "HEAD"])]
