"""Registry commands: units, subjects, agencies, experts and the rule book."""

from __future__ import annotations

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from ledger import commands as c
from ledger.domain.base import Meta
from ledger.domain.registry import RULEBOOK_ID, Agency, Expert, RuleBook, Unit
from ledger.domain.subject import Subject, check_predecessor
from ledger.errors import InvalidInput
from ledger.handling import Decision, Handlers, Input
from ledger.handling import as_command as _as
from ledger.permissions import check_own_agency
from ledger.rules import RuleSet
from ledger.runtime import SYSTEM, Actor, CommandResult


class RegistryCommands(Handlers):
    # -- registry --------------------------------------------------------------------------

    def register_unit(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RegisterUnit, data)

        def decide(meta: Meta) -> Decision:
            self._absent("unit", cmd.code, "code")
            if cmd.parent_code is not None:
                self.check_unit(cmd.parent_code, "parentCode")
            return [Unit(code=cmd.code, name=cmd.name, kind=cmd.kind,
                         parent_code=cmd.parent_code, meta=meta)], {}
        return self.run("register_unit", cmd, actor, decide)

    def register_subject(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RegisterSubject, data)

        def decide(meta: Meta) -> Decision:
            self._absent("subject", cmd.code, "code")
            self.check_unit(cmd.unit_code)
            subject = Subject(code=cmd.code, name=cmd.name, kind=cmd.kind,
                              fiscal_year=cmd.fiscal_year, unit_code=cmd.unit_code,
                              funds=cmd.funds, is_new=cmd.is_new, is_key=cmd.is_key,
                              tags=list(cmd.tags), meta=meta)
            if cmd.predecessor_code is not None:
                check_predecessor(self.subject(cmd.predecessor_code), cmd.fiscal_year)
                subject.name_predecessor(predecessor_code=cmd.predecessor_code, meta=meta)
            return [subject], {}
        return self.run("register_subject", cmd, actor, decide)

    def admit_agency(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AdmitAgency, data)

        def decide(meta: Meta) -> Decision:
            self._absent("agency", cmd.code, "code")
            return [Agency(code=cmd.code, name=cmd.name, qualification=cmd.qualification,
                           meta=meta)], {}
        return self.run("admit_agency", cmd, actor, decide)

    def declare_agency_relationship(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.DeclareAgencyRelationship, data)

        def decide(meta: Meta) -> Decision:
            check_own_agency(actor.role, actor.agency_code, cmd.code)
            agency = self.agency(cmd.code)
            self.check_unit(cmd.unit_code)
            agency.declare_relationship(cmd.unit_code, cmd.relationship, meta)
            return [agency], {}
        return self.run("declare_agency_relationship", cmd, actor, decide)

    def assess_agency(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AssessAgency, data)

        def decide(meta: Meta) -> Decision:
            agency = self.agency(cmd.code)
            agency.assess(year=cmd.year, score=cmd.score, rating=cmd.rating,
                          remarks=cmd.remarks, meta=meta)
            return [agency], {}
        return self.run("assess_agency", cmd, actor, decide)

    def suspend_agency(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.SuspendAgency, data)

        def decide(meta: Meta) -> Decision:
            agency = self.agency(cmd.code)
            agency.suspend(cmd.reason, meta)
            return [agency], {}
        return self.run("suspend_agency", cmd, actor, decide)

    def reinstate_agency(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ReinstateAgency, data)

        def decide(meta: Meta) -> Decision:
            agency = self.agency(cmd.code)
            agency.reinstate(cmd.reason, meta)
            return [agency], {}
        return self.run("reinstate_agency", cmd, actor, decide)

    def remove_agency(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RemoveAgency, data)

        def decide(meta: Meta) -> Decision:
            agency = self.agency(cmd.code)
            agency.remove(cmd.reason, meta)
            return [agency], {}
        return self.run("remove_agency", cmd, actor, decide)

    def admit_expert(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AdmitExpert, data)

        def decide(meta: Meta) -> Decision:
            self._absent("expert", cmd.code, "code")
            return [Expert(code=cmd.code, name=cmd.name, fields=list(cmd.fields), meta=meta)], {}
        return self.run("admit_expert", cmd, actor, decide)

    def remove_expert(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RemoveExpert, data)

        def decide(meta: Meta) -> Decision:
            expert = self.expert(cmd.code)
            expert.remove(cmd.reason, meta)
            return [expert], {}
        return self.run("remove_expert", cmd, actor, decide)

    def adopt_rules(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.AdoptRules, data)
        try:
            rules = RuleSet.model_validate(cmd.rules)
        except ValueError as exc:
            raise InvalidInput(f"rules: {exc}", field="rules", rule="rule set schema") from None

        def decide(meta: Meta) -> Decision:
            book: Aggregate
            try:
                book = self.load(RULEBOOK_ID)
            except AggregateNotFoundError:  # the first adoption opens the book
                book = RuleBook(meta=meta)
            assert isinstance(book, RuleBook)
            book.adopt(rules.model_dump(mode="json"), meta)
            return [book], {}
        return self.run("adopt_rules", cmd, actor, decide)
