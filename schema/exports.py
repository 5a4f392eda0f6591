"""Downloads: `GET /exports/{year}/{table}.{format}?asOf=…|position=…` (Starlette routes).

The bytes are exactly what `jixiao export` writes for the same state (same writers,
same provenance); the fiscal data package, a directory on disk, comes as a zip of
it. Provenance also travels in headers (X-Jixiao-Position, X-Jixiao-Checkpoint…),
since a download has no sidecar. Mount with
`routes(lambda request: services.read_model, run=services.run, pool=services.exports)`.

The short reads (which moment, what this caller may read, which rows) run on the read pool;
the rendering runs in the export pool (schema.export_pool), which keeps finished files and
turns away what it cannot start soon with 503 and Retry-After. A request pinned by
`?position=` whose export cites a checkpoint is answered from the pool with no store query
at all the next time (ExportPool.settled): it cites the earliest covering checkpoint, fixed.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import tempfile
import zipfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ledger.runtime import Actor
from projections.exports.coverage_report import (
    CheckpointStatus,
    ExportRefused,
    FormatName,
    TableName,
    check_request,
    checkpoint_status,
    resolve_moment,
    table_report,
    write_export,
)
from projections.exports.pdf_export import CjkFontNotFoundError
from projections.exports.report import Report
from projections.values import Moment
from projections.views import ReadModel
from projections.visibility import Visibility, export_report, reader_of, visibility
from schema.export_pool import Export, ExportKey, ExportPool, ExportsBusy, RenderOn

T = TypeVar("T")
log = logging.getLogger("jixiao.api")
NO_PDF_FONT = ("PDF exports are unavailable: this server has no CJK font installed; the "
               "operator's log says where it looked. The xlsx, csv and fdp formats work.")
ReadModelGetter = Callable[[Request], ReadModel]
MEDIA_TYPES: dict[FormatName, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
    "fdp": "application/zip",
}
EXTENSIONS: dict[FormatName, str] = {"xlsx": "xlsx", "csv": "csv", "pdf": "pdf",
                                     "fdp": "datapackage.zip"}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_DIGITS = 18  # a position or version; more is no record (int() of 4300+ digits raises)


class Run(Protocol):
    """How a blocking call leaves the event loop (e.g. `Services.run`)."""

    def __call__(self, func: Callable[[], T], /) -> Awaitable[T]: ...


@dataclass(frozen=True)
class ExportPlan:
    """A checked request resolved to the moment it shows, and the key of its bytes."""

    key: ExportKey
    table: TableName
    format: FormatName
    moment: Moment
    status: CheckpointStatus
    visibility: Visibility | None  # None: an operator's export, every row


def content_disposition(ascii_name: str, utf8_name: str) -> str:
    """RFC 6266 with an RFC 5987 `filename*` for the Chinese title, and an ASCII fallback."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"


def zip_directory(root: Path, top: str) -> bytes:
    """A zip of every file under `root`, in name order with fixed dates: same dir, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            entry = zipfile.ZipInfo(f"{top}/{path.relative_to(root).as_posix()}",
                                    date_time=_ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, path.read_bytes())
    return buffer.getvalue()


def plan(read: ReadModel, year: int, table: str, fmt: str, *, position: int | None = None,
         as_of: datetime | None = None, actor: Actor | None = None) -> ExportPlan:
    """Validate, resolve the moment (a live request becomes a position) and what the actor
    may read (None: an operator's export, everything); short reads, for the read pool.
    ExportRefused names what is wrong."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ExportRefused(f"year {year} is outside {MIN_YEAR}..{MAX_YEAR}", "year")
    name, kind = check_request(table, fmt)
    moment = resolve_moment(read, position=position, as_of=as_of)
    seen = None if actor is None else visibility(read, actor, moment)
    status = checkpoint_status(read, moment)
    p = status.provenance
    checkpoint = ("none" if p.checkpoint_root is None
                  else f"{p.checkpoint_origin} {p.checkpoint_size} {p.checkpoint_root}")
    key = ExportKey(year=year, table=name, format=kind, position=moment.position,
                    checkpoint=checkpoint, note=status.note, scope=scope_of(seen),
                    views=read.integrity.views_found_differing)
    return ExportPlan(key=key, table=name, format=kind, moment=moment, status=status,
                      visibility=seen)


def scope_of(seen: Visibility | None) -> str:
    """What distinguishes a caller's view in the key: same scope, same rows, same bytes."""
    if seen is None or seen.everything:
        return "*"
    return json.dumps([sorted(seen.audiences), sorted(seen.codes), sorted(seen.units)])


def write_body(report: Report, kind: FormatName, note: str, signed: str | None = None) -> bytes:
    """The file's bytes (a zip for fdp): the CPU-heavy part, for the export pool."""
    with tempfile.TemporaryDirectory(prefix="jixiao-export-") as tmp:
        out = Path(tmp) / f"{report.name}.{kind}"
        write_export(report, kind, out, note, signed)
        return zip_directory(out, report.name) if kind == "fdp" else out.read_bytes()


def report_for(read: ReadModel, chosen: ExportPlan) -> Report:
    """The table as the plan's caller may read it: only its rows, numbered again."""
    year, provenance = chosen.key.year, chosen.status.provenance
    if chosen.visibility is None:
        return table_report(read, year, chosen.table, chosen.moment, provenance)
    return export_report(read, chosen.visibility, chosen.moment, year, chosen.table, provenance)


async def produce(read: ReadModel, chosen: ExportPlan, run: Run, render_on: RenderOn) -> Export:
    """The report from the read pool, its bytes from the export lane."""
    report = await run(functools.partial(report_for, read, chosen))
    body = await render_on(functools.partial(write_body, report, chosen.format,
                                             chosen.status.note, chosen.status.signed))
    extension = EXTENSIONS[chosen.format]
    return Export(body=body, media_type=MEDIA_TYPES[chosen.format],
                  ascii_name=f"{report.name}.{extension}",
                  utf8_name=f"{report.title}.{extension}", position=chosen.moment.position,
                  recorded_at=chosen.moment.recorded_at, checkpoint=chosen.key.checkpoint)


def _refuse(message: str, parameter: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "parameter": parameter}},
                        status_code=400)


def _parameters(request: Request) -> tuple[int, str, str, int | None, datetime | None]:
    """Year, table, format, position, asOf from the URL; ValueError(parameter, message)."""
    year_text = request.path_params["year"]
    if not year_text.isdecimal() or len(year_text) != 4:
        raise ValueError("year", f"year {year_text!r} is not a four-digit year")
    file_name = request.path_params["file"]
    table, dot, fmt = file_name.partition(".")
    if not dot:
        raise ValueError("format", f"{file_name!r} names no format; use e.g. "
                         "key-projects.xlsx (xlsx, csv, pdf or fdp)")
    position, as_of = moment_parameters(request.query_params)
    return int(year_text), table, fmt, position, as_of


def moment_parameters(query: Mapping[str, str]) -> tuple[int | None, datetime | None]:
    """position and asOf of a download (at most one); ValueError(parameter, message)."""
    as_of_text = query.get("asOf")
    position_text = query.get("position")
    if as_of_text is not None and position_text is not None:
        raise ValueError("asOf", "give asOf or position, not both")
    as_of = None
    if as_of_text is not None:
        try:
            as_of = datetime.fromisoformat(as_of_text)
        except ValueError:
            raise ValueError("asOf", f"asOf {as_of_text!r} is not an ISO 8601 time, e.g. "
                             "2022-09-30T18:00:00+08:00") from None
        if as_of.tzinfo is None:
            raise ValueError("asOf", f"asOf {as_of_text!r} has no timezone; write e.g. "
                             "2022-09-30T18:00:00+08:00")
    position = None
    if position_text is not None:
        if not (position_text.isascii() and position_text.isdigit()
                and len(position_text) <= MAX_DIGITS):
            raise ValueError("position", f"position {position_text[:40]!r} is not a "
                             f"non-negative integer of at most {MAX_DIGITS} digits")
        position = int(position_text)
    return position, as_of


def routes(read_model_getter: ReadModelGetter, *, run: Run | None = None,
           actor_of: Callable[[Request], Actor] | None = None,
           pool: ExportPool | None = None) -> list[Route]:
    """The download route; `run` moves the short reads off the event loop, `pool` renders
    and keeps the files (one of its own if none is given); `actor_of` says who asks, so
    that non-public rows need a token with the right to read them."""
    reads: Run = run if run is not None else run_in_threadpool
    exports = pool if pool is not None else ExportPool()

    async def export(request: Request) -> Response:
        try:
            year, table, fmt, position, as_of = _parameters(request)
        except ValueError as exc:
            parameter, message = exc.args
            return _refuse(message, parameter)
        read = read_model_getter(request)
        actor = None if actor_of is None else actor_of(request)
        # Pinned by position: once its export cites a checkpoint, the request (with what this
        # caller may see) settles it for good, and a repeat asks the store nothing.
        pinned = None if position is None else (
            "annex", year, table, fmt, position, "*" if actor is None else reader_of(actor))
        try:
            found = None
            if pinned is not None and not read.integrity.views.differ:
                found = exports.settled(pinned, read.integrity.views_found_differing)
            if found is None:
                chosen = await reads(functools.partial(plan, read, year, table, fmt,
                                                       position=position, as_of=as_of,
                                                       actor=actor))
                found = await exports.get(chosen.key, functools.partial(produce, read, chosen,
                                                                        reads))
                if pinned is not None and chosen.status.provenance.checkpoint_root is not None:
                    exports.settle(pinned, chosen.key)
        except ExportRefused as exc:
            return _refuse(str(exc), exc.parameter)
        except ExportsBusy as exc:
            return JSONResponse({"error": {"message": str(exc), "code": "EXPORTS_BUSY"}},
                                status_code=503, headers={"Retry-After": str(exc.retry_after)})
        except CjkFontNotFoundError as exc:  # its text names the server's font paths
            log.warning("export: %s", exc)
            return JSONResponse({"error": {"message": NO_PDF_FONT}}, status_code=503)
        return download(request, found)

    return [Route("/exports/{year}/{file}", export, methods=["GET"])]


def download(request: Request, found: Export) -> Response:
    """The file with its provenance in headers; 304 when the caller has these bytes."""
    etag = '"' + hashlib.sha256(found.body).hexdigest() + '"'
    headers = {
        "Content-Disposition": content_disposition(found.ascii_name, found.utf8_name),
        "ETag": etag,
        # Revalidate: an export citing no checkpoint will cite the first one signed, and
        # one citing a checkpoint is withdrawn if the views are found differing.
        "Cache-Control": "no-cache",
        "X-Jixiao-Position": str(found.position),
        "X-Jixiao-Checkpoint": found.checkpoint,
    }
    if found.recorded_at is not None:
        headers["X-Jixiao-Recorded-At"] = found.recorded_at.isoformat()
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)
