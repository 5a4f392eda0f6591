"""Per-record form downloads: `GET /exports/{form}/{record}.{xlsx|pdf}?asOf=…|position=…`.

One route per entry of FORMS: a subject's goal table (绩效目标表), its self-evaluation table
(项目支出绩效自评表, `?version=N`) and a monitoring round's summary (监控汇总表). The bytes are
what the CLI writes for the same state (`jixiao export-goal-table`, `export-self-evaluation`,
`export-round`), with the pool, provenance headers and refusals of the annex downloads
(schema.exports). What the caller may read decides (projections.visibility): a subject it
may not read is answered exactly like an unknown one (404), and a round's summary covers only
the subjects it sees, as GraphQL's monitoringRound does. docs/domain.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ledger.annex import Provenance
from ledger.runtime import Actor
from projections.exports.coverage_report import (
    ExportRefused,
    FormatName,
    checkpoint_status,
    resolve_moment,
)
from projections.exports.goal_table import goal_table_report
from projections.exports.monitoring_report import round_report
from projections.exports.pdf_export import CjkFontNotFoundError
from projections.exports.report import Report
from projections.exports.self_evaluation_report import NoSelfEvaluation, self_evaluation_report
from projections.values import Moment, SubjectDetail
from projections.views import ReadModel
from projections.visibility import Visibility, monitoring_round, visibility
from projections.visibility import subject as visible_subject
from schema.export_pool import Export, ExportKey, ExportPool, ExportsBusy, RenderOn
from schema.exports import (
    EXTENSIONS,
    MAX_DIGITS,
    MEDIA_TYPES,
    NO_PDF_FONT,
    Run,
    download,
    log,
    moment_parameters,
    scope_of,
    write_body,
)

EVERYTHING = Visibility(everything=True, audiences=frozenset())  # no actor_of: all records
ReadForm = Callable[[ReadModel, Visibility, Moment, str, Mapping[str, str], Provenance], Report]


class FormNotFound(ExportRefused):
    """No such record (or none the caller may read) at the moment: HTTP 404."""


@dataclass(frozen=True)
class Form:
    """A form downloaded one record at a time: where, in which formats, how it is read."""

    path: str  # the URL segment under /exports/
    noun: str  # in refusals
    parameter: str  # what names the record in refusals: "code" or "round"
    example: str  # a record's name, for the refusal of a file name without a format
    formats: tuple[FormatName, ...]
    report: ReadForm  # (read, seen, moment, record, query, provenance) -> Report


def _subject(read: ReadModel, seen: Visibility, moment: Moment, code: str) -> SubjectDetail:
    found = visible_subject(read, seen, moment, code)
    if found is None:
        raise FormNotFound(f"no subject {code!r} at position {moment.position}", "code")
    return found


def _goal_table(read: ReadModel, seen: Visibility, moment: Moment, code: str,
                query: Mapping[str, str], provenance: Provenance) -> Report:
    return goal_table_report(_subject(read, seen, moment, code), provenance)


def _self_evaluation(read: ReadModel, seen: Visibility, moment: Moment, code: str,
                     query: Mapping[str, str], provenance: Provenance) -> Report:
    """One version (`?version=N`), else the latest submitted, whatever its review (as the CLI)."""
    text = query.get("version")
    if text is not None and not (text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS
                                 and int(text) > 0):
        raise ExportRefused(f"version {text[:40]!r} is not a positive integer", "version")
    found = _subject(read, seen, moment, code)
    if not found.self_evaluations:
        raise FormNotFound(f"subject {code!r} has no self-evaluation at position "
                           f"{moment.position}", "code")
    try:
        return self_evaluation_report(found, provenance, None if text is None else int(text))
    except NoSelfEvaluation as exc:
        raise FormNotFound(f"{exc} at position {moment.position}", "version") from None


def _monitoring_round(read: ReadModel, seen: Visibility, moment: Moment, round_id: str,
                      query: Mapping[str, str], provenance: Provenance) -> Report:
    found = monitoring_round(read, seen, moment, round_id)
    if found is None:
        raise FormNotFound(f"no monitoring round {round_id!r} at position {moment.position}",
                           "round")
    return round_report(found, provenance)


FORMS = (
    Form("goal-tables", "a goal table", "code", "XS-2022-KP-05", ("xlsx", "pdf"), _goal_table),
    Form("self-evaluations", "a self-evaluation table", "code", "XS-2022-KP-10",
         ("xlsx", "pdf"), _self_evaluation),
    Form("monitoring-rounds", "a monitoring round's summary", "round", "XS-2022-MON-01-08",
         ("xlsx", "pdf"), _monitoring_round),
)


@dataclass(frozen=True)
class FormPlan:
    key: ExportKey
    report: Report
    format: FormatName
    note: str
    signed: str | None


def plan(read: ReadModel, form: Form, record: str, fmt: str, query: Mapping[str, str], *,
         position: int | None, as_of: datetime | None, actor: Actor | None) -> FormPlan:
    """Resolve the moment and read the record as the caller may see it; short reads, for the
    read pool. ExportRefused (FormNotFound: 404) names what is wrong."""
    kind = next((f for f in form.formats if f == fmt), None)
    if kind is None:
        raise ExportRefused(f"unknown format {fmt!r} for {form.noun}; use "
                            f"{' or '.join(form.formats)}", "format")
    moment = resolve_moment(read, position=position, as_of=as_of)
    seen = None if actor is None else visibility(read, actor, moment)
    status = checkpoint_status(read, moment)
    report = form.report(read, seen or EVERYTHING, moment, record, query, status.provenance)
    p = status.provenance
    checkpoint = ("none" if p.checkpoint_root is None
                  else f"{p.checkpoint_origin} {p.checkpoint_size} {p.checkpoint_root}")
    # The record as named (a slug may merge two codes) and the report's name (its version).
    key = ExportKey(year=report.fiscal_year or 0, table=f"{form.path}:{record}:{report.name}",
                    format=kind, position=moment.position, checkpoint=checkpoint,
                    note=status.note, scope=scope_of(seen),
                    views=read.integrity.views_found_differing)
    return FormPlan(key=key, report=report, format=kind, note=status.note,
                    signed=status.signed)


def _refused(exc: ExportRefused) -> JSONResponse:
    return JSONResponse({"error": {"message": str(exc), "parameter": exc.parameter}},
                        status_code=404 if isinstance(exc, FormNotFound) else 400)


def form_routes(read_model_getter: Callable[[Request], ReadModel], *,
                run: Run | None = None, actor_of: Callable[[Request], Actor] | None = None,
                pool: ExportPool | None = None,
                forms: tuple[Form, ...] = FORMS) -> list[Route]:
    """A download route per form; `run`, `actor_of` and `pool` as for schema.exports.routes.
    Mount before those: /exports/{year}/… would take /exports/goal-tables/… too."""
    reads: Run = run if run is not None else run_in_threadpool
    exports = pool if pool is not None else ExportPool()

    def route(form: Form) -> Route:
        async def export(request: Request) -> Response:
            record, dot, fmt = request.path_params["file"].rpartition(".")
            try:
                if not dot or not record:
                    raise ExportRefused(f"name the {form.parameter} and a format, e.g. "
                                        f"/exports/{form.path}/{form.example}.xlsx", "format")
                try:
                    position, as_of = moment_parameters(request.query_params)
                except ValueError as exc:
                    raise ExportRefused(exc.args[1], exc.args[0]) from None
                read = read_model_getter(request)
                actor = None if actor_of is None else actor_of(request)
                chosen = await reads(functools.partial(
                    plan, read, form, record, fmt, request.query_params, position=position,
                    as_of=as_of, actor=actor))
                found = await exports.get(chosen.key, functools.partial(_produce, chosen,
                                                                        record))
            except ExportRefused as exc:
                return _refused(exc)
            except ExportsBusy as exc:
                return JSONResponse({"error": {"message": str(exc), "code": "EXPORTS_BUSY"}},
                                    status_code=503,
                                    headers={"Retry-After": str(exc.retry_after)})
            except CjkFontNotFoundError as exc:  # its text names the server's font paths
                log.warning("export: %s", exc)
                return JSONResponse({"error": {"message": NO_PDF_FONT}}, status_code=503)
            return download(request, found)

        return Route(f"/exports/{form.path}/{{file}}", export, methods=["GET"])

    return [route(form) for form in forms]


async def _produce(chosen: FormPlan, record: str, render_on: RenderOn) -> Export:
    """The form's bytes from the export lane, as `jixiao export-…` writes them."""
    report = chosen.report
    body = await render_on(functools.partial(write_body, report, chosen.format, chosen.note,
                                             chosen.signed))
    extension = EXTENSIONS[chosen.format]
    return Export(body=body, media_type=MEDIA_TYPES[chosen.format],
                  ascii_name=f"{report.name}.{extension}",
                  utf8_name=f"{report.title}-{record}.{extension}",
                  position=report.provenance.position,
                  recorded_at=report.provenance.recorded_at, checkpoint=chosen.key.checkpoint)


