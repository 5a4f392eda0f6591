"""Per-request context: who is asking, the shared services, and whether the answer is pinned.

The actor is resolved in exactly one place (`resolve_actor`): from the bearer token that
schema.auth.Authenticate checked, or the anonymous `public` role.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from starlette.requests import HTTPConnection
from strawberry.types import Info

from ledger.application import Ledger
from ledger.runtime import Actor
from projections.rollup import RegionSource, RollupQuery
from projections.views import ReadModel
from schema.auth import PUBLIC_ACTOR, scope_actor
from schema.errors import PublicError
from schema.export_pool import ExportPool
from schema.feed import Head

T = TypeVar("T")
log = logging.getLogger("jixiao.api")
UNAVAILABLE_READ = "the ledger's storage is unavailable; retry shortly"


def storage_errors() -> tuple[type[Exception], ...]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return (sqlite3.OperationalError, sqlite3.InterfaceError)
    return (sqlite3.OperationalError, sqlite3.InterfaceError, psycopg.OperationalError,
            psycopg.InterfaceError)


STORAGE_ERRORS = storage_errors()

def resolve_actor(connection: HTTPConnection | None) -> Actor:
    """The one place that turns a request into an Actor (never from the request body)."""
    return PUBLIC_ACTOR if connection is None else scope_actor(connection.scope)


READ_THREADS = 2
PINNED = -1  # the cache position of an answer pinned by its own arguments (Context.kept_at)
WRITE_THREADS = 2


class ReadRouter(Protocol):
    """Hot standbys for reads. The router opens a Ledger and a ReadModel per standby, so it
    lives above the API (jixiao.replicas.ReplicaRouter) and is handed in."""

    def read_model(self, min_position: int | None = None, wait: float = 0.0) -> ReadModel: ...

    def close(self) -> None: ...


class Services:
    """One Ledger and one ReadModel per app, and the small thread pools their calls use.

    Dedicated pools (not anyio's shared one) bound how many threads, and so how many
    thread-local read connections, the ReadModel can open. They are small on purpose: the
    calls are short, and more threads mostly buy GIL contention (measured: 8 read threads
    cost ~40% more CPU per annex query than 2 on SQLite). Writes have their own pool, so a
    command waiting for the store's write lock never holds up a read.
    """

    def __init__(self, ledger: Ledger, read_model: ReadModel, *,
                 regions: Callable[[], RegionSource], read_threads: int = READ_THREADS,
                 write_threads: int = WRITE_THREADS, replicas: ReadRouter | None = None,
                 exports: ExportPool | None = None) -> None:
        self.ledger = ledger
        self.read_model = read_model
        self.reads = ThreadPoolExecutor(max_workers=read_threads, thread_name_prefix="jixiao-read")
        self.writes = ThreadPoolExecutor(max_workers=write_threads,
                                         thread_name_prefix="jixiao-write")
        # downloads render here, never on the read pool
        self.exports = exports if exports is not None else ExportPool()
        self.head = Head(lambda: self.run(self.newest))
        self.replicas = replicas  # hot standbys for reads (jixiao.replicas), if any
        self._open_regions = regions  # the routing table, opened on first use
        self._regions: RegionSource | None = None
        self._rollup: RollupQuery | None = None
        self._regions_lock = threading.Lock()

    def region(self, code: str) -> tuple[Ledger, ReadModel]:
        """Another region's ledger and views (its own schema or server), opened on first use."""
        with self._regions_lock:
            if self._regions is None:
                self._regions = self._open_regions()
            registry = self._regions
        opened = registry.get(code)
        return opened.ledger, opened.read

    def rollup(self) -> RollupQuery:
        with self._regions_lock:
            if self._regions is None:
                self._regions = self._open_regions()
            if self._rollup is None:
                self._rollup = RollupQuery(self._regions)
            return self._rollup

    def reader(self, min_position: int | None, wait: float) -> ReadModel:
        """The views to answer from: a standby that has reached `min_position`, else ours."""
        if self.replicas is None:
            return self.read_model
        return self.replicas.read_model(min_position, wait)

    def newest(self) -> int:
        """The last position in the log (not the projected one)."""
        return int(self.ledger.recorder.max_notification_id() or 0)

    async def run(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a synchronous read off the event loop. A dropped storage connection is
        reopened and the read tried once more (reads are idempotent); if storage is still
        down the caller gets a typed STORAGE_UNAVAILABLE error, never a masked 500."""
        loop = asyncio.get_running_loop()
        call = functools.partial(func, *args, **kwargs)
        for attempt in (1, 2):
            try:
                return await loop.run_in_executor(self.reads, call)
            except STORAGE_ERRORS:
                log.warning("read failed on storage; reconnecting", exc_info=True)
                await loop.run_in_executor(self.reads, self.reconnect)
                if attempt == 2:
                    raise PublicError(UNAVAILABLE_READ, code="STORAGE_UNAVAILABLE") from None
        raise AssertionError("unreachable")

    def reconnect(self) -> None:
        """Forget the read model's connections (each thread opens a new one on next use)."""
        rm = self.read_model
        with rm.connections_lock:
            old, rm.connections = rm.connections, []
            rm.local = threading.local()
        for conn in old:
            with contextlib.suppress(Exception):
                conn.close()
        with contextlib.suppress(Exception):
            rm.runner.reconnect()

    async def write(self, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a synchronous command off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.writes, functools.partial(func, *args, **kwargs))

    def close(self) -> None:
        self.head.close()
        for pool in (self.reads, self.writes):
            pool.shutdown(wait=True, cancel_futures=True)
        self.exports.close()
        if self._rollup is not None:
            self._rollup.close()
        if self._regions is not None:
            self._regions.close()
        if self.replicas is not None:
            self.replicas.close()
        self.read_model.close()
        self.ledger.close()


@dataclass
class Context:
    services: Services
    actor: Actor
    connection: HTTPConnection | None = None
    response: Any = None
    # None: nothing said either way; True: every root field was pinned to a past position;
    # False: some part of the answer can still change (now, the raw log, a future time).
    pinned: bool | None = field(default=None)
    # The position "now" is read at in this request: set before execution when the app
    # resolved it to look the answer up (schema.app), else by the first live field.
    now: int | None = None
    # Some field's answer is not fixed by a position (the raw log, a time, another region,
    # a mutation, a live field read elsewhere than `now`): the answer cannot be kept.
    volatile: bool = False

    def mark(self, pinned: bool) -> None:
        """Record whether one root field's answer is immutable; one volatile field wins."""
        self.pinned = pinned if self.pinned is None else (self.pinned and pinned)
        self.volatile = self.volatile or not pinned

    def mark_live(self, position: int) -> None:
        """A root field read "now", at `position`: it changes with the log, but the answer
        at that position never does, so it can be kept under the position."""
        self.pinned = False
        if self.now is None:
            self.now = position
        elif position != self.now:
            self.volatile = True

    def kept_at(self) -> int | None:
        """Where the answer may be kept: PINNED (its positions are in the query itself), the
        position "now" was read at, or None (it can change at the same position)."""
        if self.pinned:
            return PINNED
        if self.pinned is False and not self.volatile and self.now is not None:
            return self.now
        return None


Information = Info[Context, None]


def services(info: Information) -> Services:
    return info.context.services
