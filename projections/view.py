"""What the projector asks of a view: rows derived from a batch of events, stored later.

Deriving and storing are separate so that a long catch-up can derive one batch while the
previous one is being stored (projections.projector.Runner).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

Write = Callable[[Any], None]  # stores derived rows on a connection, inside the batch's transaction


class View(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def tables(self) -> tuple[str, ...]: ...

    @property
    def reads(self) -> Literal["records", "entries"]:
        """Domain events (LogRecord), or the stored JSON as parsed (LogEntry, cheaper)."""

    def derive(self, records: list[Any], conn: Any) -> Write:
        """The rows these records (LogRecord or LogEntry, as `reads` says) make. Reads, if any,
        go through `conn`; no writes."""

    def forget(self) -> None:
        """Drop in-memory state (after a rollback or a reset)."""
