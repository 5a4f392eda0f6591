"""The core indicator library (核心绩效指标库): the finance bureau's versioned catalogue of
indicators by sector, which goal indicators cite by code (docs/domain.md §2).

One aggregate holds the whole library, so the library as of any moment is this aggregate at
the version it then had; each entry keeps its revision number, and adding, revising and
retiring an entry are events.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, Meta, stable_id
from ledger.domain.goal_records import LibraryIndicator
from ledger.domain.records import Correction
from ledger.errors import RuleViolation

LIBRARY_ID = stable_id("indicator-library", "library")
ENTRY_FIELDS = ("code", "sector", "level1", "level2", "name", "unit", "direction",
                "reference_value")


class IndicatorLibrary(LedgerAggregate):
    @staticmethod
    def create_id(**_: Any) -> UUID:
        return LIBRARY_ID

    @event("Opened")
    def __init__(self, meta: Meta) -> None:
        self.entries: dict[str, LibraryIndicator] = {}
        self.corrections: list[Correction] = []

    def entry(self, code: str, field: str) -> LibraryIndicator:
        found = self.entries.get(code)
        if found is None:
            raise RuleViolation("LIBRARY_INDICATOR_NOT_FOUND",
                                f"no indicator {code!r} in the indicator library", field=field,
                                rule="a library code names an indicator of the library")
        return found

    def add(self, entry: dict[str, Any], meta: Meta) -> None:
        if entry["code"] in self.entries:
            raise RuleViolation("LIBRARY_INDICATOR_EXISTS",
                                f"indicator {entry['code']!r} is already in the library; "
                                "revise it instead", field="code",
                                rule="library codes are unique")
        self._added(entry=entry, meta=meta)

    @event("IndicatorAdded")
    def _added(self, entry: dict[str, Any], meta: Meta) -> None:
        self.entries[str(entry["code"])] = LibraryIndicator.of(entry, revision=1)

    def revise(self, entry: dict[str, Any], reason: str, meta: Meta) -> None:
        current = self.entry(str(entry["code"]), "code")
        if current.status == "retired":
            raise RuleViolation("LIBRARY_INDICATOR_RETIRED",
                                f"indicator {current.code!r} ({current.name}) is retired",
                                field="code", rule="a retired indicator is not revised")
        self._revised(entry=entry, reason=reason, meta=meta)

    @event("IndicatorRevised")
    def _revised(self, entry: dict[str, Any], reason: str, meta: Meta) -> None:
        code = str(entry["code"])
        self.entries[code] = LibraryIndicator.of(
            entry, revision=self.entries[code].revision + 1, note=reason)

    def retire(self, code: str, reason: str, meta: Meta) -> None:
        current = self.entry(code, "code")
        if current.status == "retired":
            raise RuleViolation("LIBRARY_INDICATOR_RETIRED",
                                f"indicator {code!r} ({current.name}) is already retired",
                                field="code", rule="retirement happens once")
        self._retired(code=code, reason=reason, meta=meta)

    @event("IndicatorRetired")
    def _retired(self, code: str, reason: str, meta: Meta) -> None:
        current = self.entries[code]
        self.entries[code] = replace(current, status="retired", revision=current.revision + 1,
                                     note=reason)
