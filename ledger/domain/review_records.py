"""Records of the frameworks an evaluation is scored on and of the finance bureau's
spot-check review (抽查复核): its sampling plan and its per-indicator re-scores
(docs/domain.md, steps 5 and 6)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.domain.record_values import opt_decimal as _opt_decimal


@dataclass(frozen=True, slots=True)
class FrameworkRef:
    """The framework an evaluation is (to be) scored on: its code and version."""

    code: str
    version: int


@dataclass(frozen=True, slots=True)
class IndicatorReview:
    """The reviewer's score of one indicator (复核得分) against the 得分 it reviews."""

    name: str
    score: Decimal
    reviewed_score: Decimal | None  # the self-evaluation's 得分 when reviewed; None: unknown
    remarks: str

    @property
    def difference(self) -> Decimal | None:
        """复核得分 − 自评得分."""
        return None if self.reviewed_score is None else self.score - self.reviewed_score

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> IndicatorReview:
        return cls(name=str(d["name"]), score=Decimal(str(d["score"])),
                   reviewed_score=_opt_decimal(d.get("reviewed_score")),
                   remarks=str(d.get("remarks") or ""))


@dataclass(frozen=True, slots=True)
class SampledSubject:
    """One subject a sampling plan drew, its unit, and why (重点抽取's reason)."""

    subject_code: str
    unit_code: str
    reason: str

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> SampledSubject:
        return cls(subject_code=str(d["subject_code"]), unit_code=str(d["unit_code"]),
                   reason=str(d.get("reason") or ""))
