"""Finding the first outcome of an actor's command id (ledger.domain.registry.CommandRecord).

Records are keyed by actor and command id. A store written before ids were scoped to actors
also holds records keyed by the command id alone; each stays the record of the actor who
made it (read from the events the command appended), and of no one else.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.utils import get_topic

from ledger.domain.base import Meta
from ledger.domain.registry import CommandRecord, command_record_id
from ledger.store import Database

RECORD_TOPIC = get_topic(CommandRecord) + ".Accepted"  # the class @event made


def holds_unscoped_records(app: Application[UUID], db: Database) -> bool:
    """Whether the store holds records keyed by command id alone. They all come before the
    first scoped one (this build writes none), so the first record in the log says. An
    in-memory store (tests) is always new."""
    if db.backend == "memory":
        return False
    with app.recorder.datastore.transaction(commit=False) as curs:  # type: ignore[attr-defined]
        curs.execute(db.sql(f"SELECT originator_id AS id FROM {db.events_table} WHERE "
                            f"topic = ? ORDER BY {db.position_column} LIMIT 1"), (RECORD_TOPIC,))
        row = curs.fetchone()
    if row is None:
        return False
    first: object = app.repository.get(UUID(str(row["id"])))
    return isinstance(first, CommandRecord) and first.actor_id is None


def find_record(app: Application[UUID], command_id: str, actor_id: str, *,
                unscoped: bool) -> CommandRecord | None:
    """The actor's record of `command_id`; with `unscoped`, also one stored before ids were
    scoped, if the actor made it. Another actor's record is never found."""
    keys = [command_record_id(command_id, actor_id)]
    if unscoped:
        keys.append(command_record_id(command_id, None))
    for key in keys:
        try:
            record: object = app.repository.get(key)
        except AggregateNotFoundError:
            continue
        assert isinstance(record, CommandRecord)
        if record.actor_id == actor_id or (record.actor_id is None
                                           and maker(app, record.result) == actor_id):
            return record
    return None


def maker(app: Application[UUID], result: dict[str, Any]) -> str | None:
    """Who issued the command of an unscoped record: the actor of the event it appended to
    its main aggregate (the record itself carries no actor)."""
    try:
        aggregate_id, version = UUID(str(result["aggregate_id"])), int(result["version"])
    except (KeyError, TypeError, ValueError):
        return None
    stored = app.recorder.select_events(aggregate_id, gt=version - 1, lte=version)
    if not stored:
        return None
    meta = getattr(app.mapper.to_domain_event(stored[0]), "meta", None)
    return meta.actor_id if isinstance(meta, Meta) else None
