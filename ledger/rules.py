"""The versioned rule set: every place-specific number lives here as data.

A rule set is adopted as an event (see RuleBook); the defaults below are version 1,
the national defaults plus 相山区's own choices as stated in the 2022 report.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger.consequence_rules import DEFAULT_CONSEQUENCES, ConsequenceRules
from ledger.frameworks import DEFAULT_BY_KIND, DEFAULT_FRAMEWORKS, Framework
from ledger.grades import DEFAULT_GRADE_SCALE, GradeScale
from ledger.money import Money
from ledger.text import DecimalText

DEVIATION_CAUSES = ("经费保障", "制度保障", "人员保障", "硬件条件保障", "其他")


class MonitoringRule(BaseModel):
    """When a monitoring snapshot raises a deviation warning."""

    model_config = ConfigDict(frozen=True)

    default_window_end_month: int = Field(default=7, ge=1, le=12)  # national: 1–7月, in August
    # Execution expected by the end of the window: the straight-line share of the year
    # minus this tolerance, in percentage points.
    execution_tolerance_points: DecimalText = Decimal("10")
    # Goal progress and budget execution more than this many points apart: a warning.
    max_progress_gap_points: DecimalText = Decimal("10")
    # 偏差原因: the categories a snapshot may give for a deviation (the national monitoring
    # table's 经费保障 / 制度保障 / 人员保障 / 硬件条件保障 / 其他; docs/domain.md, step 3).
    deviation_causes: tuple[str, ...] = DEVIATION_CAUSES

    @model_validator(mode="after")
    def _causes_named(self) -> MonitoringRule:
        if not self.deviation_causes or len(set(self.deviation_causes)) != len(
                self.deviation_causes) or any(not c.strip() for c in self.deviation_causes):
            raise ValueError("deviation_causes: distinct, non-empty names, at least one")
        return self


QUALITATIVE_BANDS = ("达成", "部分达成", "未达成")


class SelfEvaluationWeights(BaseModel):
    """How the self-evaluation table (项目支出绩效自评表) is scored (docs/domain.md, 绩效自评).

    The level-1 weights share out 100 points; a ≥ indicator earns actual/target of its points,
    a ≤ one target/actual, both capped at its points; an = one earns all of them within the
    tolerance (percent of the target) and none outside it; a qualitative one earns its band's
    fraction. Each score is rounded by `rounding` to `places` decimals, and totals are sums of
    the rounded scores, so every figure in the table adds up as printed.
    """

    model_config = ConfigDict(frozen=True)

    budget_execution: DecimalText = Decimal("10")
    output: DecimalText = Decimal("50")
    outcome: DecimalText = Decimal("30")
    satisfaction: DecimalText = Decimal("10")
    qualitative_bands: dict[str, DecimalText] = Field(default_factory=lambda: {
        "达成": Decimal("1"), "部分达成": Decimal("0.6"), "未达成": Decimal("0")})
    equal_tolerance_percent: DecimalText = Decimal("0")
    rounding: Literal["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_DOWN"] = "ROUND_HALF_UP"
    places: int = Field(default=2, ge=0, le=4)

    @model_validator(mode="after")
    def _sums_to_100(self) -> SelfEvaluationWeights:
        total = self.budget_execution + self.output + self.outcome + self.satisfaction
        if total != 100:
            raise ValueError(f"self-evaluation weights must sum to 100, got {total}")
        if set(self.qualitative_bands) != set(QUALITATIVE_BANDS):
            raise ValueError(f"qualitative bands must be exactly {', '.join(QUALITATIVE_BANDS)}")
        if any(not 0 <= f <= 1 for f in self.qualitative_bands.values()):
            raise ValueError("a qualitative band's fraction lies between 0 and 1")
        if self.equal_tolerance_percent < 0:
            raise ValueError("the tolerance of an = indicator is not negative")
        return self

    def without_satisfaction(self) -> SelfEvaluationWeights:
        """No satisfaction indicator: its points go to 产出 and 效益 in proportion."""
        share = self.output + self.outcome
        extra_output = (self.satisfaction * self.output / share).quantize(Decimal("0.01"))
        return self.model_copy(update={
            "output": self.output + extra_output,
            "outcome": self.outcome + (self.satisfaction - extra_output),
            "satisfaction": Decimal(0)})

    def describe(self) -> str:
        """The scoring rule in one line, as the table and its exports name it."""
        bands = "/".join(f"{b} {self.qualitative_bands[b].normalize():f}"
                         for b in QUALITATIVE_BANDS)
        return (f"预算执行率 {self.budget_execution:f}, 产出 {self.output:f}, "
                f"效益 {self.outcome:f}, 满意度 {self.satisfaction:f}; ≥ 实际/目标, "
                f"≤ 目标/实际 (封顶); = 容差 {self.equal_tolerance_percent:f}%; "
                f"定性 {bands}; {self.rounding} {self.places} 位小数")


# 一级指标 -> the 二级指标 allowed under it. The common local layout keeps 成本 under 产出;
# later national guidance makes 成本 a level 1 of its own (see COST_AS_LEVEL1).
COMMON_INDICATOR_LEVELS: dict[str, tuple[str, ...]] = {
    "产出": ("数量", "质量", "时效", "成本"),
    "效益": ("经济效益", "社会效益", "生态效益", "可持续影响"),
    "满意度": ("服务对象满意度",),
}
COST_AS_LEVEL1: dict[str, tuple[str, ...]] = {
    "产出": ("数量", "质量", "时效"),
    "成本": ("经济成本", "社会成本", "生态环境成本"),
    "效益": ("经济效益", "社会效益", "生态效益", "可持续影响"),
    "满意度": ("服务对象满意度",),
}


class RuleSet(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = Field(default=1, ge=1)
    effective_from: date = date(2018, 9, 1)
    grade_scale: GradeScale = DEFAULT_GRADE_SCALE
    ex_ante_threshold: Money = Decimal("100.00")  # 万元; 相山区: 100万元及以上
    monitoring: MonitoringRule = MonitoringRule()
    self_evaluation: SelfEvaluationWeights = SelfEvaluationWeights()
    # The goal tree's allowed (一级, 二级) pairs in this rule version (docs/domain.md §2).
    indicator_levels: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: dict(COMMON_INDICATOR_LEVELS))
    # Evaluation frameworks, and which one a subject kind gets when none is chosen. (Rule
    # sets stored before frameworks carried `evaluation`, one dimension list per subject kind;
    # it is read no more: ledger.frameworks.LEGACY_FRAMEWORKS says what those lists were.)
    frameworks: tuple[Framework, ...] = DEFAULT_FRAMEWORKS
    default_frameworks: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_BY_KIND))
    # What each grade (or a monitoring warning) leads to in next year's budget.
    consequences: ConsequenceRules = DEFAULT_CONSEQUENCES

    @model_validator(mode="after")
    def _levels_named(self) -> RuleSet:
        if not self.indicator_levels or not all(self.indicator_levels.values()):
            raise ValueError("indicator_levels names each level 1 with at least one level 2")
        return self

    def allows_levels(self, level1: str, level2: str) -> bool:
        return level2 in self.indicator_levels.get(level1, ())

    @model_validator(mode="after")
    def _frameworks_known(self) -> RuleSet:
        keys = [(f.code, f.version) for f in self.frameworks]
        if len(set(keys)) != len(keys):
            raise ValueError("a framework code and version appear twice")
        codes = {f.code for f in self.frameworks}
        unknown = sorted(set(self.default_frameworks.values()) - codes)
        if unknown:
            raise ValueError(f"default frameworks name unknown frameworks: {', '.join(unknown)}")
        return self


DEFAULT_RULES = RuleSet()
