"""`GET /readyz`: whether the views keep up with the log, for operators and load balancers
(`/health`, schema.health, says whether they agree with the sealed log); `GET /healthz`:
whether the process is up at all (it touches no storage).

    {"status": "ok" | "degraded", "store": {"reachable": true}, "position": 322, "head": 323,
     "lag": 1, "checkpoint": {"size": 300, "madeAt": "…", "ageSeconds": 12.5} | null,
     "viewCheck": {"checkedAt": "…" | null, "differ": false, "failed": false},
     "views": [{"name": "subjects", "position": 322, "lag": 1,
                "stopped": {"position": 323, "since": "…", "error": "DataError"},
                "skipped": []}, …]}

A view stopped before an event it cannot project (projections.stops), or views that differ
from the sealed log, make the status "degraded", not a 503: every instance reads the same
log, so a 503 would take all of them out of service at once and turn one unprojectable event
into an outage, while reads still answer as of the position before it. 503 means the store
cannot be reached. Only the error's kind is shown here; its message, which may quote stored
data, is for `jixiao projections status` and
the log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ledger.integrity.service import latest_checkpoint
from projections.stops import ViewState, view_states
from projections.views import ReadModel
from schema.errors import PublicError
from schema.portal import Run

ReadModelGetter = Callable[[Request], ReadModel]


def readiness(read: ReadModel) -> dict[str, Any]:
    """Caught up first, as any read would be; then each view as it stands, the last signed
    checkpoint and what the last check of the views against the sealed log found."""
    position = read.current()
    with read.conn() as conn:
        states = view_states(read.db, conn, [v.name for v in read.runner.views])
    latest = latest_checkpoint(read.db)
    check = read.integrity.views
    degraded = any(s.stop for s in states) or check.differ
    return {"status": "degraded" if degraded else "ok",
            "store": {"reachable": True},
            "position": position, "head": max((s.position + s.lag for s in states), default=0),
            "lag": max((s.lag for s in states), default=0),
            "checkpoint": None if latest is None else {
                "size": latest.size, "madeAt": latest.made_at.isoformat(),
                "ageSeconds": round((datetime.now(UTC) - latest.made_at).total_seconds(), 3)},
            "viewCheck": {"checkedAt": None if check.checked_at is None
                          else check.checked_at.isoformat(),
                          "differ": check.differ, "failed": check.error is not None},
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
            return JSONResponse({"status": "unavailable", "store": {"reachable": False}},
                                status_code=503, headers={"Cache-Control": "no-store"})
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def healthz(request: Request) -> Response:
        """The process is up and serving: no storage is touched (a liveness probe)."""
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    return [Route("/readyz", readyz, methods=["GET", "HEAD"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"])]
