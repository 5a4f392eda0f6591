"""The provincial roll-up: every region's annex table and coverage, side by side.

Regions are separate ledgers with separate positions, so there is no one province-wide
position: each part states the position (and, where the integrity module offers one, the
signed checkpoint) of the region it comes from. Regions are read in parallel (they may live
on different servers), and a region that cannot be read is reported, not silently dropped.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from ledger.annex import AnnexKind, AnnexTable
from ledger.application import Ledger
from ledger.store import Database
from projections.coverage import coverage_of
from projections.rows import SubjectRow
from projections.values import Coverage, Moment
from projections.views import ReadModel


class RoutedRegion(Protocol):
    """A routed region, as a roll-up names it."""

    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def server(self) -> str: ...


class OpenedRegion(Protocol):
    """A region's storage, ledger and views, opened."""

    @property
    def db(self) -> Database: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def read(self) -> ReadModel: ...


class RegionSource(Protocol):
    """What the read side needs of the regions' routing table. The registry itself needs a
    ReadModel per region, so it lives above this layer (jixiao.regions.RegionRegistry) and
    is handed in."""

    def regions(self) -> Sequence[RoutedRegion]: ...

    def get(self, code: str) -> OpenedRegion: ...

    def evict(self, code: str) -> None: ...

    def close(self) -> None: ...


CheckpointLookup = Callable[[Database], Any]
"""The latest signed checkpoint of a region's log (None when it has none yet)."""


def integrity_checkpoints() -> CheckpointLookup | None:
    """`ledger.integrity.service.latest_checkpoint(db)`, if the integrity module offers it."""
    try:
        module = importlib.import_module("ledger.integrity.service")
    except ImportError:
        return None
    found = getattr(module, "latest_checkpoint", None)
    return found if callable(found) else None


@dataclass(frozen=True)
class RegionPart:
    code: str
    name: str
    server: str
    moment: Moment  # this region's position (and its recorded time)
    table: AnnexTable
    coverage: Coverage
    checkpoint: Any = None  # ledger.integrity.service.CheckpointInfo, when there is one

    @property
    def position(self) -> int:
        return self.moment.position


@dataclass(frozen=True)
class RegionFailure:
    code: str
    name: str
    error: str


@dataclass(frozen=True)
class ProvincialRollup:
    fiscal_year: int
    kind: AnnexKind
    parts: tuple[RegionPart, ...]
    failures: tuple[RegionFailure, ...]
    coverage: Coverage  # over every row of every part (units counted per region)

    @property
    def complete(self) -> bool:
        return not self.failures

    @property
    def positions(self) -> dict[str, int]:
        """The token of this answer: one position per region."""
        return {p.code: p.position for p in self.parts}

    @property
    def total_funds(self) -> Decimal:
        return sum((p.table.total_funds for p in self.parts), Decimal("0.00"))

    @property
    def rows(self) -> int:
        return sum(len(p.table.rows) for p in self.parts)


class RollupQuery:
    """Runs roll-ups over the routed regions with a fixed set of threads.

    Each region is always read by the same thread, so a roll-up adds at most one read
    connection per region however often it runs (a ReadModel keeps one per thread).
    """

    def __init__(self, registry: RegionSource, *, workers: int = 8,
                 checkpoint: CheckpointLookup | None = None) -> None:
        self.registry = registry
        self.checkpoint = checkpoint if checkpoint is not None else integrity_checkpoints()
        self.lanes = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"rollup-{i}")
                      for i in range(max(1, workers))]

    def close(self) -> None:
        for lane in self.lanes:
            lane.shutdown(wait=True, cancel_futures=True)

    def lane(self, code: str) -> ThreadPoolExecutor:
        return self.lanes[zlib.crc32(code.encode()) % len(self.lanes)]

    def run(self, fiscal_year: int, kind: AnnexKind, *, codes: Sequence[str] | None = None,
            as_of: datetime | None = None, effective_on: date | None = None,
            timeout: float = 60.0) -> ProvincialRollup:
        """Every chosen region (default: all routed) as it stood at `as_of` (default: now)."""
        regions = self.registry.regions()
        if codes is not None:
            wanted = set(codes)
            known = {r.code for r in regions}
            regions = [r for r in regions if r.code in wanted]
            missing = sorted(wanted - known)
        else:
            missing = []
        jobs: list[tuple[RoutedRegion, Future[tuple[RegionPart, list[SubjectRow]]]]] = [
            (r, self.lane(r.code).submit(self._part, r, fiscal_year, kind, as_of, effective_on))
            for r in regions]
        parts: list[RegionPart] = []
        rows: list[SubjectRow] = []
        failures = [RegionFailure(code, "", "not in the routing table") for code in missing]
        for region, job in jobs:
            try:
                part, region_rows = job.result(timeout=timeout)
            except FutureTimeout:
                failures.append(RegionFailure(region.code, region.name,
                                              f"no answer within {timeout}s"))
                continue
            except Exception as exc:
                self.registry.evict(region.code)  # reconnect next time (server restarted?)
                failures.append(RegionFailure(region.code, region.name,
                                              f"{type(exc).__name__}: {exc}".splitlines()[0]))
                continue
            parts.append(part)
            rows.extend(region_rows)
        return ProvincialRollup(fiscal_year=fiscal_year, kind=kind, parts=tuple(parts),
                                failures=tuple(failures),
                                coverage=coverage_of(fiscal_year, rows))

    def _part(self, region: RoutedRegion, fiscal_year: int, kind: AnnexKind,
              as_of: datetime | None, effective_on: date | None
              ) -> tuple[RegionPart, list[SubjectRow]]:
        opened = self.registry.get(region.code)
        db, read = opened.db, opened.read
        moment = read.resolve(as_of=as_of, effective_on=effective_on)
        year_rows = read.year_rows(moment, fiscal_year)
        part = RegionPart(code=region.code, name=region.name, server=region.server,
                          moment=moment, table=read.evaluation_table(moment, fiscal_year, kind),
                          coverage=coverage_of(fiscal_year, year_rows),
                          checkpoint=self.checkpoint(db) if self.checkpoint else None)
        # Unit codes are only unique within a region: qualify them for the provincial count.
        return part, [r._replace(unit_code=f"{region.code}/{r.unit_code}") for r in year_rows]
