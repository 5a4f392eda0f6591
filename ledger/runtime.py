"""The command path every command shares: validate, decide, save atomically, idempotently."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    OperationalError,
)
from pydantic import ValidationError

from ledger import commands as c
from ledger.domain.base import DateAsISO, Meta, MetaAsDict, stable_id
from ledger.domain.registry import RULEBOOK_ID, Agency, CommandRecord, Expert, RuleBook, Unit
from ledger.domain.subject import Subject
from ledger.errors import Conflict, InvalidInput, NotFound, RuleViolation, Unavailable
from ledger.rules import DEFAULT_RULES, RuleSet
from ledger.store import APPLICATION_NAME, Database, fetchone

A = TypeVar("A", bound=Aggregate)
C = TypeVar("C", bound=c.Command)


@dataclass(frozen=True)
class Actor:
    """Who issues a command; taken from the credential, never from the request body."""

    id: str
    role: str
    unit_code: str | None = None
    agency_code: str | None = None


SYSTEM = Actor(id="system", role="system")


@dataclass(frozen=True)
class CommandResult:
    command_id: str
    command: str
    position: int
    aggregate_id: str
    version: int
    events: list[str]
    ids: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def field_path(loc: Sequence[Any]) -> str:
    """API-facing field names: camelCase, dotted, as clients spell them."""
    return ".".join(camel(p) if isinstance(p, str) else str(p) for p in loc) or "input"


def find_float(value: Any, loc: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    if isinstance(value, float):
        return loc
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list | tuple) else ())
    for key, item in items:
        found = find_float(item, (*loc, key))
        if found is not None:
            return found
    return None


def parse_command(model: type[C], data: dict[str, Any]) -> C:
    """Validate input, turning pydantic's errors into one typed refusal naming the field."""
    where = find_float(data)
    if where is not None:
        raise InvalidInput(f"{field_path(where)}: floats are refused; send a decimal string "
                           "such as \"640.85\"", field=field_path(where), rule="no_float")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": field_path(e["loc"]), "rule": e["type"],
                     "message": e["msg"]} for e in exc.errors()]
        first = problems[0]
        raise InvalidInput(f"{first['field']}: {first['message']}", field=first["field"],
                           rule=first["rule"], problems=problems) from None


def request_hash(name: str, cmd: c.Command) -> str:
    body = cmd.model_dump(mode="json", exclude={"command_id"})
    raw = json.dumps([name, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


class LedgerBase(Application[UUID]):
    name = APPLICATION_NAME  # subclasses inherit it through __init_subclass__ by class name

    def __init__(self, database: Database | None = None, *, create_table: bool = False) -> None:
        self.database = database or Database.from_url()
        super().__init__(env=self.database.eventsourcing_env(create_table=create_table))

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaAsDict())
        transcoder.register(DateAsISO())

    # -- the command path ---------------------------------------------------------------

    def run(self, name: str, cmd: c.Command, actor: Actor,
            decide: Callable[[Meta], tuple[Sequence[Aggregate], dict[str, str]]]) -> CommandResult:
        """Decide, then save the changed aggregates and the command record in one transaction."""
        digest = request_hash(name, cmd)
        replay = self._replay(cmd.command_id, digest)
        if replay is not None:
            return replay
        meta = Meta(actor_id=actor.id, actor_role=actor.role, command_id=cmd.command_id,
                    effective_on=cmd.effective_on)
        try:
            changed, ids = decide(meta)
            main = changed[0]
            pending = [type(e).__qualname__ for a in changed for e in a.pending_events]
            result = {"command": name, "aggregate_id": str(main.id), "version": main.version,
                      "events": pending, "ids": ids}
            record = CommandRecord(command_id=cmd.command_id, command=name,
                                   request_hash=digest, result=result)
            recordings = self.save(*changed, record)
        except IntegrityError:
            replay = self._replay(cmd.command_id, digest)
            if replay is not None:
                return replay
            current = self._current_version(changed[0].id)
            raise Conflict(f"{type(changed[0]).__name__} {changed[0].id} was changed by another "
                           f"command; it is now at version {current}", current_version=current,
                           field="commandId") from None
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable("STORAGE_UNAVAILABLE", f"the ledger's storage is unavailable: {exc}",
                              rule="retry with the same commandId") from None
        position = max(r.notification.id for r in recordings)
        return CommandResult(command_id=cmd.command_id, command=name, position=position,
                             aggregate_id=str(main.id), version=main.version, events=pending,
                             ids=ids)

    def _replay(self, command_id: str, digest: str) -> CommandResult | None:
        try:
            record = self.repository.get(stable_id("command", command_id))
        except AggregateNotFoundError:
            return None
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable("STORAGE_UNAVAILABLE", f"the ledger's storage is unavailable: {exc}",
                              rule="retry with the same commandId") from None
        assert isinstance(record, CommandRecord)
        if record.request_hash != digest:
            raise RuleViolation("COMMAND_ID_REUSED",
                                f"command id {command_id!r} was already used for a different "
                                f"{record.command} request", field="commandId",
                                rule="a command id names one request forever")
        res = record.result
        return CommandResult(command_id=command_id, command=res["command"],
                             position=self.position_of(record.id, 1),
                             aggregate_id=res["aggregate_id"], version=res["version"],
                             events=res["events"], ids=res["ids"], replayed=True)

    def _current_version(self, aggregate_id: UUID) -> int | None:
        try:
            return int(self.repository.get(aggregate_id).version)
        except AggregateNotFoundError:
            return None

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        db = self.database
        with self.recorder.datastore.transaction(commit=False) as curs:  # type: ignore[attr-defined]
            curs.execute(db.sql(f"SELECT {db.position_column} AS position FROM {db.events_table} "
                                "WHERE originator_id=? AND originator_version=?"),
                         (aggregate_id.hex if db.backend == "sqlite" else aggregate_id, version))
            row = curs.fetchone()
        if row is None:
            raise NotFound("event", f"{aggregate_id}@{version}")
        return int(row["position"])

    def event_at(self, position: int) -> tuple[UUID, int, str]:
        """(aggregate id, version, topic) of the event recorded at a global position."""
        db = self.database
        with self.recorder.datastore.transaction(commit=False) as curs:  # type: ignore[attr-defined]
            curs.execute(db.sql(f"SELECT originator_id AS id, originator_version AS version, topic FROM "
                                f"{db.events_table} WHERE {db.position_column}=?"), (position,))
            row = curs.fetchone()
        if row is None:
            raise NotFound("event", str(position), field="position")
        return UUID(str(row["id"])), int(row["version"]), str(row["topic"])

    # -- lookups --------------------------------------------------------------------------

    def _get(self, cls: type[A], kind: str, code: str, field: str) -> A:
        try:
            agg = self.repository.get(stable_id(kind, code))
        except AggregateNotFoundError:
            raise NotFound(kind, code, field=field) from None
        assert isinstance(agg, cls)
        return agg

    def subject(self, code: str) -> Subject:
        return self._get(Subject, "subject", code, "subjectCode")

    def unit(self, code: str, field: str = "unitCode") -> Unit:
        return self._get(Unit, "unit", code, field)

    def agency(self, code: str) -> Agency:
        return self._get(Agency, "agency", code, "agencyCode")

    def expert(self, code: str) -> Expert:
        return self._get(Expert, "expert", code, "code")

    def rules_in_force(self, on: date) -> RuleSet:
        try:
            book = self.repository.get(RULEBOOK_ID)
        except AggregateNotFoundError:
            return DEFAULT_RULES
        assert isinstance(book, RuleBook)
        found = book.in_force(on)
        return RuleSet.model_validate(found) if found else DEFAULT_RULES

    def _absent(self, kind: str, code: str, field: str) -> None:
        try:
            self.repository.get(stable_id(kind, code))
        except AggregateNotFoundError:
            return
        raise RuleViolation(f"{kind.upper()}_EXISTS", f"{kind} {code!r} is already registered",
                            field=field, rule="codes are unique")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
