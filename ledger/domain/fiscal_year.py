"""A fiscal year's performance cycle (绩效管理年度): opened, its budget requests and
transfer allocations recorded, closed.

One aggregate per year, so the year's requests (预算申报) and arranged amounts (安排数)
and its transfers (转移支付) read as of any moment by loading it at a version.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, Meta, stable_id
from ledger.domain.records import Correction
from ledger.errors import RuleViolation


@dataclass(frozen=True, slots=True)
class BudgetRequest:
    """预算申报: a unit's request for this year, for a continuing subject or a new project."""

    code: str
    unit_code: str
    subject_code: str  # the subject of the year before it continues, or "" (new project)
    project_name: str
    funding_source: str
    requested_amount: Decimal  # 万元
    requested_on: date | None
    arranged_amount: Decimal | None = None  # 安排数, recorded by the finance bureau
    arranged_on: date | None = None
    arrangement_remarks: str = ""


@dataclass(frozen=True, slots=True)
class TransferAllocation:
    """转移支付: an allocation to a lower-level government, linked to its 财政运行综合绩效."""

    code: str
    recipient_unit_code: str
    programme: str
    amount: Decimal  # 万元
    direction: str  # increase / decrease / maintain
    basis_subject_code: str  # the recipient's fiscal-operations subject it is linked to
    allocated_on: date | None


def year_id(fiscal_year: int) -> UUID:
    return stable_id("fiscal_year", str(fiscal_year))


def _rule(code: str, message: str, field: str, broken: str) -> RuleViolation:
    return RuleViolation(code, message, field=field, rule=broken)


class FiscalYear(LedgerAggregate):
    @staticmethod
    def create_id(fiscal_year: int, **_: Any) -> UUID:
        return year_id(fiscal_year)

    @event("Opened")
    def __init__(self, fiscal_year: int, meta: Meta) -> None:
        self.fiscal_year = fiscal_year
        self.opened_on = meta.effective_on
        self.closed_on: date | None = None
        self.closed_version: int | None = None  # the Closed event's version
        self.checkpoint: dict[str, Any] | None = None
        self.checkpoint_summary = ""
        self.requests: dict[str, BudgetRequest] = {}
        self.transfers: dict[str, TransferAllocation] = {}
        self.corrections: list[Correction] = []

    def check_open(self) -> None:
        # not closed_on: a closing without a business date leaves it None
        if self.closed_version is not None:
            raise _rule("FISCAL_YEAR_CLOSED", f"fiscal year {self.fiscal_year} is closed",
                        "fiscalYear", "a closed year takes no more requests or transfers")

    def request(self, code: str) -> BudgetRequest:
        found = self.requests.get(code)
        if found is None:
            raise _rule("BUDGET_REQUEST_NOT_FOUND", f"no budget request {code!r} for "
                        f"{self.fiscal_year}", "requestCode", "arrange a recorded request")
        return found

    def record_request(self, request: dict[str, Any], meta: Meta) -> None:
        self.check_open()
        if request["code"] in self.requests:
            raise _rule("BUDGET_REQUEST_EXISTS", f"budget request {request['code']!r} exists",
                        "code", "request codes are unique within a year")
        self._request_recorded(request=request, meta=meta)

    @event("BudgetRequestRecorded")
    def _request_recorded(self, request: dict[str, Any], meta: Meta) -> None:
        self.requests[request["code"]] = BudgetRequest(
            code=request["code"], unit_code=request["unit_code"],
            subject_code=request.get("subject_code") or "",
            project_name=request.get("project_name") or "",
            funding_source=request["funding_source"],
            requested_amount=Decimal(str(request["requested_amount"])),
            requested_on=meta.effective_on)

    def arrange(self, code: str, amount: Decimal, remarks: str, meta: Meta) -> None:
        self.check_open()
        self.request(code)
        self._arranged(request_code=code, arranged_amount=amount, remarks=remarks, meta=meta)

    @event("BudgetArranged")
    def _arranged(self, request_code: str, arranged_amount: Decimal, remarks: str,
                  meta: Meta) -> None:
        self.requests[request_code] = replace(
            self.requests[request_code], arranged_amount=arranged_amount,
            arranged_on=meta.effective_on, arrangement_remarks=remarks)

    def link_transfer(self, transfer: dict[str, Any], meta: Meta) -> None:
        self.check_open()
        if transfer["code"] in self.transfers:
            raise _rule("TRANSFER_EXISTS", f"transfer {transfer['code']!r} exists", "code",
                        "transfer codes are unique within a year")
        self._transfer_linked(transfer=transfer, meta=meta)

    @event("TransferLinked")
    def _transfer_linked(self, transfer: dict[str, Any], meta: Meta) -> None:
        self.transfers[transfer["code"]] = TransferAllocation(
            code=transfer["code"], recipient_unit_code=transfer["recipient_unit_code"],
            programme=transfer["programme"], amount=Decimal(str(transfer["amount"])),
            direction=transfer["direction"], basis_subject_code=transfer["basis_subject_code"],
            allocated_on=meta.effective_on)

    def transfer(self, code: str) -> TransferAllocation:
        found = self.transfers.get(code)
        if found is None:
            raise _rule("TRANSFER_NOT_FOUND", f"no transfer {code!r} in {self.fiscal_year}",
                        "targetId", "a consequence reaches a recorded transfer")
        return found

    def close(self, checkpoint: dict[str, Any] | None, checkpoint_summary: str,
              meta: Meta) -> None:
        """`checkpoint`: the signed checkpoint the closing cites (origin, size, root, last
        position, note), checked by the ledger; `checkpoint_summary` says which, or why none."""
        self.check_open()
        self._closed(checkpoint=checkpoint, checkpoint_summary=checkpoint_summary, meta=meta)

    @event("Closed")
    def _closed(self, checkpoint: dict[str, Any] | None, meta: Meta,
                checkpoint_summary: str = "") -> None:
        self.closed_on = meta.effective_on
        self.closed_version = self.next_version()
        self.checkpoint = checkpoint
        self.checkpoint_summary = checkpoint_summary
