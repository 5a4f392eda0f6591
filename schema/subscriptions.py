"""The live event feed over graphql-transport-ws: every appended event, resumable.

Polling the log (ledger.log.read_log) works the same on SQLite and PostgreSQL. The feed
remembers the last position it sent and asks for "after that", never assuming positions
are gapless.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator

import strawberry

from ledger.log import read_log
from schema.context import Information, Services, services
from schema.errors import PublicError
from schema.fields import subscription
from schema.types import LogEvent

POLL_SECONDS = 0.25
BATCH = 200


def newest(svc: Services) -> int:
    return int(svc.ledger.recorder.max_notification_id() or 0)


async def feed(svc: Services, after_position: int | None) -> AsyncGenerator[LogEvent, None]:
    last = after_position
    if last is None:
        last = await svc.run(newest, svc)

    def batch(start: int) -> list[LogEvent]:
        return [LogEvent.of(r) for r in itertools.islice(
            read_log(svc.ledger, start=start, batch=BATCH), BATCH)]

    while True:
        found = await svc.run(batch, last + 1)
        for event in found:
            yield event
            last = event.position
        if len(found) < BATCH:
            await asyncio.sleep(POLL_SECONDS)


@strawberry.type
class Subscription:
    @subscription(description="Events as they are appended. With afterPosition, first replays "
                  "every event after it (resume after a reconnect); without, starts at the "
                  "current end of the log.")
    async def events(self, info: Information,
                     after_position: int | None = None) -> AsyncGenerator[LogEvent, None]:
        if after_position is not None and after_position < 0:
            raise PublicError("afterPosition must not be negative", code="BAD_CURSOR")
        return feed(services(info), after_position)
