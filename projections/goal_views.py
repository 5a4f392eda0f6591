"""The indicator library (核心指标库) as of a moment: the library aggregate at the version it
had then, as projections.views reads a subject (docs/domain.md §2)."""

from __future__ import annotations

from ledger.domain.goal_records import LibraryIndicator
from ledger.domain.indicator_library import LIBRARY_ID, IndicatorLibrary
from projections.values import Moment
from projections.views import ReadModel


def indicator_library(read: ReadModel, moment: Moment, *, sector: str | None = None,
                      include_retired: bool = False) -> list[LibraryIndicator]:
    """The entries as of `moment`, by sector then code; retired ones only when asked."""
    found = read.rows("SELECT MAX(version) FROM event_index WHERE aggregate_id = ? AND "
                      "position <= ?", (str(LIBRARY_ID), moment.position))
    if not found or found[0][0] is None:
        return []
    library = read.ledger.load(LIBRARY_ID, version=int(found[0][0]))
    assert isinstance(library, IndicatorLibrary)
    return sorted((e for e in library.entries.values()
                   if (sector is None or e.sector == sector)
                   and (include_retired or e.status == "active")),
                  key=lambda e: (e.sector, e.code))
