"""The provincial roll-up: each region's annex table, stating that region's position and
signed checkpoint (regions have separate logs, so there is no single position)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from ledger import annex
from projections import visibility as seen
from projections.rollup import ProvincialRollup, RegionPart
from schema.context import Information, services
from schema.errors import PublicError
from schema.fields import field
from schema.types import AnnexKind, EvaluationTable


@strawberry.type(description="One region's part of a roll-up, pinned to its own position.")
class RegionTable:
    region: str
    name: str
    position: int
    recorded_at: datetime | None
    checkpoint_size: int | None
    checkpoint_root: str | None
    evaluation_table: EvaluationTable

    @classmethod
    def of(cls, part: RegionPart) -> RegionTable:
        checkpoint = part.checkpoint
        return cls(region=part.code, name=part.name, position=part.position,
                   recorded_at=part.moment.recorded_at,
                   checkpoint_size=None if checkpoint is None else int(checkpoint.size),
                   checkpoint_root=None if checkpoint is None else str(checkpoint.root),
                   evaluation_table=part.table)


@strawberry.type(description="A region that could not be read; the roll-up says so.")
class RegionFailure:
    region: str
    name: str
    error: str


@strawberry.type(description="Evaluation tables across regions.")
class Rollup:
    fiscal_year: int
    parts: list[RegionTable]
    failures: list[RegionFailure]
    complete: bool
    total_funds: Decimal

    @classmethod
    def of(cls, found: ProvincialRollup) -> Rollup:
        return cls(fiscal_year=found.fiscal_year, parts=[RegionTable.of(p) for p in found.parts],
                   failures=[RegionFailure(region=f.code, name=f.name, error=f.error)
                             for f in found.failures],
                   complete=found.complete, total_funds=found.total_funds)


@strawberry.type
class RollupFields:
    @field(description="附件1 or 附件2 of a fiscal year across regions (default: every routed "
                      "region), each part at its region's position as of `asOf` (default now).")
    async def rollup(self, info: Information, fiscal_year: int, table: AnnexKind,
                     regions: list[str] | None = None,
                     as_of: datetime | None = None) -> Rollup:
        info.context.mark(False)
        if info.context.actor.role not in seen.READ_ALL:
            raise PublicError("the provincial roll-up needs a finance_bureau or auditor token",
                              code="FORBIDDEN")
        if as_of is not None and as_of.tzinfo is None:
            raise PublicError("asOf needs a timezone", code="BAD_MOMENT")
        svc = services(info)
        found = await svc.run(svc.rollup().run, fiscal_year, annex.AnnexKind(table.value),
                              codes=regions, as_of=as_of)
        return Rollup.of(found)
