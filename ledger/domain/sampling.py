"""A sampling plan (抽查复核计划): which subjects, of which units, the finance bureau drew for
its spot-check review, and how they were chosen (ledger.sampling)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, Meta, stable_id
from ledger.domain.records import Correction
from ledger.domain.review_records import SampledSubject
from ledger.sampling import METHOD_LABELS


class SamplingPlan(LedgerAggregate):
    @staticmethod
    def create_id(plan_id: str, **_: Any) -> UUID:
        return stable_id("sampling_plan", plan_id)

    @event("Drawn")
    def __init__(self, plan_id: str, fiscal_year: int, title: str, method: str, seed: str | None,
                 population: list[str], subjects: list[dict[str, Any]], meta: Meta) -> None:
        self.plan_id = plan_id
        self.fiscal_year = fiscal_year
        self.title = title
        self.method = method
        self.seed = seed
        self.population = tuple(population)
        self.subjects = tuple(map(SampledSubject.of, subjects))
        self.drawn_on = meta.effective_on
        self.corrections: list[Correction] = []

    @property
    def method_label(self) -> str:
        return METHOD_LABELS.get(self.method, self.method)

    def includes(self, subject_code: str) -> bool:
        return any(s.subject_code == subject_code for s in self.subjects)

    @property
    def unit_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.unit_code for s in self.subjects))
