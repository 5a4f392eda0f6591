"""Where downloads are rendered: threads of their own, a bounded queue, and finished files kept.

A PDF costs seconds of CPU (mostly subsetting the CJK font), so rendering on the read pool
let six downloads hold up every GraphQL read for half a minute. Here:

* rendering runs on lanes of its own, PDF on one and the cheap formats (xlsx, csv, fdp) on
  another, so a PDF never holds up a CSV and neither holds up a read;
* a lane runs `threads` renders and lets `waiting` more queue; a request beyond that is
  refused at once (ExportsBusy: 503 with Retry-After), never queued without bound;
* identical requests in flight share one render, and a finished export is kept under its
  ExportKey: everything that determines the bytes (year, table, format, resolved position,
  the checkpoint it cites or why none, the caller's visibility), and how often the views
  were found changed behind the application (a file rendered from tampered views is not
  served once they are repaired). A past position never changes, so a pinned export is
  rendered once; the LRU is bounded in entries and bytes;
* a request pinned to a position whose export cites a checkpoint is settled: it cites the
  earliest covering one, which never changes (projections.exports.coverage_report), so the
  request itself (with what its caller may see) leads to the ExportKey without asking the
  store again, until the views are found differing (`settled`). One citing none is never
  settled: the first checkpoint signed later will change it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from projections.exports.pdf_export import CjkFontNotFoundError, warm_cjk_font

CACHE_ENTRIES = 256
CACHE_BYTES = 128 << 20
CACHE_ENTRY_BYTES = 16 << 20
Request = tuple[object, ...]  # a pinned request as asked, with its reader (visibility.reader_of)


@dataclass(frozen=True)
class Export:
    """A rendered download and what it states about itself."""

    body: bytes
    media_type: str
    ascii_name: str
    utf8_name: str
    position: int
    recorded_at: datetime | None
    checkpoint: str  # "origin size root", or "none"


@dataclass(frozen=True)
class ExportKey:
    """Everything that determines an export's bytes; equal keys, equal bytes."""

    year: int
    table: str
    format: str
    position: int
    checkpoint: str  # a later checkpoint covering the position changes the provenance
    note: str  # and so does why none is cited (none yet, or the views differ)
    scope: str  # what the caller may read: one caller's file is never served to another
    views: int  # IntegrityStatus.views_found_differing: nothing kept from views found changed


class ExportsBusy(Exception):
    """Every render slot of a lane is taken: come back after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"exports are busy; retry after {retry_after} seconds")
        self.retry_after = retry_after


class Lane:
    """A few threads for one kind of render, and how many renders it admits at once."""

    def __init__(self, name: str, threads: int, waiting: int, typical_seconds: float) -> None:
        self.executor = ThreadPoolExecutor(max_workers=threads,
                                           thread_name_prefix=f"jixiao-export-{name}")
        self.threads = threads
        self.limit = threads + waiting
        self.admitted = 0  # touched on the event loop only
        self.typical = typical_seconds  # a moving average of render times, for Retry-After

    def retry_after(self) -> int:
        return max(1, math.ceil(self.typical * self.admitted / self.threads))

    async def run(self, func: Callable[[], bytes], /) -> bytes:
        def timed() -> bytes:
            started = time.monotonic()
            try:
                return func()
            finally:
                self.typical = 0.8 * self.typical + 0.2 * (time.monotonic() - started)

        return await asyncio.get_running_loop().run_in_executor(self.executor, timed)


class RenderOn(Protocol):
    """A lane's `run`: the blocking render, off the event loop and off the read pool."""

    def __call__(self, func: Callable[[], bytes], /) -> Awaitable[bytes]: ...


Produce = Callable[[RenderOn], Coroutine[Any, Any, Export]]


def _warm_pdf_font() -> None:
    """Parse the CJK font on the PDF lane, before any request; no font, no PDF: said later."""
    with contextlib.suppress(CjkFontNotFoundError):
        warm_cjk_font()


class ExportPool:
    """The lanes, the renders in flight and the kept exports of one app."""

    def __init__(self, *, pdf_threads: int = 1, pdf_waiting: int = 2, tabular_threads: int = 1,
                 tabular_waiting: int = 6, entries: int = CACHE_ENTRIES,
                 budget: int = CACHE_BYTES, shared: Path | None = None,
                 warm_pdf: bool = False) -> None:
        # A directory the workers of one server share (jixiao serve --workers): a file one
        # rendered is not rendered again by another.
        self.shared = shared
        self.pdf = Lane("pdf", pdf_threads, pdf_waiting, typical_seconds=4.0)
        self.tabular = Lane("tabular", tabular_threads, tabular_waiting, typical_seconds=0.5)
        self.entries, self.budget, self.size = entries, budget, 0
        self.kept: OrderedDict[ExportKey, Export] = OrderedDict()
        self.settled_keys: OrderedDict[Request, ExportKey] = OrderedDict()
        self.flights: dict[ExportKey, asyncio.Task[Export]] = {}
        self.renders = 0  # exports produced (not served from the cache): for tests and logs
        self.lock = threading.Lock()  # the LRU is also read by other event loops' threads
        if warm_pdf:  # the server's first PDF should not wait for the CJK font to be parsed
            self.pdf.executor.submit(_warm_pdf_font)

    def lane(self, key: ExportKey) -> Lane:
        return self.pdf if key.format == "pdf" else self.tabular

    def cached(self, key: ExportKey) -> Export | None:
        with self.lock:
            found = self.kept.get(key)
            if found is not None:
                self.kept.move_to_end(key)
                return found
        found = self.read_shared(key)
        if found is not None:
            self.keep(key, found)
        return found

    def settled(self, request: Request, views: int) -> Export | None:
        """The kept export of a settled request (`settle`), with no store query; None if the
        request is not settled, its export is no longer kept, or views have been found
        differing since (IntegrityStatus.views_found_differing is not `views` any more)."""
        with self.lock:
            key = self.settled_keys.get(request)
            if key is None:
                return None
            if key.views != views:
                del self.settled_keys[request]
                return None
            self.settled_keys.move_to_end(request)
        return self.cached(key)

    def settle(self, request: Request, key: ExportKey) -> None:
        """Remember that a pinned request leads to `key` for good: only for an export citing
        a checkpoint (the earliest covering its position: it never changes)."""
        if key.checkpoint == "none":
            raise ValueError("an export citing no checkpoint yet is not settled")
        with self.lock:
            self.settled_keys[request] = key
            self.settled_keys.move_to_end(request)
            while len(self.settled_keys) > 4 * self.entries:
                self.settled_keys.popitem(last=False)

    def shared_path(self, key: ExportKey) -> Path | None:
        if self.shared is None:
            return None
        return self.shared / (hashlib.sha256(repr(key).encode()).hexdigest() + ".export")

    def read_shared(self, key: ExportKey) -> Export | None:
        """Another worker's render of the same key: a header line, then the bytes."""
        path = self.shared_path(key)
        if path is None:
            return None
        try:
            head, _, body = path.read_bytes().partition(b"\n")
            meta = json.loads(head)
            if meta.pop("key") != repr(key):  # a hash collision, however unlikely
                return None
            recorded = meta.pop("recorded_at")
            return Export(body=body, recorded_at=None if recorded is None
                          else datetime.fromisoformat(recorded), **meta)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def write_shared(self, key: ExportKey, export: Export) -> None:
        """Written whole under a temporary name, then renamed: a reader sees all or none."""
        path = self.shared_path(key)
        if path is None or len(export.body) > CACHE_ENTRY_BYTES:
            return
        meta = {"key": repr(key), "media_type": export.media_type,
                "ascii_name": export.ascii_name, "utf8_name": export.utf8_name,
                "position": export.position, "checkpoint": export.checkpoint,
                "recorded_at": None if export.recorded_at is None
                else export.recorded_at.isoformat()}
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            temporary.write_bytes(json.dumps(meta).encode() + b"\n" + export.body)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()

    def keep(self, key: ExportKey, export: Export) -> None:
        if len(export.body) > CACHE_ENTRY_BYTES:
            return
        with self.lock:
            if key in self.kept:
                return
            self.kept[key] = export
            self.size += len(export.body)
            while len(self.kept) > self.entries or self.size > self.budget:
                _old, dropped = self.kept.popitem(last=False)
                self.size -= len(dropped.body)

    async def get(self, key: ExportKey, produce: Produce) -> Export:
        """The kept export, the render already under way for the key, or a new render.

        `produce` gathers what to render and hands the rendering to the lane it is given;
        a new render that finds its lane full is refused with ExportsBusy.
        """
        found = self.cached(key)
        if found is not None:
            return found
        flight = self.flights.get(key)
        if flight is None:
            lane = self.lane(key)
            if lane.admitted >= lane.limit:
                raise ExportsBusy(lane.retry_after())
            lane.admitted += 1
            self.renders += 1
            flight = asyncio.get_running_loop().create_task(produce(lane.run))
            self.flights[key] = flight
            flight.add_done_callback(functools.partial(self._landed, key, lane))
        return await asyncio.shield(flight)  # a caller who leaves does not cancel the render

    def _landed(self, key: ExportKey, lane: Lane, flight: asyncio.Task[Export]) -> None:
        lane.admitted -= 1
        self.flights.pop(key, None)
        if not flight.cancelled() and flight.exception() is None:
            self.keep(key, flight.result())
            if self.shared is not None:  # off the event loop: a file write
                with contextlib.suppress(RuntimeError):  # the pool is closing
                    self.lane(key).executor.submit(self.write_shared, key, flight.result())

    def close(self) -> None:
        for lane in (self.pdf, self.tabular):
            lane.executor.shutdown(wait=True, cancel_futures=True)
