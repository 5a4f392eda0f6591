"""GraphQL for the spot-check review and the evaluation frameworks: the review result table
(复评结果), the sampling plans, and the frameworks in force, all as of the enclosing moment.

`ReviewFields` is a base of the `Ledger` type (schema/queries.py), so its fields sit beside
the annex tables and read the same moment and visibility.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import strawberry

from ledger.domain import review_records
from ledger.frameworks import Framework as LedgerFramework
from projections import review as rv
from projections import values
from projections import visibility as seen
from projections.views import ReadModel
from schema.context import Information, services
from schema.fields import field
from schema.records import record_type

if TYPE_CHECKING:
    from projections.review import ReviewResults, SamplingPlanRecord
else:
    record_type(review_records.IndicatorReview, derived={"difference": Decimal | None})
    SamplingPlanRecord = record_type(rv.SamplingPlanRecord, name="SamplingPlan")
    record_type(rv.ReviewResultRow, derived={"review_grade_label": str})
    ReviewResults = record_type(rv.ReviewResults)


@strawberry.type(description="A first-level dimension of a framework and its points.")
class FrameworkDimension:
    name: str
    points: Decimal


@strawberry.type(description="An evaluation framework (评价框架): a named, versioned set of "
                 "first-level dimensions with points summing to 100.")
class Framework:
    code: str
    version: int
    name: str
    dimensions: list[FrameworkDimension]
    minimum_dimensions: list[str] = strawberry.field(
        description="dimensions that together carry at least minimumPoints (项目: 产出+效益)")
    minimum_points: Decimal | None

    @classmethod
    def of(cls, f: LedgerFramework) -> Framework:
        return cls(code=f.code, version=f.version, name=f.name,
                   dimensions=[FrameworkDimension(name=d.name, points=d.points)
                               for d in f.dimensions],
                   minimum_dimensions=list(f.minimum.dimensions) if f.minimum else [],
                   minimum_points=f.minimum.points if f.minimum else None)


@strawberry.type
class ReviewFields:
    moment: strawberry.Private[values.Moment]
    vis: strawberry.Private[seen.Visibility]
    read: strawberry.Private[ReadModel]

    @field(description="复评结果: the finance bureau's spot-check re-reviews of a fiscal year, "
                      "each against the score it reviews, per subject and per indicator.")
    async def review_results(self, info: Information, fiscal_year: int) -> ReviewResults:
        found: ReviewResults = await services(info).run(seen.review, self.read, self.vis,
                                                        self.moment, fiscal_year)
        return found

    @field(description="The sampling plans (抽查复核计划) of a fiscal year: which subjects and "
                      "units were drawn, and how.")
    async def sampling_plans(self, info: Information,
                             fiscal_year: int) -> list[SamplingPlanRecord]:
        found = await services(info).run(seen.review, self.read, self.vis, self.moment,
                                         fiscal_year)
        return list(found.plans)

    @field(description="The evaluation frameworks of the rules in force on `on` (default: "
                      "the moment's effective date, else today), as the rule book stood then.")
    async def frameworks(self, info: Information, on: date | None = None) -> list[Framework]:
        day = on or self.moment.effective_on or date.today()
        found = await services(info).run(rv.frameworks_at, self.read, self.moment, day)
        return [Framework.of(f) for f in found]
