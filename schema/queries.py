"""The query root: pick a moment once (`ledger`), read everything under it consistently.

Every field under `ledger` reads the same Moment, so an answer never mixes two states of the
log. The root also reports to the context whether the answer is pinned to a past position
(and so can be cached forever) or can still change.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import strawberry

from ledger import annex
from ledger.application import Ledger
from ledger.errors import DomainError
from ledger.grades import Grade as LedgerGrade
from ledger.log import read_log
from projections import values
from projections import visibility as seen
from projections.fiscal_year import fiscal_year_cycle
from projections.goal_views import indicator_library
from projections.stops import ViewStopped
from projections.views import ReadModel
from schema.context import Information, services
from schema.errors import PublicError
from schema.fields import field
from schema.goal_table import LibraryIndicator
from schema.monitoring import MonitoringFields
from schema.paging import check_page
from schema.preview import PreviewFields
from schema.proofs import ProofFields
from schema.review import ReviewFields
from schema.rollup import RollupFields
from schema.subject import Subject
from schema.types import (
    AnnexKind,
    Audience,
    AuditConnection,
    Coverage,
    DisclosurePackage,
    EvaluationTable,
    FiscalYearCycle,
    Grade,
    LogConnection,
    LogEdge,
    LogEvent,
    PageInfo,
    Restatement,
    ResultsLedger,
    SubjectConnection,
)

WAIT_SECONDS = 5.0


@strawberry.type(name="Ledger", description="The ledger as of one moment. `position` is the last "
                 "event this answer includes; every field below reads exactly that state.")
class LedgerView(MonitoringFields, ProofFields, ReviewFields, PreviewFields):
    moment: strawberry.Private[values.Moment]
    # What the caller may read as of `moment` (projections.visibility: the one rule).
    vis: strawberry.Private[seen.Visibility]
    # The views this answer reads: ours, a standby's, or another region's.
    read: strawberry.Private[ReadModel]

    @field(description="The last event position this answer includes.")
    def position(self) -> int:
        return self.moment.position

    @field(description="When the event at `position` was recorded.")
    def recorded_at(self) -> datetime | None:
        return self.moment.recorded_at

    @field(description="Business-date filter: facts effective after it are hidden.")
    def effective_on(self) -> date | None:
        return self.moment.effective_on

    @field(description="附件1 (KEY_PROJECTS) or 附件2 (DEPARTMENT_OVERALL).")
    async def evaluation_table(self, info: Information, fiscal_year: int,
                               table: AnnexKind) -> EvaluationTable:
        found = await services(info).run(seen.table, self.read, self.vis,
                                         self.moment, fiscal_year, annex.AnnexKind(table.value))
        return found

    @field(description="结果应用台账: each consequence of the year's results (basis → rule → "
           "effect → amount), totals, and next year's requests against arranged amounts.")
    async def results_ledger(self, info: Information, fiscal_year: int) -> ResultsLedger:
        found = await services(info).run(seen.results_ledger, self.read, self.vis,
                                         self.moment, fiscal_year)
        return found

    @field(description="A fiscal year's cycle (绩效管理年度): when it was opened, and its "
           "closing with the signed checkpoint it cites (origin, size, root, note) or why "
           "none; null if not opened by this moment.")
    async def fiscal_year_cycle(self, info: Information,
                                fiscal_year: int) -> FiscalYearCycle | None:
        found = await services(info).run(fiscal_year_cycle, self.read, self.moment,
                                         fiscal_year)
        return found

    @field(description="Coverage of goals, monitoring, self-evaluation, spot checks.")
    async def coverage(self, info: Information, fiscal_year: int) -> Coverage:
        found = await services(info).run(seen.coverage, self.read, self.vis,
                                         self.moment, fiscal_year)
        return Coverage.of(found)

    @field(description="Subjects in registration order, filtered, keyset-paginated.")
    async def subjects(self, info: Information, fiscal_year: int | None = None,
                       unit_code: str | None = None, grade: Grade | None = None,
                       first: int = 50, after: str | None = None) -> SubjectConnection:
        first = check_page(first, after)
        page = await services(info).run(
            seen.subjects, self.read, self.vis, self.moment,
            fiscal_year=fiscal_year,
            unit_code=unit_code, grade=None if grade is None else LedgerGrade(grade.value),
            first=first, after=after)
        return SubjectConnection.of(page)

    @field(description="One subject and its whole lifecycle; null if unknown then.")
    async def subject(self, info: Information, code: str) -> Subject | None:
        found = await services(info).run(seen.subject, self.read, self.vis,
                                         self.moment, code)
        return None if found is None else Subject.of(self.moment, found, self.read, self.vis)

    @field(description="The core indicator library (核心指标库) as of this moment, by sector "
                      "(行业/领域) then code; retired entries only with includeRetired.")
    async def indicator_library(self, info: Information, sector: str | None = None,
                                include_retired: bool = False) -> list[LibraryIndicator]:
        found = await services(info).run(indicator_library, self.read, self.moment,
                                         sector=sector, include_retired=include_retired)
        return found

    @field(description="Who did what, in log order, up to this moment.")
    async def audit_trail(self, info: Information, subject_code: str | None = None,
                          unit_code: str | None = None, first: int = 50,
                          after: str | None = None) -> AuditConnection:
        first = check_page(first, after)
        await services(info).run(allowed, seen.check_audit, self.read,
                                 self.vis, self.moment, subject_code, unit_code)
        page = await services(info).run(self.read.audit_trail, self.moment,
                                        subject_code=subject_code, unit_code=unit_code,
                                        first=first, after=after)
        shown = await services(info).run(seen.shown_actors, self.read, self.vis, page.items)
        return AuditConnection.of(replace(page, items=shown))

    @field(description="What was disclosed to an audience for a fiscal year.")
    async def disclosure(self, info: Information, fiscal_year: int,
                         audience: Audience) -> DisclosurePackage:
        allowed(seen.check_audience, self.vis, audience.value)
        found = await services(info).run(self.read.disclosure, self.moment,
                                         fiscal_year, audience.value)
        return DisclosurePackage.of(found)

    @field(description="Cells of an annex table that changed between `since` (a time "
                      "or a position) and this moment, with the corrections responsible.")
    async def restatements(self, info: Information, fiscal_year: int, table: AnnexKind,
                           since: datetime | None = None,
                           since_position: int | None = None) -> list[Restatement]:
        if (since is None) == (since_position is None):
            raise PublicError("give exactly one of since and sincePosition", code="BAD_MOMENT")
        if since_position is not None and since_position < 0:
            raise PublicError("sincePosition must not be negative", code="BAD_MOMENT")
        if since is not None and since > datetime.now(UTC):
            info.context.mark(False)  # a future time resolves to "now", which moves
        rm = self.read
        start = await services(info).run(rm.resolve, position=since_position, as_of=since)
        found = await services(info).run(rm.restatements, fiscal_year,
                                         annex.AnnexKind(table.value), start, self.moment)
        ids = await services(info).run(seen.visible_ids, rm, self.vis, self.moment, fiscal_year)
        found = [replace(r, corrections=await services(info).run(
            seen.shown_actors, rm, self.vis, r.corrections))
            for r in found if self.vis.everything or r.subject_id in ids]
        return [Restatement.of(r) for r in found]


def reach(ledger: Ledger, read: ReadModel, wanted: int, timeout: float) -> None:
    """Make sure the views include `wanted` (read-your-writes), or say why they cannot."""
    if read.has(wanted):
        return
    newest = int(ledger.recorder.max_notification_id() or 0)
    if wanted > newest:
        raise PublicError(f"position {wanted} is beyond the ledger's last position {newest}",
                          code="POSITION_NOT_REACHED")
    try:
        read.wait_for(wanted, timeout)
    except TimeoutError:
        raise PublicError(f"position {wanted} was not projected within {timeout:g}s; retry",
                          code="NOT_YET_PROJECTED") from None
    except ViewStopped as stop:
        raise PublicError(f"position {wanted} is not available: the views stopped before the "
                          f"event at position {stop.position}, which they cannot project; "
                          f"answers stand at position {stop.position - 1} until it is "
                          "resolved (/readyz)", code="VIEW_STOPPED") from None


async def resolve_ledger(info: Information, position: int | None, as_of: datetime | None,
                         effective_on: date | None, min_position: int | None,
                         region: str | None = None) -> LedgerView:
    for name, value in (("position", position), ("minPosition", min_position)):
        if value is not None and value < 0:
            raise PublicError(f"{name} must not be negative", code="BAD_MOMENT")
    svc = services(info)
    wanted = max(p for p in (position, min_position, 0) if p is not None)
    if region is not None:
        try:
            ledger, read = await svc.run(svc.region, region)
        except DomainError as exc:
            raise PublicError(exc.message, code=exc.code) from None
    else:
        ledger = svc.ledger
        read = await svc.run(svc.reader, wanted or None, WAIT_SECONDS)
    if wanted > 0:  # an explicit position is read-your-writes too: never answer earlier
        await svc.run(reach, ledger, read, wanted, WAIT_SECONDS)
    actor = info.context.actor
    # "Now" on our own views is a position: the one this request resolved it to (the app
    # looked its answer up there), unless the caller waits for a later one.
    live = position is None and as_of is None and region is None and svc.replicas is None
    now = info.context.now
    at = now if live and now is not None and now >= wanted else position

    def moment_and_visibility() -> tuple[values.Moment, seen.Visibility]:
        """One trip to the thread pool for both: each trip costs more than either call."""
        moment = read.resolve(position=at, as_of=as_of, effective_on=effective_on)
        return moment, seen.visibility(read, actor, moment)

    try:
        moment, vis = await svc.run(moment_and_visibility)
    except ValueError as exc:
        raise PublicError(str(exc), code="BAD_MOMENT") from None
    # Pinned: an explicit position, reached above, so the answer is exactly that position
    # forever. Times are not pinned: a time can still be ahead of the last event.
    if live:
        info.context.mark_live(moment.position)
    else:
        info.context.mark(position is not None and as_of is None and moment.position == position)
    return LedgerView(moment=moment, vis=vis, read=read)


def allowed(check: Callable[..., None], *args: Any) -> None:
    """Run a visibility check; a refusal is the caller's business, not a server fault."""
    try:
        check(*args)
    except seen.NotVisible as exc:
        raise PublicError(str(exc), code="FORBIDDEN") from None


@strawberry.type
class Query(RollupFields):
    @field(description="The ledger at one moment: `position`, or `asOf` (a time with "
                      "a timezone), or now; `effectiveOn` keeps only facts effective by that "
                      "date; `minPosition` waits until that position is projected; `region` "
                      "(an administrative division code, e.g. 340603) reads that region's "
                      "own ledger instead of this one.")
    async def ledger(self, info: Information, position: int | None = None,
                     as_of: datetime | None = None, effective_on: date | None = None,
                     min_position: int | None = None,
                     region: str | None = None) -> LedgerView:
        return await resolve_ledger(info, position, as_of, effective_on, min_position, region)

    @field(description="The raw event log after a position, in order (keyset "
                      "pagination by position; positions can have gaps).")
    async def events(self, info: Information, after: int = 0, first: int = 100) -> LogConnection:
        first = check_page(first, None)
        if after < 0:
            raise PublicError("after must not be negative", code="BAD_CURSOR")
        info.context.mark(False)
        if info.context.actor.role not in seen.READ_ALL:
            raise PublicError("the raw event log needs a finance_bureau or auditor token",
                              code="FORBIDDEN")
        ledger = services(info).ledger

        def page() -> list[LogEvent]:
            return [LogEvent.of(r) for r in itertools.islice(
                read_log(ledger, start=after + 1, batch=first + 1), first + 1)]

        found = await services(info).run(page)
        items = found[:first]
        return LogConnection(
            edges=[LogEdge(cursor=str(e.position), node=e) for e in items],
            page_info=PageInfo(has_next_page=len(found) > first,
                               end_cursor=str(items[-1].position) if items else str(after)))
