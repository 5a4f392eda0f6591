"""What differs between two states of a table: the annex tables (附件1, 附件2) and the
results ledger (结果应用台账), cell by cell, each cell as its text before and after.

Restatements between two moments (projections.views) and a preview's changes
(projections.preview) both read them from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from decimal import Decimal
from typing import Any

from ledger.annex import TOTAL_LABEL, AnnexRow, AnnexTable
from ledger.domain.fiscal_year import TransferAllocation
from ledger.grades import Grade
from projections.results_ledger import RequestLine, ResultsLedger, ResultsLedgerRow
from projections.values import CellChange, ChangedPart, RestatedTable, RowChange

CELLS = ("subject_name", "unit_name", "funds", "assessment", "grade")


def cell_changes(before: AnnexTable, after: AnnexTable) -> list[CellChange]:
    """The cells of an annex table that differ between two states of it, row by row (rows
    still listed first, by subject id), each as its text before and after."""
    def by_subject(table: AnnexTable) -> dict[str, AnnexRow]:
        return {r.subject_id: r for r in sorted(table.rows, key=lambda r: r.subject_id)}
    return row_changes(RestatedTable(after.kind.value), ChangedPart.ROW, by_subject(before),
                       by_subject(after), CELLS, lambda r: (r.subject_id, r.subject_name))


def row_changes(table: RestatedTable, part: ChangedPart, before: Mapping[str, Any],
                after: Mapping[str, Any], columns: Sequence[str],
                about: Callable[[Any], tuple[str, str]]) -> list[CellChange]:
    """The cells of keyed rows that differ between two states (rows listed after first, in
    their order, then the removed), each as its text (an empty cell of an added or removed
    row is not listed); `about` names a row's subject (id, name)."""
    out: list[CellChange] = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        change = (RowChange.ADDED if old is None else RowChange.REMOVED if new is None
                  else RowChange.CHANGED)
        subject_id, name = about(old if new is None else new)
        for field in columns:
            a = None if old is None else cell(getattr(old, field))
            b = None if new is None else cell(getattr(new, field))
            if a != b:
                out.append(CellChange(table=table, part=part, key=key, change=change,
                                      subject_id=subject_id, subject_name=name, field=field,
                                      before=a, after=b))
    return out


def cell(value: Any) -> str | None:
    """A cell as a change shows it: a grade by its label, a flag as GraphQL writes it."""
    if value is None:
        return None
    if isinstance(value, Grade):
        return value.label
    if isinstance(value, bool):
        return "true" if value else "false"
    return format(value, "f") if isinstance(value, Decimal) else str(value)


TOTALS = tuple(f.name for f in fields(ResultsLedger) if f.name.endswith(("_total", "_count")))


def ledger_changes(before: ResultsLedger, after: ResultsLedger,
                   subjects: Mapping[str, tuple[str, str]]) -> list[CellChange]:
    """The cells of the results ledger that differ: consequences (by id), next year's
    requests and transfers (by code), then the totals; `subjects` names a subject code
    (id, name) for the rows about a subject."""
    table = RestatedTable.RESULTS_LEDGER

    def subject(code: str, otherwise: str) -> tuple[str, str]:
        return subjects.get(code, ("", otherwise))

    out = row_changes(table, ChangedPart.ROW, {r.result_id: r for r in before.rows},
                      {r.result_id: r for r in after.rows}, _fields(ResultsLedgerRow, "result_id"),
                      lambda r: subject(r.subject_code, r.subject_name))
    out += row_changes(table, ChangedPart.REQUEST, {q.code: q for q in before.requests},
                       {q.code: q for q in after.requests}, _fields(RequestLine, "code"),
                       lambda q: subject(q.subject_code, q.project_name or q.code))
    out += row_changes(table, ChangedPart.TRANSFER, {t.code: t for t in before.transfers},
                       {t.code: t for t in after.transfers}, _fields(TransferAllocation, "code"),
                       lambda t: subject(t.basis_subject_code, t.programme))
    for name in TOTALS:
        a, b = cell(getattr(before, name)), cell(getattr(after, name))
        if a != b:
            out.append(CellChange(table=table, part=ChangedPart.TOTAL, key="",
                                  change=RowChange.CHANGED, subject_id="",
                                  subject_name=TOTAL_LABEL, field=name, before=a, after=b))
    return out


def _fields(record: type, key: str) -> list[str]:
    return [f.name for f in fields(record) if f.name != key]
