"""Consequence rules (结果应用规则): what a grade or a warning leads to in next year's budget.

Rule data, adopted with the rule set like the grade scale (docs/domain.md): per grade the
consequence it calls for, its wording, the share a reduction takes, and the effects that
would contradict it (取消 on 优). A contradicting consequence needs the finance bureau's
override with a reason. 收回 (idle funds) and 转移支付挂钩 rest on no grade and are always open.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger.grades import Grade
from ledger.text import DecimalText

EFFECTS = ("priority", "continue", "reduce", "cancel", "suspend", "recover", "transfer_link")
EFFECT_LABELS = {"priority": "优先安排", "continue": "维持", "reduce": "核减",
                 "cancel": "取消", "suspend": "暂停", "recover": "收回",
                 "transfer_link": "与转移支付挂钩"}
UNCONDITIONAL = ("recover", "transfer_link")


class GradeConsequence(BaseModel):
    model_config = ConfigDict(frozen=True)

    effect: str
    wording: str
    reduce_percent: DecimalText | None = None
    contradicts: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known(self) -> GradeConsequence:
        unknown = {self.effect, *self.contradicts} - set(EFFECTS)
        if unknown:
            raise ValueError(f"unknown effects: {', '.join(sorted(unknown))}")
        if self.effect in self.contradicts:
            raise ValueError("a grade's consequence cannot contradict itself")
        return self


class ConsequenceRules(BaseModel):
    """Keyed by grade code (Grade.value); `warning` is for monitoring-warning bases."""

    model_config = ConfigDict(frozen=True)

    by_grade: dict[str, GradeConsequence] = Field(default_factory=lambda: {
        Grade.EXCELLENT.value: GradeConsequence(
            effect="priority", wording="优先安排",
            contradicts=("reduce", "cancel", "suspend")),
        Grade.GOOD.value: GradeConsequence(effect="continue", wording="维持",
                                           contradicts=("cancel",)),
        Grade.FAIR.value: GradeConsequence(effect="reduce", wording="核减",
                                           reduce_percent=Decimal("10"),
                                           contradicts=("priority",)),
        Grade.POOR.value: GradeConsequence(effect="cancel", wording="取消或暂停",
                                           contradicts=("priority", "continue")),
    })
    warning: GradeConsequence = GradeConsequence(
        effect="suspend", wording="预警后暂停或核减", reduce_percent=Decimal("10"),
        contradicts=("priority",))

    @model_validator(mode="after")
    def _every_grade(self) -> ConsequenceRules:
        missing = {g.value for g in Grade} - set(self.by_grade)
        if missing:
            raise ValueError(f"consequence rules name every grade; missing {sorted(missing)}")
        return self

    def for_basis(self, grade: Grade | None, warning: bool) -> GradeConsequence | None:
        if warning:
            return self.warning
        return None if grade is None else self.by_grade[grade.value]


DEFAULT_CONSEQUENCES = ConsequenceRules()
