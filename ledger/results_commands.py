"""Results application (结果运用) and the years it links: consequences checked against the
consequence rule in force, fiscal-year cycles, next year's budget requests and transfers."""

from __future__ import annotations

from typing import Any

from ledger import commands as c
from ledger.domain.base import Meta
from ledger.domain.consequences import (
    Target,
    amount_for,
    basis_version,
    check_effect,
    cited_item,
    has_warning,
)
from ledger.domain.fiscal_year import FiscalYear
from ledger.domain.subject import Subject
from ledger.errors import NotFound, RuleViolation
from ledger.handling import Decision, Handlers, Input
from ledger.handling import as_command as _as
from ledger.integrity.citation import CLOSING, checked_citation
from ledger.runtime import SYSTEM, Actor, CommandResult, new_id


class ResultsCommands(Handlers):
    def _fiscal_year(self, year: int) -> FiscalYear:
        return self._get(FiscalYear, "fiscal_year", str(year), "fiscalYear")

    def apply_result(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ApplyResult, data)

        def decide(meta: Meta) -> Decision:
            subject = self.subject(cmd.subject_code)
            item = cited_item(subject, cmd.cites_kind, cmd.cites_id)
            rules = self.rules_for(subject, cmd.effective_on)
            grade = None if subject.grade is None else subject.grade.grade
            warning = has_warning(subject, cmd.cites_kind, cmd.cites_id)
            wording = check_effect(cmd.kind, grade, warning, rules.consequences,
                                   cmd.override_reason)
            target = self._target(subject, cmd)
            amount = amount_for(cmd.kind, cmd.amount, cmd.percentage, target)
            version = basis_version(subject, item)
            position = None if version is None else self._position(subject, version)
            result_id = new_id("res")
            subject.apply_result(
                result_id, cmd.kind, amount, cmd.cites_kind, cmd.cites_id, cmd.remarks, meta,
                basis_position=position, basis_grade=None if grade is None else grade.value,
                rule_version=rules.version, rule_wording=wording,
                target_fiscal_year=target.fiscal_year, target_kind=target.kind,
                target_id=target.id, percentage=cmd.percentage,
                override_reason=cmd.override_reason)
            return [subject], {"resultId": result_id}
        return self.run("apply_result", cmd, actor, decide)

    def _position(self, subject: Subject, version: int) -> int | None:
        """None while the cited event is still unsaved in the same batch."""
        try:
            return self.position_of(subject.id, version)
        except NotFound:
            return None

    def _target(self, subject: Subject, cmd: c.ApplyResult) -> Target:
        """Next year's budget by default; a request or transfer caps the amount, else the
        subject's funds do."""
        year = cmd.target_fiscal_year or subject.fiscal_year + 1
        if cmd.target_kind == "budget_request":
            request = self._fiscal_year(year).request(cmd.target_id)
            return Target(year, "budget_request", request.code, request.requested_amount,
                          "requested amount")
        if cmd.target_kind == "transfer":
            transfer = self._fiscal_year(year).transfer(cmd.target_id)
            return Target(year, "transfer", transfer.code, transfer.amount, "transfer amount")
        if cmd.target_kind == "unit":
            unit_code = cmd.target_id or subject.unit_code
            self.check_unit(unit_code, "targetId")
            return Target(year, "unit", unit_code, subject.funds, "subject's funds")
        if cmd.target_id not in ("", subject.code):
            raise RuleViolation("TARGET_NOT_THIS_SUBJECT", "a subject target is the subject "
                                "itself", field="targetId", rule="name the subject consequenced")
        return Target(year, "subject", subject.code, subject.funds, "subject's funds")

    # -- the year's cycle, requests and transfers ----------------------------------------

    def open_fiscal_year(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.OpenFiscalYear, data)

        def decide(meta: Meta) -> Decision:
            self._absent("fiscal_year", str(cmd.fiscal_year), "fiscalYear")
            return [FiscalYear(fiscal_year=cmd.fiscal_year, meta=meta)], {}
        return self.run("open_fiscal_year", cmd, actor, decide)

    def close_fiscal_year(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.CloseFiscalYear, data)

        def decide(meta: Meta) -> Decision:
            year = self._fiscal_year(cmd.fiscal_year)
            year.check_open()
            cited = self._closing_checkpoint(year, cmd.checkpoint)
            year.close(cited, cmd.checkpoint_summary, meta)
            return [year], {}
        return self.run("close_fiscal_year", cmd, actor, decide)

    def _closing_checkpoint(self, year: FiscalYear,
                            cited: c.CitedCheckpoint | None) -> dict[str, Any] | None:
        """The checkpoint a closing cites, checked: signed by this log's key and covering the
        year's records; none only while no key is configured (docs/domain.md)."""
        try:
            covered: int | None = self.position_of(year.id, year.version)
        except NotFound:  # the year changed earlier in the same batch: nothing signed it
            covered = None
        return checked_citation(self.database, cited, CLOSING, covered)

    def record_budget_request(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.RecordBudgetRequest, data)

        def decide(meta: Meta) -> Decision:
            self.check_unit(cmd.unit_code)
            self.check_scope(actor, cmd.unit_code)
            if cmd.subject_code is not None:
                self.subject(cmd.subject_code)
            year = self._fiscal_year(cmd.fiscal_year)
            year.record_request({
                "code": cmd.code, "unit_code": cmd.unit_code,
                "subject_code": cmd.subject_code or "", "project_name": cmd.project_name,
                "funding_source": cmd.funding_source,
                "requested_amount": str(cmd.requested_amount)}, meta)
            return [year], {}
        return self.run("record_budget_request", cmd, actor, decide)

    def arrange_budget(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.ArrangeBudget, data)

        def decide(meta: Meta) -> Decision:
            year = self._fiscal_year(cmd.fiscal_year)
            year.arrange(cmd.request_code, cmd.arranged_amount, cmd.remarks, meta)
            return [year], {}
        return self.run("arrange_budget", cmd, actor, decide)

    def link_transfer(self, data: Input, actor: Actor = SYSTEM) -> CommandResult:
        cmd = _as(c.LinkTransfer, data)

        def decide(meta: Meta) -> Decision:
            self.check_unit(cmd.recipient_unit_code, "recipientUnitCode")
            basis = self.subject(cmd.basis_subject_code)
            if basis.kind != "fiscal_operations" or basis.unit_code != cmd.recipient_unit_code:
                raise RuleViolation("TRANSFER_BASIS_NOT_FISCAL_OPERATIONS",
                                    "a transfer links to the recipient's 财政运行综合绩效 subject",
                                    field="basisSubjectCode",
                                    rule="转移支付 is linked to the recipient's fiscal operations")
            year = self._fiscal_year(cmd.fiscal_year)
            year.link_transfer({
                "code": cmd.code, "recipient_unit_code": cmd.recipient_unit_code,
                "programme": cmd.programme, "amount": str(cmd.amount),
                "direction": cmd.direction, "basis_subject_code": cmd.basis_subject_code},
                meta)
            return [year], {}
        return self.run("link_transfer", cmd, actor, decide)
