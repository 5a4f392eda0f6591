"""The grade vocabulary and the versioned 100-point grade scale.

The scale itself is data (a rule version); this module only says what a scale is
and how a score maps onto one.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator, model_validator


class Grade(StrEnum):
    """A performance grade; the value is the code used in the API."""

    EXCELLENT = "EXCELLENT"
    GOOD = "GOOD"
    FAIR = "FAIR"
    POOR = "POOR"

    @property
    def label(self) -> str:
        return GRADE_LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> Grade:
        for grade, text in GRADE_LABELS.items():
            if text == label.strip():
                return grade
        raise ValueError(f"not a grade label: {label!r} (expected 优/良/中/差)")

    @classmethod
    def parse(cls, value: str) -> Grade:
        """Accept a code (EXCELLENT) or a label (优)."""
        try:
            return cls(value.strip().upper())
        except ValueError:
            return cls.from_label(value)


GRADE_LABELS: dict[Grade, str] = {
    Grade.EXCELLENT: "优",
    Grade.GOOD: "良",
    Grade.FAIR: "中",
    Grade.POOR: "差",
}


class GradeBand(BaseModel):
    model_config = ConfigDict(frozen=True)

    grade: Grade
    lower: Decimal  # inclusive


class GradeScale(BaseModel):
    """Bands ordered from the highest lower bound down; the last band starts at 0."""

    model_config = ConfigDict(frozen=True)

    bands: tuple[GradeBand, ...]

    @field_validator("bands")
    @classmethod
    def _ordered(cls, bands: tuple[GradeBand, ...]) -> tuple[GradeBand, ...]:
        lowers = [b.lower for b in bands]
        if lowers != sorted(lowers, reverse=True) or len(set(lowers)) != len(lowers):
            raise ValueError("grade bands must have strictly descending lower bounds")
        return bands

    @model_validator(mode="after")
    def _covers_zero(self) -> GradeScale:
        if not self.bands or self.bands[-1].lower != 0:
            raise ValueError("the lowest grade band must start at 0")
        return self

    def grade_for(self, score: Decimal) -> Grade:
        if score < 0 or score > 100:
            raise ValueError("score must be within [0, 100]")
        for band in self.bands:
            if score >= band.lower:
                return band.grade
        raise AssertionError("unreachable: the scale covers 0")  # pragma: no cover


DEFAULT_GRADE_SCALE = GradeScale(
    bands=(
        GradeBand(grade=Grade.EXCELLENT, lower=Decimal(90)),
        GradeBand(grade=Grade.GOOD, lower=Decimal(80)),
        GradeBand(grade=Grade.FAIR, lower=Decimal(60)),
        GradeBand(grade=Grade.POOR, lower=Decimal(0)),
    )
)
