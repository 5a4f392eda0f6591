"""Goal-table downloads: `GET /exports/goal-tables/{code}.{xlsx|pdf}?asOf=…|position=…`.

The same pool, provenance headers and refusals as the annex downloads (schema.exports); the
caller must be able to read the subject (projections.visibility), else it is unknown."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ledger.runtime import Actor
from projections.exports.coverage_report import (
    CheckpointStatus,
    ExportRefused,
    checkpoint_status,
    resolve_moment,
)
from projections.exports.goal_table import (
    GOAL_TABLE_FORMATS,
    goal_table_bytes,
    goal_table_report,
)
from projections.exports.pdf_export import CjkFontNotFoundError
from projections.exports.report import Report
from projections.views import ReadModel
from projections.visibility import subject as visible_subject
from projections.visibility import visibility
from schema.export_pool import Export, ExportKey, ExportPool, ExportsBusy, RenderOn
from schema.exports import (
    MEDIA_TYPES,
    NO_PDF_FONT,
    Run,
    content_disposition,
    log,
    scope_of,
)


@dataclass(frozen=True)
class GoalTablePlan:
    key: ExportKey
    report: Report


def plan_goal_table(read: ReadModel, code: str, fmt: str, *, position: int | None,
                    as_of: datetime | None, actor: Actor | None) -> GoalTablePlan:
    """Resolve the moment and read the subject as the caller may see it; short reads."""
    if fmt not in GOAL_TABLE_FORMATS:
        raise ExportRefused(f"unknown format {fmt!r} for a goal table; use xlsx or pdf",
                            "format")
    moment = resolve_moment(read, position=position, as_of=as_of)
    seen = None if actor is None else visibility(read, actor, moment)
    found = (read.subject(moment, code) if seen is None
             else visible_subject(read, seen, moment, code))
    if found is None:
        raise ExportRefused(f"no subject {code!r} at position {moment.position}", "code")
    status: CheckpointStatus = checkpoint_status(read, moment)
    p = status.provenance
    checkpoint = ("none" if p.checkpoint_root is None
                  else f"{p.checkpoint_origin} {p.checkpoint_size} {p.checkpoint_root}")
    key = ExportKey(year=found.summary.fiscal_year, table=f"goal-table:{code}", format=fmt,
                    position=moment.position, checkpoint=checkpoint, note=status.note,
                    scope=scope_of(seen), views=read.integrity.views_found_differing)
    return GoalTablePlan(key=key, report=goal_table_report(found, status.provenance))


def goal_table_routes(read_model_getter: Callable[[Request], ReadModel], *,
                      run: Run | None = None,
                      actor_of: Callable[[Request], Actor] | None = None,
                      pool: ExportPool | None = None) -> list[Route]:
    reads: Run = run if run is not None else run_in_threadpool
    exports = pool if pool is not None else ExportPool()

    async def export(request: Request) -> Response:
        code, dot, fmt = request.path_params["file"].rpartition(".")
        try:
            if not dot or not code:
                raise ExportRefused("name the subject and a format, e.g. "
                                    "/exports/goal-tables/XS-001.xlsx", "format")
            position, as_of = _moment(request)
            read = read_model_getter(request)
            actor = None if actor_of is None else actor_of(request)
            chosen = await reads(functools.partial(plan_goal_table, read, code, fmt,
                                                   position=position, as_of=as_of, actor=actor))

            async def produce(render_on: RenderOn) -> Export:
                body = await render_on(functools.partial(goal_table_bytes, chosen.report, fmt))
                report = chosen.report
                return Export(body=body, media_type=MEDIA_TYPES["pdf" if fmt == "pdf"
                                                                else "xlsx"],
                              ascii_name=f"{report.name}.{fmt}",
                              utf8_name=f"{report.title}-{code}.{fmt}",
                              position=report.provenance.position,
                              recorded_at=report.provenance.recorded_at,
                              checkpoint=chosen.key.checkpoint)
            found = await exports.get(chosen.key, produce)
        except ExportRefused as exc:
            status = 404 if exc.parameter == "code" else 400
            return JSONResponse({"error": {"message": str(exc), "parameter": exc.parameter}},
                                status_code=status)
        except ExportsBusy as exc:
            return JSONResponse({"error": {"message": str(exc), "code": "EXPORTS_BUSY"}},
                                status_code=503, headers={"Retry-After": str(exc.retry_after)})
        except CjkFontNotFoundError as exc:
            log.warning("export: %s", exc)
            return JSONResponse({"error": {"message": NO_PDF_FONT}}, status_code=503)
        headers = {
            "Content-Disposition": content_disposition(found.ascii_name, found.utf8_name),
            "ETag": '"' + hashlib.sha256(found.body).hexdigest() + '"',
            "Cache-Control": "no-cache",
            "X-Jixiao-Position": str(found.position),
            "X-Jixiao-Checkpoint": found.checkpoint,
        }
        if found.recorded_at is not None:
            headers["X-Jixiao-Recorded-At"] = found.recorded_at.isoformat()
        return Response(found.body, media_type=found.media_type, headers=headers)

    return [Route("/exports/goal-tables/{file}", export, methods=["GET"])]


def _moment(request: Request) -> tuple[int | None, datetime | None]:
    as_of_text = request.query_params.get("asOf")
    position_text = request.query_params.get("position")
    if as_of_text is not None and position_text is not None:
        raise ExportRefused("give asOf or position, not both", "asOf")
    as_of = None
    if as_of_text is not None:
        try:
            as_of = datetime.fromisoformat(as_of_text)
        except ValueError:
            raise ExportRefused(f"asOf {as_of_text!r} is not an ISO 8601 time", "asOf") from None
    position = None
    if position_text is not None:
        if not position_text.isdecimal():
            raise ExportRefused(f"position {position_text!r} is not a non-negative integer",
                                "position")
        position = int(position_text)
    return position, as_of
