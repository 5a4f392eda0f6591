"""Units, the third-party agency library, the expert library, rules and command records."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, Meta, correctable, parse_name, stable_id
from ledger.domain.records import AgencyAssessment, Correction
from ledger.errors import RuleViolation


class Unit(LedgerAggregate):
    """A budget unit (预算单位) or the finance bureau itself, in the unit hierarchy."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return stable_id("unit", code)

    @event("Registered")
    def __init__(self, code: str, name: str, kind: str, parent_code: str | None,
                 meta: Meta) -> None:
        self.code = code
        self.name = name
        self.kind = kind
        self.parent_code = parent_code
        self.corrections: list[Correction] = []


class Agency(LedgerAggregate):
    """A third-party agency (第三方机构) in the library: admitted, assessed, suspended, removed."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return stable_id("agency", code)

    @event("Admitted")
    def __init__(self, code: str, name: str, qualification: str, meta: Meta) -> None:
        self.code = code
        self.name = name
        self.qualification = qualification
        self.status = "admitted"
        self.assessments: list[AgencyAssessment] = []
        self.relationships: dict[str, str] = {}  # unit code -> the relationship declared
        self.corrections: list[Correction] = []

    @property
    def is_admitted(self) -> bool:
        return self.status == "admitted"

    def check_can_evaluate(self) -> None:
        if not self.is_admitted:
            raise RuleViolation(
                "AGENCY_NOT_ADMITTED",
                f"agency {self.code} ({self.name}) is {self.status}, not admitted to the library",
                field="agencyCode", rule="a third-party evaluator must be admitted")

    def declare_relationship(self, unit_code: str, relationship: str, meta: Meta) -> None:
        """A tie to a unit (财监〔2021〕4号: 回避) that rules the agency out of evaluating for
        that unit, and of that unit's subjects and those of the units under it."""
        self._relationship_declared(unit_code=unit_code, relationship=relationship, meta=meta)

    @event("RelationshipDeclared")
    def _relationship_declared(self, unit_code: str, relationship: str, meta: Meta) -> None:
        self.relationships[unit_code] = relationship

    def check_independent(self, units: Iterable[str]) -> None:
        """Refuse work for a commissioner or on a subject the agency declared a tie to: `units`
        are the commissioner and the subject's unit with the units above it."""
        for code in units:
            if code in self.relationships:
                raise RuleViolation(
                    "AGENCY_NOT_INDEPENDENT",
                    f"agency {self.code} ({self.name}) declared a relationship with unit {code}: "
                    f"{self.relationships[code]}", field="agencyCode",
                    rule="财监〔2021〕4号: an agency is independent of its commissioner and of "
                    "the evaluated subject")

    @event("QualityAssessed")
    def assess(self, year: int, score: Decimal, rating: str, remarks: str, meta: Meta) -> None:
        self.assessments.append(AgencyAssessment(year=year, score=score, rating=rating,
                                                 remarks=remarks))

    def suspend(self, reason: str, meta: Meta) -> None:
        if self.status != "admitted":
            raise RuleViolation("AGENCY_NOT_ADMITTED", f"agency is {self.status}",
                                field="agencyCode", rule="only an admitted agency can be suspended")
        self._suspended(reason=reason, meta=meta)

    @event("Suspended")
    def _suspended(self, reason: str, meta: Meta) -> None:
        self.status = "suspended"

    def reinstate(self, reason: str, meta: Meta) -> None:
        if self.status != "suspended":
            raise RuleViolation("AGENCY_NOT_SUSPENDED", f"agency is {self.status}",
                                field="agencyCode",
                                rule="only a suspended agency can be reinstated")
        self._reinstated(reason=reason, meta=meta)

    @event("Reinstated")
    def _reinstated(self, reason: str, meta: Meta) -> None:
        self.status = "admitted"

    def remove(self, reason: str, meta: Meta) -> None:
        if self.status == "removed":
            raise RuleViolation("AGENCY_REMOVED", "agency was already removed",
                                field="agencyCode", rule="能进能出: removal happens once")
        self._removed(reason=reason, meta=meta)

    @event("Removed")
    def _removed(self, reason: str, meta: Meta) -> None:
        self.status = "removed"


class Expert(LedgerAggregate):
    """An expert (专家库) who may sit on reviews; admitted and removed like agencies."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return stable_id("expert", code)

    @event("Admitted")
    def __init__(self, code: str, name: str, fields: list[str], meta: Meta) -> None:
        self.code = code
        self.name = name
        self.fields = fields
        self.status = "admitted"
        self.corrections: list[Correction] = []

    def remove(self, reason: str, meta: Meta) -> None:
        if self.status == "removed":
            raise RuleViolation("EXPERT_REMOVED", "expert was already removed",
                                field="expertCode", rule="removal happens once")
        self._removed(reason=reason, meta=meta)

    @event("Removed")
    def _removed(self, reason: str, meta: Meta) -> None:
        self.status = "removed"


# A correction may restate the name a unit, agency or expert was registered under.
Unit.CORRECTABLE = correctable({Unit.Registered: {"name": parse_name}})
Agency.CORRECTABLE = correctable({Agency.Admitted: {"name": parse_name}})
Expert.CORRECTABLE = correctable({Expert.Admitted: {"name": parse_name}})

RULEBOOK_ID = stable_id("rulebook", "rules")


class RuleBook(LedgerAggregate):
    """The adopted versions of the rule set; the newest in force on a date applies."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return RULEBOOK_ID

    @event("Opened")
    def __init__(self, meta: Meta) -> None:
        self.versions: list[dict[str, Any]] = []
        self.corrections: list[Correction] = []

    def adopt(self, rules: dict[str, Any], meta: Meta) -> None:
        version = int(rules["version"])
        latest = max((int(v["version"]) for v in self.versions), default=0)
        if version <= latest:
            raise RuleViolation("RULE_VERSION_NOT_NEW",
                                f"rule version {version} is not newer than {latest}",
                                field="rules.version", rule="rule versions only increase")
        self._adopted(rules=rules, meta=meta)

    @event("RulesAdopted")
    def _adopted(self, rules: dict[str, Any], meta: Meta) -> None:
        self.versions.append(rules)

    def in_force(self, on: date) -> dict[str, Any] | None:
        eligible = [v for v in self.versions if date.fromisoformat(str(v["effective_from"])) <= on]
        return max(eligible, key=lambda v: int(v["version"]), default=None)


def command_record_id(command_id: str, actor_id: str | None) -> UUID:
    """A command id is its actor's own: the same id from two actors names two records, so no
    one can replay, or block, another's command. Records made before ids were scoped to
    actors (no actor_id) keep the key they were stored under."""
    if actor_id is None:
        return stable_id("command", command_id)
    return stable_id("actor-command", json.dumps([actor_id, command_id], ensure_ascii=False))


class CommandRecord(LedgerAggregate):
    """The first outcome of an actor's command id, so a retry returns it and appends nothing."""

    @staticmethod
    def create_id(command_id: str, actor_id: str | None = None, **_: Any) -> UUID:
        return command_record_id(command_id, actor_id)

    @event("Accepted")
    def __init__(self, command_id: str, command: str, request_hash: str,
                 result: dict[str, Any], actor_id: str | None = None) -> None:
        self.command_id = command_id
        self.command = command
        self.request_hash = request_hash
        self.result = result
        self.actor_id = actor_id  # None: stored before command ids were scoped to actors
