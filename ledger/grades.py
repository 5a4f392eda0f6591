"""The grade vocabulary and the versioned 100-point grade scale.

The scale itself is data (a rule version); this module only says what a scale is
and how a score maps onto one. Everything else takes grades from here: the commands, the
GraphQL enum (schema.types wraps Grade itself), the importer and the portal (through
/portal/info.json).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ledger.text import DecimalText


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
        raise ValueError(f"not a grade label: {label!r} (expected {LABELS_TEXT})")

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
LABELS_TEXT = "/".join(GRADE_LABELS.values())  # 优/良/中/差, for messages and help

# The grades' names in English, for pages offered in both languages (the portal).
GRADE_NAMES_EN: dict[Grade, str] = {
    Grade.EXCELLENT: "Excellent",
    Grade.GOOD: "Good",
    Grade.FAIR: "Fair",
    Grade.POOR: "Poor",
}


class GradeBand(BaseModel):
    model_config = ConfigDict(frozen=True)

    grade: Grade
    lower: DecimalText  # inclusive


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

    def describe(self) -> str:
        """The bands in words, e.g. 优 [90,100], 良 [80,90), 中 [60,80), 差 [0,60)."""
        uppers = ["100]", *(f"{_number(b.lower)})" for b in self.bands[:-1])]
        return ", ".join(f"{b.grade.label} [{_number(b.lower)},{upper}"
                         for b, upper in zip(self.bands, uppers, strict=True))


def _number(value: Decimal) -> str:
    """A bound as people write it: 90, 85.5."""
    return format(value.normalize(), "f")


DEFAULT_GRADE_SCALE = GradeScale(
    bands=(
        GradeBand(grade=Grade.EXCELLENT, lower=Decimal(90)),
        GradeBand(grade=Grade.GOOD, lower=Decimal(80)),
        GradeBand(grade=Grade.FAIR, lower=Decimal(60)),
        GradeBand(grade=Grade.POOR, lower=Decimal(0)),
    )
)
