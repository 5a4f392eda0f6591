"""The live event feed over WebSocket (graphql-transport-ws or graphql-ws; who is asking:
schema.websocket): every appended event, resumable.

One poll of the log's head serves every feed (schema.feed.Head); each feed then reads the
log (ledger.log.read_log) from the last position it sent, never assuming positions are
gapless. Works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator

import strawberry

from ledger.log import read_log
from projections.visibility import READ_ALL
from schema.context import Information, Services, services
from schema.errors import PublicError
from schema.fields import subscription
from schema.types import LogEvent

BATCH = 200


async def feed(svc: Services, after_position: int | None) -> AsyncGenerator[LogEvent, None]:
    """Every event after `after_position` (or from now), in order, as they are appended.

    `cursor` is the position up to which the log has been read. After a short read it moves
    to the head seen before that read (every event up to it was committed by then), so a
    gap in positions never makes the feed spin.
    """
    cursor = await svc.run(svc.newest) if after_position is None else after_position
    head = cursor

    def batch(start: int) -> list[LogEvent]:
        return [LogEvent.of(r) for r in itertools.islice(
            read_log(svc.ledger, start=start, batch=BATCH), BATCH)]

    while True:
        found = await svc.run(batch, cursor + 1)
        for event in found:
            yield event
            cursor = event.position
        if len(found) < BATCH:
            cursor = max(cursor, head)
            head = await svc.head.beyond(cursor)


@strawberry.type
class Subscription:
    @subscription(description="Events as they are appended. With afterPosition, first replays "
                  "every event after it (resume after a reconnect); without, starts at the "
                  "current end of the log.")
    async def events(self, info: Information,
                     after_position: int | None = None) -> AsyncGenerator[LogEvent, None]:
        if after_position is not None and after_position < 0:
            raise PublicError("afterPosition must not be negative", code="BAD_CURSOR")
        if info.context.actor.role not in READ_ALL:  # the raw feed is not filtered by audience
            raise PublicError("the event feed needs a finance_bureau or auditor token",
                              code="FORBIDDEN")
        return feed(services(info), after_position)
