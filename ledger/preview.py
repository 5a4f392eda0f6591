"""What-if (docs/domain.md#what-if-preview): commands decided as at a moment, never saved.

A preview is a batch that is never saved: each command runs through the same command path
(role, scope, input and every rule, the same typed refusals), later commands see what earlier
ones decided, and the changed aggregates come back with their pending events instead of
being appended. Loads are pinned to the moment's position, so a preview "as at position P"
decides against the state at P; each load builds a fresh aggregate, so nothing stored or
cached is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from ledger.domain.registry import CommandRecord
from ledger.errors import DomainError, InvalidInput, NotFound
from ledger.permissions import check_preview
from ledger.runtime import Actor, Batch, LedgerBase

# The commands a preview decides: corrections, rule changes, and what follows from results.
PREVIEWABLE = ("correct_event", "adopt_rules", "assign_grade", "apply_result")


class Preview(Batch):
    """A batch pinned to a position (None: the newest state), whose end saves nothing."""

    def __init__(self, position: int | None) -> None:
        super().__init__(careful=True)  # a command id already used answers as it would
        self.position = position


class Previewing(LedgerBase):
    """The dry-run path every Ledger has (below the command mixins: it is no command)."""

    def decide_preview(self, calls: Sequence[tuple[str, dict[str, Any]]], actor: Actor,
                       position: int | None = None) -> list[Aggregate]:
        """The aggregates the commands would change, with their unsaved pending events.

        A refusal is the command's own typed error, its field prefixed `commands.<index>`.
        """
        check_preview(actor.role)
        if getattr(self._local, "batch", None) is not None:
            raise RuntimeError("a preview cannot run inside a batch")
        newest = int(self.recorder.max_notification_id() or 0)
        preview = Preview(None if position is None or position >= newest else position)
        self._local.batch = preview
        try:
            for index, (method, data) in enumerate(calls):
                if method not in PREVIEWABLE:
                    raise InvalidInput(f"commands.{index}: {method!r} cannot be previewed",
                                       field=f"commands.{index}",
                                       rule=f"previewable: {', '.join(PREVIEWABLE)}")
                try:
                    getattr(self, method)(data, actor)
                except DomainError as exc:
                    raise at_index(exc, index, method) from None
        finally:
            self._local.batch = None
        return [a for a in preview.aggregates.values()
                if not isinstance(a, CommandRecord) and a.pending_events]

    def _preview(self) -> Preview | None:
        found = getattr(self._local, "batch", None)
        return found if isinstance(found, Preview) else None

    def load(self, aggregate_id: UUID, version: int | None = None) -> Aggregate:
        preview = self._preview()
        if preview is None or version is not None:
            return super().load(aggregate_id, version)
        if aggregate_id in preview.aggregates:  # as an earlier command of the preview left it
            return preview.aggregates[aggregate_id]
        if preview.position is not None:
            version = self.version_at(aggregate_id, preview.position)
            if version is None:
                raise AggregateNotFoundError(aggregate_id)
        return super().load(aggregate_id, version)

    def event_at(self, position: int) -> tuple[UUID, int, str]:
        preview = self._preview()
        if preview is not None and preview.position is not None and position > preview.position:
            raise NotFound("event", str(position), field="position")
        return super().event_at(position)

    def version_at(self, aggregate_id: UUID, position: int) -> int | None:
        """The aggregate's version as at a log position (None: not yet recorded then)."""
        db = self.database
        if db.backend == "memory":
            found = [n.originator_version for n in self.recorder.select_notifications(
                start=1, limit=max(position, 1), stop=position)
                if n.originator_id == aggregate_id]
            return max(found, default=None)
        with self.recorder.datastore.transaction(commit=False) as curs:  # type: ignore[attr-defined]
            curs.execute(db.sql(f"SELECT MAX(originator_version) AS version FROM "
                                f"{db.events_table} WHERE originator_id=? AND "
                                f"{db.position_column} <= ?"),
                         (aggregate_id.hex if db.backend == "sqlite" else aggregate_id,
                          position))
            row = curs.fetchone()
        return None if row is None or row["version"] is None else int(row["version"])


def at_index(exc: DomainError, index: int, method: str) -> DomainError:
    """The refusal, saying which command of the preview it is about."""
    exc.field = f"commands.{index}.{exc.field}" if exc.field else f"commands.{index}"
    exc.message = f"command {index} ({method}): {exc.message}"
    exc.args = (exc.message,)
    return exc
