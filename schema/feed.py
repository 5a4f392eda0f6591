"""One watcher of the log's head for all live feeds, so an idle feed costs no queries.

Every ~0.25 s a single task asks the store for its last position (works the same on SQLite
and PostgreSQL); feeds sleep until the head moves past what they have sent, then read the
log themselves from their own position. Many subscribers, one cheap poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

POLL_SECONDS = 0.25
log = logging.getLogger("jixiao.feed")


class Head:
    """The newest log position, polled while anyone is waiting for it to move."""

    def __init__(self, newest: Callable[[], Awaitable[int]],
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.newest = newest
        self.poll_seconds = poll_seconds
        self.position = -1  # unknown until the first poll
        self.waiting = 0
        self.moved: asyncio.Condition | None = None
        self.task: asyncio.Task[None] | None = None

    async def beyond(self, position: int) -> int:
        """Wait until the log's head is past `position`; returns the head."""
        if self.moved is None:
            self.moved = asyncio.Condition()
        moved = self.moved
        self.waiting += 1
        try:
            if self.task is None or self.task.done():
                self.task = asyncio.get_running_loop().create_task(self.poll())
            async with moved:
                await moved.wait_for(lambda: self.position > position)
            return self.position
        finally:
            self.waiting -= 1

    async def poll(self) -> None:
        while self.waiting > 0:
            try:
                newest = await self.newest()
            except Exception:
                log.warning("could not read the log's head; retrying", exc_info=True)
                newest = self.position
            if newest != self.position and self.moved is not None:
                self.position = newest
                async with self.moved:
                    self.moved.notify_all()
            await asyncio.sleep(self.poll_seconds)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
