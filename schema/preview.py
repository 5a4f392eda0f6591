"""`ledger { preview(commands: [...]) { ... } }`: what recording commands would change.

The finance bureau previews a correction, a rule change, a grade or a consequence before it
records them: the commands are decided against the ledger as of the enclosing moment, in
memory, and nothing is appended (docs/domain.md#what-if-preview). A refusal is the command's
own typed refusal, its field prefixed `commands.<index>`; every other role is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union, cast

import strawberry

from ledger import annex
from ledger.errors import DomainError
from ledger.preview import PREVIEWABLE
from projections import preview as pv
from projections import values
from projections.views import ReadModel
from schema.context import Information, services
from schema.errors import ERROR_TYPES, PublicError, to_refusal
from schema.fields import field
from schema.inputs import camel_title, command_model, input_for, to_data, unset
from schema.mutations import DESCRIPTIONS
from schema.records import record_type
from schema.types import AnnexKind  # and the EvaluationTable, ResultsLedger reused below


def _command_input() -> type:
    """One field per previewable command, typed by that command's mutation input."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations}
    for method in PREVIEWABLE:
        kind = input_for(command_model(method), name=f"{camel_title(method)}Input")
        annotations[method] = kind | None
        namespace[method] = strawberry.field(default=strawberry.UNSET,
                                             description=DESCRIPTIONS[method])
    cls = type("PreviewCommand", (), namespace)
    cls.__module__ = __name__
    made: type = strawberry.input(cls, name="PreviewCommand", description="One command to "
                                  "preview: set exactly one field, as its mutation's input.")
    return made


if TYPE_CHECKING:
    PreviewCommand = Any
else:
    PreviewCommand = _command_input()


strawberry.enum(values.RestatedTable, name="RestatedTable",
                description="The tables a change can be in: 附件1, 附件2, 结果应用台账.")
strawberry.enum(values.ChangedPart, name="ChangedPart",
                description="The part of a table a change is in.")
strawberry.enum(values.RowChange, name="RowChange",
                description="What happens to the row a changed cell is in.")


@strawberry.type(description="An event the commands would append (it has no position).")
class PendingEvent:
    aggregate_id: str
    version: int
    type: str


if TYPE_CHECKING:  # the checker sees the values the resolvers return
    CellChange = values.CellChange
    PreviewTable = pv.PreviewTable
    PreviewResultsLedger = pv.PreviewResultsLedger
else:  # GraphQL sees the types declared from them
    CellChange = record_type(
        values.CellChange, derived={"table_label": str}, descriptions={
            "table_label": "附件1, 附件2 or 结果应用台账",
            "key": "the row within its part: the subject id (annex), the consequence id "
                   "(results ledger), the request's or transfer's code; empty for a total",
            "subject_id": "the subject the row is about, or empty",
            "subject_name": "the row's name: the subject's, a request's project or a "
                            "transfer's programme when no subject, 合计 for a total",
            "field": "the record's field as named in Python (snake_case), e.g. funds, "
                     "amount, reduced_total",
            "before": "the cell's text at the moment (null: empty, or the row not listed)",
            "after": "the cell's text after the commands (null: empty, or the row not "
                     "listed)"})
    PreviewTable = record_type(pv.PreviewTable)
    PreviewResultsLedger = record_type(pv.PreviewResultsLedger)


@strawberry.type(name="LedgerPreview", description="The views as they would be if the "
                 "commands were recorded at this moment. Nothing was appended.")
class LedgerPreview:
    state: strawberry.Private[pv.PreviewState]
    read: strawberry.Private[ReadModel]

    @field(description="The position previewed from: the commands are decided as at it.")
    def position(self) -> int:
        return self.state.moment.position

    @field(description="The events recording the commands would append, by the record they "
                      "change, each in version order.")
    def pending_events(self) -> list[PendingEvent]:
        return [PendingEvent(aggregate_id=e.aggregate_id, version=e.version, type=e.type)
                for e in self.state.pending]

    @field(description="附件1 or 附件2 as it would be, with the cells that would change.")
    async def evaluation_table(self, info: Information, fiscal_year: int,
                               table: AnnexKind) -> PreviewTable:
        found = await services(info).run(pv.preview_table, self.read, self.state, fiscal_year,
                                         annex.AnnexKind(table.value))
        return found

    @field(description="结果应用台账 as it would be (`table`), as it is at this moment "
                      "(`before`), and the cells that would change: consequences added or "
                      "changed, next year's requests after consequences, and the totals.")
    async def results_ledger(self, info: Information, fiscal_year: int) -> PreviewResultsLedger:
        found = await services(info).run(pv.preview_results_ledger, self.read, self.state,
                                         fiscal_year)
        return found

    @field(description="The restatements recording the commands would make: the cells that "
                      "would differ from this moment's, each naming its table, in 附件1, 附件2 "
                      "and the results ledger in that order, or in `table` alone.")
    async def restatements(self, info: Information, fiscal_year: int,
                           table: values.RestatedTable | None = None) -> list[CellChange]:
        found = await services(info).run(pv.preview_changes, self.read, self.state,
                                         fiscal_year, table)
        return found


if TYPE_CHECKING:
    PreviewPayload = Any
else:  # the preview, or the refusal a command (or the caller's role) met
    PreviewPayload = Annotated[cast(Any, Union)[(LedgerPreview, *ERROR_TYPES)],
                               strawberry.union("PreviewPayload")]


def calls_of(commands: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    for index, command in enumerate(commands):
        given = [m for m in PREVIEWABLE if not unset(getattr(command, m))]
        if len(given) != 1:
            raise PublicError(f"commands.{index}: set exactly one of "
                              f"{', '.join(PREVIEWABLE)}", code="BAD_ARGUMENT")
        calls.append((given[0], to_data(getattr(command, given[0]))))
    return calls


@strawberry.type
class PreviewFields:
    """Mixed into `Ledger` (schema.queries.LedgerView), which supplies `moment` and `read`."""

    moment: strawberry.Private[values.Moment]
    read: strawberry.Private[ReadModel]

    @field(description="What-if (finance bureau only): decide the commands against the ledger "
                      "as of this moment, in memory, appending nothing, and read the views as "
                      "they would then be. A refusal names the command (`commands.<index>`).")
    async def preview(self, info: Information,
                      commands: list[PreviewCommand]) -> PreviewPayload:
        info.context.mark(False)  # the same commands can be refused later (rules, records)
        try:
            state = await services(info).run(pv.preview_state, self.read, self.moment,
                                             calls_of(commands), info.context.actor)
        except DomainError as exc:
            return to_refusal(exc)
        return LedgerPreview(state=state, read=self.read)
