"""`GET /metrics`: Prometheus metrics for the operator (prometheus_client).

    jixiao_graphql_requests_total{operation, type, outcome}   executed GraphQL operations
    jixiao_graphql_request_seconds{operation, type}           their latency (histogram)
    jixiao_commands_total{command, outcome}                   "accepted" or the refusal code
    jixiao_answer_cache_total{result}                         pinned-answer cache hit / miss
    jixiao_projection_lag_events                              log head minus the slowest view
    jixiao_checkpoint_age_seconds                             since the last signed checkpoint
                                                              (-1: none yet)

Labels are bounded: `operation` is the operation's first root field when the schema has it
(`subjects`, `registerUnit`, …), else "other"; the client's operationName is never a label.
`command` is a command name and `outcome` a refusal code, both from the code base.

Who may read it (JIXIAO_METRICS): "operator" (default) answers only a bearer token whose role
reads everything (finance_bureau, auditor, system: `jixiao tokens create system prometheus`);
"public" answers anyone who reaches the port (a scraper on a private network); "off" answers
404. With several worker processes (`jixiao serve --workers N` sets it for its own), set
PROMETHEUS_MULTIPROC_DIR to an empty directory before they start: each worker writes its
values there and any worker's /metrics answers the sum (prometheus_client's multiprocess
mode; docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from strawberry.extensions import SchemaExtension

from ledger.integrity.service import latest_checkpoint
from projections.stops import view_states
from projections.views import ReadModel
from projections.visibility import READ_ALL
from schema.context import resolve_actor
from schema.errors import PublicError
from schema.portal import Run

METRICS_SETTING = "JIXIAO_METRICS"
MODES = ("operator", "public", "off")
MULTIPROC_SETTING = "PROMETHEUS_MULTIPROC_DIR"
OTHER = "other"

REQUESTS = Counter("jixiao_graphql_requests", "Executed GraphQL operations",
                   ["operation", "type", "outcome"])
LATENCY = Histogram("jixiao_graphql_request_seconds", "GraphQL operation latency",
                    ["operation", "type"],
                    buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
COMMANDS = Counter("jixiao_commands", "Commands by outcome: accepted, or the refusal code",
                   ["command", "outcome"])
CACHE = Counter("jixiao_answer_cache", "Pinned-answer cache lookups", ["result"])
LAG = Gauge("jixiao_projection_lag_events", "Events in the log not yet in the slowest view",
            multiprocess_mode="mostrecent")
CHECKPOINT_AGE = Gauge("jixiao_checkpoint_age_seconds",
                       "Seconds since the last signed checkpoint (-1: none)",
                       multiprocess_mode="mostrecent")


def metrics_mode(text: str | None = None) -> str:
    """JIXIAO_METRICS; an unknown value stops the start rather than exposing by accident."""
    value = (text if text is not None else os.environ.get(METRICS_SETTING, "")).strip().lower()
    if not value:
        return "operator"
    if value not in MODES:
        raise ValueError(f"{METRICS_SETTING} must be one of {', '.join(MODES)} (got {value!r})")
    return value


def record_command(command: str, outcome: str) -> None:
    COMMANDS.labels(command=command, outcome=outcome).inc()


def record_cache(hit: bool) -> None:
    CACHE.labels(result="hit" if hit else "miss").inc()


def root_field(execution_context: Any, known: Callable[[str, str], bool]) -> tuple[str, str]:
    """(operation label, operation type) of an executed request, bounded by the schema."""
    try:
        kind = str(execution_context.operation_type.value)
    except Exception:  # no operation could be chosen (parse error, unknown operationName)
        return OTHER, "unknown"
    document = execution_context.graphql_document
    chosen = execution_context.operation_name
    for definition in getattr(document, "definitions", ()):
        selection_set = getattr(definition, "selection_set", None)
        name = getattr(getattr(definition, "name", None), "value", None)
        if selection_set is None or not hasattr(definition, "operation"):
            continue
        if chosen is not None and name != chosen:
            continue
        for selection in selection_set.selections:
            field = getattr(getattr(selection, "name", None), "value", None)
            if isinstance(field, str) and known(kind, field):
                return field, kind
        break
    return OTHER, kind


class RequestMetrics(SchemaExtension):
    """Counts and times every operation from parse to result."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        operation, kind = root_field(context, self._known)
        result = context.result
        if context.pre_execution_errors:  # did not parse or validate
            outcome = "invalid"
        else:
            outcome = "error" if result is None or result.errors else "ok"
        REQUESTS.labels(operation=operation, type=kind, outcome=outcome).inc()
        LATENCY.labels(operation=operation, type=kind).observe(time.perf_counter() - started)

    def _known(self, kind: str, field: str) -> bool:
        core = self.execution_context.schema._schema  # graphql-core's schema
        root = {"query": core.query_type, "mutation": core.mutation_type,
                "subscription": core.subscription_type}.get(kind)
        return root is not None and field in root.fields


def update_gauges(read: ReadModel) -> None:
    """What /metrics reads from storage at scrape time: the views' lag, the checkpoint age."""
    with read.conn() as conn:
        states = view_states(read.db, conn, [v.name for v in read.runner.views])
    LAG.set(max((s.lag for s in states), default=0))
    latest = latest_checkpoint(read.db)
    CHECKPOINT_AGE.set(-1 if latest is None else
                       (datetime.now(UTC) - latest.made_at).total_seconds())


def exposition() -> bytes:
    directory = os.environ.get(MULTIPROC_SETTING)
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_routes(read_model: Callable[[Request], ReadModel], *, run: Run,
                   mode: str | None = None) -> list[BaseRoute]:
    chosen = metrics_mode(mode)
    if chosen == "off":
        return []

    async def endpoint(request: Request) -> Response:
        if chosen == "operator" and resolve_actor(request).role not in READ_ALL:
            return JSONResponse({"error": "metrics are for the operator: send a token whose "
                                          "role reads everything (e.g. system)"},
                                status_code=403, headers={"Cache-Control": "no-store"})
        with contextlib.suppress(PublicError):  # the store is down: counters still answer
            await run(lambda: update_gauges(read_model(request)))
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})

    return [Route("/metrics", endpoint, methods=["GET"])]
