"""Stores a long catch-up's batches in a thread of their own, in order, one behind.

The projector derives batch n+1 while batch n is being written and committed, so the store's
work (index upkeep, commits) overlaps ours. A read the projector makes meanwhile (a cache
miss: a subject's current row, a unit's name) first waits until every batch handed over is
committed, so it sees exactly what a one-at-a-time projector would see. The first failure
stops the writer; it is raised to the projector at its next hand-over, read or exit, and no
later batch is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from queue import Queue
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Writer(Generic[T]):
    def __init__(self, store: Callable[[T], None]) -> None:
        self.store = store
        self.queue: Queue[T | None] = Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="projector-writer", daemon=True)

    def __enter__(self) -> Writer[T]:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is not None:  # the projector failed: store nothing more
            self.error = self.error or error
        self.queue.put(None)
        self.thread.join()
        if kind is None:
            self._raise()

    def submit(self, item: T) -> None:
        self._raise()
        self.queue.put(item)

    def wait(self) -> None:
        """Until every batch handed over is committed (or the writer failed)."""
        self.queue.join()
        self._raise()

    def quiet(self, conn: Any) -> Quiet:
        return Quiet(conn, self)

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            try:
                if self.error is None:
                    self.store(item)
            except BaseException as error:  # handed to the projector
                self.error = error
            finally:
                self.queue.task_done()
        self.queue.task_done()


class Quiet:
    """The projector's connection for reads while a writer uses it: each read waits first."""

    def __init__(self, conn: Any, writer: Writer[Any]) -> None:
        self.conn = conn
        self.writer = writer

    def execute(self, *args: Any) -> Any:
        self.writer.wait()
        return self.conn.execute(*args)
