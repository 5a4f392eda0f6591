"""What-if, read side (docs/domain.md#what-if-preview): the views as they would be.

The ledger decides the commands against the state at a moment without saving anything
(ledger.preview); here the subjects they would change are turned into rows by the same
function the projector uses (projections.rows.subject_row) and laid over the rows visible
at that moment, so a preview answers exactly what the views would answer once the commands
are recorded. Views over subjects reuse `preview_rows` (or `PreviewState.subjects`); the
results ledger is read with the changed aggregates standing in for the stored ones
(`preview_results_ledger`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.annex import AnnexKind, AnnexTable
from ledger.domain.base import type_name
from ledger.domain.registry import Unit
from ledger.domain.subject import Subject
from ledger.runtime import Actor
from projections.changes import cell_changes, ledger_changes
from projections.results_ledger import ResultsLedger
from projections.rows import SubjectRow, subject_row
from projections.values import CellChange, Moment, RestatedTable
from projections.views import ReadModel, annex_table, effective


@dataclass(frozen=True)
class PendingEvent:
    """An event the previewed commands would append (it has no position: none is given)."""

    aggregate_id: str
    version: int
    type: str


@dataclass(frozen=True)
class PreviewState:
    """What the previewed commands would change, as at `moment`."""

    moment: Moment
    aggregates: dict[UUID, Aggregate]  # every record the commands would change, as it would be
    subjects: dict[str, Subject]  # subject id -> the subject as it would be
    unit_names: dict[str, str]  # unit code -> its name as it would be
    pending: tuple[PendingEvent, ...]


@dataclass(frozen=True)
class PreviewTable:
    """An annex table as it would be, the table at the moment, and the cells that differ."""

    table: AnnexTable
    before: AnnexTable
    changes: tuple[CellChange, ...]


@dataclass(frozen=True)
class PreviewResultsLedger:
    """The results ledger as it would be, as it is at the moment, and the cells that differ."""

    table: ResultsLedger
    before: ResultsLedger
    changes: tuple[CellChange, ...]


def preview_state(read: ReadModel, moment: Moment, calls: Sequence[tuple[str, dict[str, Any]]],
                  actor: Actor) -> PreviewState:
    """Decide `calls` ((method, input) pairs) as at `moment`; nothing is appended.

    Refusals (Forbidden for any role but the finance bureau; a command's own refusal, its
    field prefixed `commands.<index>`) are raised as the ledger's typed errors.
    """
    changed: list[Aggregate] = read.ledger.decide_preview(calls, actor, moment.position)
    return PreviewState(
        moment=moment,
        aggregates={a.id: a for a in changed},
        subjects={str(a.id): a for a in changed if isinstance(a, Subject)},
        unit_names={a.code: a.name for a in changed if isinstance(a, Unit)},
        pending=tuple(PendingEvent(aggregate_id=str(a.id), version=e.originator_version,
                                   type=type_name(type(e)))
                      for a in changed for e in a.pending_events))


def preview_rows(read: ReadModel, state: PreviewState, fiscal_year: int) -> list[SubjectRow]:
    """A fiscal year's subject rows as they would be, in registration order."""
    out: list[SubjectRow] = []
    for row in read.year_rows(state.moment, fiscal_year):
        subject = state.subjects.get(row.subject_id)
        if subject is not None:
            name = state.unit_names.get(subject.unit_code, row.unit_name)
            row = effective(subject_row(subject, name, row.seq_key, row.subject_id),
                            state.moment.effective_on)
        elif row.unit_code in state.unit_names:
            row = row._replace(unit_name=state.unit_names[row.unit_code])
        if int(row.fiscal_year) == fiscal_year:
            out.append(row)
    return out


def preview_table(read: ReadModel, state: PreviewState, fiscal_year: int,
                  kind: AnnexKind) -> PreviewTable:
    before = read.evaluation_table(state.moment, fiscal_year, kind)
    after = annex_table(preview_rows(read, state, fiscal_year), fiscal_year, kind)
    return PreviewTable(table=after, before=before, changes=tuple(cell_changes(before, after)))


def preview_results_ledger(read: ReadModel, state: PreviewState,
                           fiscal_year: int) -> PreviewResultsLedger:
    before = read.results_ledger(state.moment, fiscal_year)
    after = read.results_ledger(state.moment, fiscal_year, state.aggregates)
    named = {r.code: (r.subject_id, r.name) for r in preview_rows(read, state, fiscal_year)}
    return PreviewResultsLedger(table=after, before=before,
                                changes=tuple(ledger_changes(before, after, named)))


def preview_changes(read: ReadModel, state: PreviewState, fiscal_year: int,
                    table: RestatedTable | None = None) -> list[CellChange]:
    """The restatements the commands would make: the changed cells of one table, or of
    附件1, 附件2 and the results ledger in that order (None)."""
    out: list[CellChange] = []
    for kind in RestatedTable if table is None else (table,):
        if kind is RestatedTable.RESULTS_LEDGER:
            out += preview_results_ledger(read, state, fiscal_year).changes
        else:
            out += preview_table(read, state, fiscal_year, AnnexKind(kind.value)).changes
    return out
