"""The command path every command shares: validate, decide, save atomically, idempotently."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    Mapper,
    OperationalError,
    Transcoder,
)
from pydantic import ValidationError

from ledger import commands as c
from ledger import permissions
from ledger.command_records import find_record, holds_unscoped_records
from ledger.domain.base import DateAsISO, Meta, MetaAsDict, stable_id, type_name
from ledger.domain.registry import RULEBOOK_ID, Agency, CommandRecord, Expert, RuleBook, Unit
from ledger.domain.subject import Subject
from ledger.errors import (
    Conflict,
    DomainError,
    Forbidden,
    HiddenSubject,
    InvalidInput,
    NotFound,
    RuleViolation,
    Unavailable,
)
from ledger.integrity.event_macs import EventKey
from ledger.integrity.recorders import AuthenticatingPostgresRecorder, AuthenticatingSQLiteRecorder
from ledger.permissions import check_reach, check_role, check_unit_scope
from ledger.rules import DEFAULT_RULES, RuleSet
from ledger.store import APPLICATION_NAME, Database, storage_unavailable
from ledger.text import NAME_RULE, text_problem
from ledger.transcoder import FastJSONTranscoder, LedgerMapper

A = TypeVar("A", bound=Aggregate)
C = TypeVar("C", bound=c.Command)


@dataclass(frozen=True)
class Actor:
    """Who issues a command; taken from the credential, never from the request body."""

    id: str
    role: str
    unit_code: str | None = None
    agency_code: str | None = None


SYSTEM = Actor(id="system", role=permissions.SYSTEM)


def check_actor(actor: Actor) -> None:
    """The actor is recorded in every event's Meta like any name: the same rule applies,
    whoever built the Actor (a token, the CLI, an embedding program)."""
    for field_name in ("id", "unit_code", "agency_code"):
        value = getattr(actor, field_name)
        if value is not None and (problem := text_problem(value, name=True)) is not None:
            raise InvalidInput(f"actor {field_name}: {problem}", field=f"actor.{field_name}",
                               rule=NAME_RULE)


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
    """What a command id stands for: the command's name and its validated fields (not those
    the server fills in: a retry of the same request finds them changed)."""
    body = cmd.model_dump_json(exclude={"command_id", *cmd.SERVER_FIELDS})
    return hashlib.sha256(f"{name}\n{body}".encode()).hexdigest()


class LedgerBase(Application[UUID]):
    name = APPLICATION_NAME  # subclasses inherit it through __init_subclass__ by class name

    def __init__(self, database: Database | None = None, *, create_table: bool = False) -> None:
        self.database = database or Database.from_url()
        self._local = threading.local()
        self._known_units: set[str] = set()
        self._parents: dict[str, str | None] = {}
        self._unscoped_records: bool | None = None  # see unscoped_records()
        self._unit_kinds: dict[str, str] = {}
        # Called with the last position of every save, so this process's views know at once.
        self.saved_listeners: list[Callable[[int], None]] = []
        if self.database.backend == "sqlite":
            self.database.create_sqlite_file()  # private (0600) before eventsourcing opens it
        super().__init__(env=self.database.eventsourcing_env(create_table=create_table))
        self.event_key = EventKey(self.database)
        if isinstance(self.recorder, AuthenticatingSQLiteRecorder | AuthenticatingPostgresRecorder):
            self.recorder.event_key = self.event_key

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.construct_transcoder(),
                                   mapper_class=LedgerMapper)

    def construct_transcoder(self) -> Transcoder:
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaAsDict())
        transcoder.register(DateAsISO())

    # -- the command path ---------------------------------------------------------------

    def run(self, name: str, cmd: c.Command, actor: Actor,
            decide: Callable[[Meta], tuple[Sequence[Aggregate], dict[str, str]]]) -> CommandResult:
        """Decide, then save the changed aggregates and the command record in one transaction.

        Optimistic: the first attempt of a command costs no idempotency look-up. A retry is
        recognised when its decision is refused or its save collides with the stored record.
        """
        check_role(actor.role, name)
        check_actor(actor)
        digest = request_hash(name, cmd)
        batch: Batch | None = getattr(self._local, "batch", None)
        if batch is not None and cmd.command_id in batch.results:
            return batch.repeat(cmd.command_id, digest)
        # An unscoped record collides with nothing this build saves: look before deciding.
        if (batch is not None and batch.careful) or self.unscoped_records():
            replay = self._replay(cmd.command_id, digest, actor)
            if replay is not None:
                return replay
        meta = Meta(actor_id=actor.id, actor_role=actor.role, command_id=cmd.command_id,
                    effective_on=cmd.effective_on)
        self._local.actor = actor  # subject() refuses what lies outside its reach
        try:
            changed, ids = decide(meta)
            for aggregate in changed:
                if isinstance(aggregate, Subject):
                    self.check_scope(actor, aggregate.unit_code)
        except DomainError:
            replay = self._replay(cmd.command_id, digest, actor)
            if replay is not None:
                return replay
            raise
        finally:
            self._local.actor = None
        main = changed[0]
        seen = batch.seen if batch is not None else {}
        pending = [type_name(type(e)) for a in changed
                   for e in a.pending_events[seen.get(a.id, 0):]]
        result = CommandResult(command_id=cmd.command_id, command=name, position=0,
                               aggregate_id=str(main.id), version=main.version, events=pending,
                               ids=ids)
        record = CommandRecord(command_id=cmd.command_id, command=name, request_hash=digest,
                               result={"command": name, "aggregate_id": result.aggregate_id,
                                       "version": result.version, "events": pending,
                                       "ids": ids}, actor_id=actor.id)
        if batch is not None:
            batch.add(changed, record, result, digest)
            return result
        created = [a for a in changed if a.pending_events
                   and a.pending_events[0].originator_version == 1]  # save() empties them
        try:
            position = self._save_all([*changed, record])
        except IntegrityError:
            replay = self._replay(cmd.command_id, digest, actor)
            if replay is not None:
                return replay
            raise self._explain(changed[0], created) from None
        return replace(result, position=position)

    def _save_all(self, aggregates: Sequence[Aggregate]) -> int:
        try:
            recordings = self.save(*aggregates)
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable("STORAGE_UNAVAILABLE", f"the ledger's storage is unavailable: {exc}",
                              rule="retry with the same commandId") from None
        position = max(r.notification.id for r in recordings)
        for listener in list(self.saved_listeners):
            listener(position)
        return position

    def _explain(self, main: Aggregate, created: Sequence[Aggregate]) -> DomainError:
        """Why a save collided: a code registered meanwhile, or a newer version of the main."""
        for aggregate in created:
            if self._current_version(aggregate.id) is not None:
                kind = type(aggregate).__name__
                return RuleViolation(f"{kind.upper()}_EXISTS", f"{kind} "
                                     f"{getattr(aggregate, 'code', aggregate.id)!s} is already "
                                     "registered", field="code", rule="codes are unique")
        current = self._current_version(main.id)
        return Conflict(f"{type(main).__name__} {main.id} was changed by another command; "
                        f"it is now at version {current}", current_version=current,
                        field="commandId")

    def execute_batch(self, calls: Sequence[tuple[str, dict[str, Any]]],
                      actor: Actor) -> list[CommandResult]:
        """Several commands, all or nothing, in one transaction (imports, bulk loads).

        Later commands see the changes of earlier ones; a refusal anywhere appends nothing.
        A batch that collides with stored commands (a re-import) is decided again carefully,
        command by command against what is stored.
        """
        try:
            return self._batch(calls, actor, careful=False)
        except IntegrityError:
            try:
                return self._batch(calls, actor, careful=True)
            except IntegrityError:
                raise Conflict("the batch collided with concurrent commands; retry it",
                               current_version=None, field="commandId") from None

    def _batch(self, calls: Sequence[tuple[str, dict[str, Any]]], actor: Actor,
               careful: bool) -> list[CommandResult]:
        batch = Batch(careful)
        self._local.batch = batch
        try:
            results = [getattr(self, method)(data, actor) for method, data in calls]
        finally:
            self._local.batch = None
        fresh = list(batch.aggregates.values())
        if not fresh:
            return results
        position = self._save_all(fresh)
        return [r if r.replayed else replace(r, position=position) for r in results]

    def load(self, aggregate_id: UUID, version: int | None = None) -> Aggregate:
        """The aggregate (at a version, if given): a typed front to the repository."""
        return cast(Aggregate, self.repository.get(aggregate_id, version=version))

    def unscoped_records(self) -> bool:
        """Whether the store holds command records from before ids were scoped to actors
        (asked once: this build writes none)."""
        if self._unscoped_records is None:
            try:
                self._unscoped_records = holds_unscoped_records(self, self.database)
            except Exception as exc:
                if not storage_unavailable(exc):
                    raise
                raise Unavailable("STORAGE_UNAVAILABLE", "the ledger's storage is unavailable: "
                                  f"{exc}", rule="retry with the same commandId") from None
        return self._unscoped_records

    def _replay(self, command_id: str, digest: str, actor: Actor) -> CommandResult | None:
        """The actor's own earlier outcome of this command id; another's is never looked at."""
        try:
            record = find_record(self, command_id, actor.id, unscoped=self.unscoped_records())
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable("STORAGE_UNAVAILABLE", f"the ledger's storage is unavailable: {exc}",
                              rule="retry with the same commandId") from None
        if record is None:
            return None
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
            return int(self.load(aggregate_id).version)
        except AggregateNotFoundError:
            return None

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        db = self.database
        if db.backend == "memory":  # eventsourcing's in-memory recorder (tests): no SQL
            newest = self.recorder.max_notification_id() or 1
            for n in self.recorder.select_notifications(start=1, limit=newest):
                if n.originator_id == aggregate_id and n.originator_version == version:
                    return n.id
            raise NotFound("event", f"{aggregate_id}@{version}")
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
        if db.backend == "memory":
            found = self.recorder.select_notifications(start=position, limit=1, stop=position)
            if not found:
                raise NotFound("event", str(position), field="position")
            return UUID(str(found[0].originator_id)), found[0].originator_version, found[0].topic
        with self.recorder.datastore.transaction(commit=False) as curs:  # type: ignore[attr-defined]
            curs.execute(db.sql("SELECT originator_id AS id, originator_version AS version, "
                                f"topic FROM "
                                f"{db.events_table} WHERE {db.position_column}=?"), (position,))
            row = curs.fetchone()
        if row is None:
            raise NotFound("event", str(position), field="position")
        return UUID(str(row["id"])), int(row["version"]), str(row["topic"])

    # -- lookups --------------------------------------------------------------------------

    def _get(self, cls: type[A], kind: str, code: str, field: str) -> A:
        batch: Batch | None = getattr(self._local, "batch", None)
        if batch is not None and stable_id(kind, code) in batch.aggregates:
            found = batch.aggregates[stable_id(kind, code)]
            assert isinstance(found, cls)
            return found
        try:
            agg = self.load(stable_id(kind, code))
        except AggregateNotFoundError:
            raise NotFound(kind, code, field=field) from None
        assert isinstance(agg, cls)
        return agg

    def subject(self, code: str) -> Subject:
        """In a command, a subject outside the actor's reach is refused exactly as an unknown
        one is (HiddenSubject), before any rule could tell something about its state."""
        found = self._get(Subject, "subject", code, "subjectCode")
        actor: Actor | None = getattr(self._local, "actor", None)
        if actor is not None:
            try:
                check_reach(actor.role, actor.unit_code, actor.agency_code, found.unit_code,
                            {c.agency_code for c in found.commissions.values()}, self.parent_of)
            except Forbidden as refusal:
                raise HiddenSubject(code, refusal) from None
        return found

    def unit(self, code: str, field: str = "unitCode") -> Unit:
        return self._get(Unit, "unit", code, field)

    def agency(self, code: str) -> Agency:
        return self._get(Agency, "agency", code, "agencyCode")

    def expert(self, code: str) -> Expert:
        return self._get(Expert, "expert", code, "code")

    def rules_in_force(self, on: date) -> RuleSet:
        try:
            book = self.load(RULEBOOK_ID)
        except AggregateNotFoundError:
            return DEFAULT_RULES
        assert isinstance(book, RuleBook)
        found = book.in_force(on)
        return RuleSet.model_validate(found) if found else DEFAULT_RULES

    def _absent(self, kind: str, code: str, field: str) -> None:
        """A code registered earlier in the same batch; the store refuses other duplicates."""
        batch: Batch | None = getattr(self._local, "batch", None)
        key = stable_id(kind, code)
        if batch is not None and (key in batch.aggregates or (
                batch.careful and self._current_version(key) is not None)):
            raise RuleViolation(f"{kind.upper()}_EXISTS", f"{kind} {code!r} is already "
                                "registered", field=field, rule="codes are unique")

    def parent_of(self, code: str) -> str | None:
        """A unit's parent (主管部门); parents never change, so they are remembered."""
        if code not in self._parents:
            try:
                self._parents[code] = self.unit(code).parent_code
            except NotFound:
                return None
        return self._parents[code]

    def unit_kind(self, code: str | None) -> str | None:
        """The kind a unit was registered with; None when there is no such unit. Kinds never
        change, so a stored unit's is remembered (not one a batch may yet roll back)."""
        if code is None:
            return None
        if code in self._unit_kinds:
            return self._unit_kinds[code]
        try:
            kind = self.unit(code).kind
        except NotFound:
            return None
        if getattr(self._local, "batch", None) is None:
            self._unit_kinds[code] = kind
        return kind

    def check_scope(self, actor: Actor, unit_code: str) -> None:
        check_unit_scope(actor.role, actor.unit_code, unit_code, self.parent_of)

    def check_unit(self, code: str, field: str = "unitCode") -> None:
        """Units are never removed, so a unit once seen is remembered (no look-up)."""
        if code not in self._known_units:
            self.unit(code, field)
            self._known_units.add(code)


class Batch:
    """Aggregates changed by the commands of one batch, saved together at its end."""

    def __init__(self, careful: bool = False) -> None:
        self.careful = careful
        self.aggregates: dict[UUID, Aggregate] = {}
        self.seen: dict[UUID, int] = {}
        self.results: dict[str, tuple[str, CommandResult]] = {}

    def add(self, changed: Sequence[Aggregate], record: CommandRecord, result: CommandResult,
            digest: str) -> None:
        for aggregate in (*changed, record):
            self.aggregates[aggregate.id] = aggregate
            self.seen[aggregate.id] = len(aggregate.pending_events)
        self.results[result.command_id] = (digest, result)

    def repeat(self, command_id: str, digest: str) -> CommandResult:
        first_digest, result = self.results[command_id]
        if first_digest != digest:
            raise RuleViolation("COMMAND_ID_REUSED", f"command id {command_id!r} appears twice "
                                "in the batch for different requests", field="commandId",
                                rule="a command id names one request forever")
        return result


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
