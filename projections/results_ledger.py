"""The results ledger (结果应用台账) of a fiscal year: basis → rule → effect → amount for each
consequence of that year's results, with totals, and the next year's budget requests against
the amounts arranged after consequences (docs/domain.md).

`results_ledger` is pure: from subject and fiscal-year state to the table, so it answers as
well on state built in memory (a preview) as on state loaded as of a moment
(`read_results_ledger`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.consequence_rules import EFFECT_LABELS
from ledger.domain.fiscal_year import BudgetRequest, FiscalYear, TransferAllocation, year_id
from ledger.domain.subject import Subject

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class ResultsLedgerRow:
    """One consequence: what it rests on, the rule it follows, what it does, how much."""

    subject_code: str
    subject_name: str
    unit_code: str
    basis_kind: str
    basis_id: str
    basis_position: int | None
    basis_grade_label: str | None
    rule_version: int | None
    rule_wording: str
    effect: str
    effect_label: str
    amount: Decimal | None
    percentage: Decimal | None
    target_fiscal_year: int | None
    target_kind: str
    target_id: str
    override_reason: str
    remarks: str
    result_id: str  # the consequence's own id (what a preview's changes name the row by)


@dataclass(frozen=True, slots=True)
class RequestLine:
    """A next-year request: requested, reduced by consequences, arranged (安排数)."""

    code: str
    unit_code: str
    subject_code: str
    project_name: str
    funding_source: str
    requested_amount: Decimal
    priority: bool
    reduced_amount: Decimal
    after_consequences: Decimal | None  # None: cancelled or suspended
    arranged_amount: Decimal | None


@dataclass(frozen=True, slots=True)
class ResultsLedger:
    """结果应用台账 of one fiscal year's results."""

    fiscal_year: int
    rows: tuple[ResultsLedgerRow, ...]
    reduced_total: Decimal  # 核减合计
    recovered_total: Decimal  # 收回合计
    priority_count: int  # 优先安排
    overridden_count: int
    requests: tuple[RequestLine, ...]  # of fiscal_year + 1
    transfers: tuple[TransferAllocation, ...]  # of fiscal_year + 1
    requested_total: Decimal
    arranged_total: Decimal


def results_ledger(fiscal_year: int, subjects: Iterable[Subject],
                   next_year: FiscalYear | None) -> ResultsLedger:
    year_subjects = [s for s in subjects if s.fiscal_year == fiscal_year]
    rows = tuple(_row(s, r) for s in year_subjects for r in s.results.values())
    requests = () if next_year is None else tuple(
        _request_line(q, rows) for q in next_year.requests.values())
    transfers = () if next_year is None else tuple(next_year.transfers.values())
    return _with_totals(fiscal_year, rows, requests, transfers)


def restricted(found: ResultsLedger, subject_codes: set[str],
               unit_codes: set[str]) -> ResultsLedger:
    """Only what a caller may read: the rows of visible subjects, the requests and transfers
    of visible units; the totals are those of what remains."""
    return _with_totals(
        found.fiscal_year, tuple(r for r in found.rows if r.subject_code in subject_codes),
        tuple(q for q in found.requests if q.unit_code in unit_codes),
        tuple(t for t in found.transfers if t.recipient_unit_code in unit_codes))


def _with_totals(fiscal_year: int, rows: tuple[ResultsLedgerRow, ...],
                 requests: tuple[RequestLine, ...],
                 transfers: tuple[TransferAllocation, ...]) -> ResultsLedger:
    return ResultsLedger(
        fiscal_year=fiscal_year, rows=rows,
        reduced_total=sum((r.amount or ZERO for r in rows if r.effect == "reduce"), ZERO),
        recovered_total=sum((r.amount or ZERO for r in rows if r.effect == "recover"), ZERO),
        priority_count=sum(1 for r in rows if r.effect == "priority"),
        overridden_count=sum(1 for r in rows if r.override_reason),
        requests=requests,
        transfers=transfers,
        requested_total=sum((q.requested_amount for q in requests), ZERO),
        arranged_total=sum((q.arranged_amount or ZERO for q in requests), ZERO))


def _row(subject: Subject, r: Any) -> ResultsLedgerRow:
    return ResultsLedgerRow(
        subject_code=subject.code, subject_name=subject.name, unit_code=subject.unit_code,
        basis_kind=r.cites_kind, basis_id=r.cites_id, basis_position=r.basis_position,
        basis_grade_label=None if r.basis_grade is None else r.basis_grade.label,
        rule_version=r.rule_version, rule_wording=r.rule_wording, effect=r.kind,
        effect_label=EFFECT_LABELS.get(r.kind, r.kind), amount=r.amount,
        percentage=r.percentage, target_fiscal_year=r.target_fiscal_year,
        target_kind=r.target_kind, target_id=r.target_id, override_reason=r.override_reason,
        remarks=r.remarks, result_id=r.id)


def _reaches(row: ResultsLedgerRow, request: BudgetRequest) -> bool:
    """A consequence reaches a request it names, or the continuing subject it names."""
    if row.target_kind == "budget_request":
        return row.target_id == request.code
    return row.target_kind == "subject" and bool(request.subject_code) and (
        row.subject_code == request.subject_code)


def _request_line(request: BudgetRequest, rows: tuple[ResultsLedgerRow, ...]) -> RequestLine:
    reaching = [r for r in rows if _reaches(r, request)]
    reduced = sum((r.amount or ZERO for r in reaching if r.effect == "reduce"), ZERO)
    stopped = any(r.effect in ("cancel", "suspend") for r in reaching)
    return RequestLine(
        code=request.code, unit_code=request.unit_code, subject_code=request.subject_code,
        project_name=request.project_name, funding_source=request.funding_source,
        requested_amount=request.requested_amount,
        priority=any(r.effect == "priority" for r in reaching), reduced_amount=reduced,
        after_consequences=None if stopped else max(ZERO, request.requested_amount - reduced),
        arranged_amount=request.arranged_amount)


def read_results_ledger(aggregate_at: Callable[[UUID], Any], subject_ids: Iterable[UUID],
                        fiscal_year: int) -> ResultsLedger:
    """The results ledger from stored state: `aggregate_at` loads an aggregate at the version
    it had at the moment asked about (None if it did not exist then)."""
    subjects = [aggregate_at(i) for i in subject_ids]
    next_year = aggregate_at(year_id(fiscal_year + 1))
    return results_ledger(fiscal_year, [s for s in subjects if isinstance(s, Subject)],
                          next_year if isinstance(next_year, FiscalYear) else None)
