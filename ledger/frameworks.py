"""Evaluation frameworks (评价指标体系的一级指标): a named, versioned set of first-level
dimensions with their points, chosen when an evaluation is commissioned or recorded
(docs/domain.md, step 5 "Frameworks").

Frameworks are rule data: the rule set carries them (`RuleSet.frameworks`) and a newer rule
set may add a framework or a new version of one. Which framework a subject kind gets when
nobody chooses one is rule data too (`RuleSet.default_frameworks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger.errors import InvalidInput, RuleViolation
from ledger.text import DecimalText

PROJECT = "project"  # 项目支出 (and 政策)
DEPARTMENT_OVERALL = "department_overall"  # 部门整体支出
FISCAL_OPERATIONS = "fiscal_operations"  # 财政运行综合绩效 of a lower-level government
TOWNSHIP_OVERALL = "township_overall"  # 乡镇整体支出

# What rule version 1 fixed per subject kind, before evaluations named a framework: an
# evaluation stored without one was scored on this (fiscal_operations then got the list that
# is now the 乡镇整体支出 framework).
LEGACY_FRAMEWORKS = {"project": PROJECT, "policy": PROJECT,
                     "department_overall": DEPARTMENT_OVERALL,
                     "fiscal_operations": TOWNSHIP_OVERALL}


class FrameworkDimension(BaseModel):
    """A first-level dimension (一级指标) and the points it carries on the 100-point scale."""

    model_config = ConfigDict(frozen=True)

    name: str
    points: DecimalText


class CombinedMinimum(BaseModel):
    """Some dimensions together carry at least this many points (项目: 产出+效益 ≥ 60)."""

    model_config = ConfigDict(frozen=True)

    dimensions: tuple[str, ...]
    points: DecimalText


class Framework(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    version: int = Field(default=1, ge=1)
    name: str
    dimensions: tuple[FrameworkDimension, ...]
    minimum: CombinedMinimum | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Framework:
        names = [d.name for d in self.dimensions]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"framework {self.code}: dimension names must be unique, non-empty")
        total = sum((d.points for d in self.dimensions), Decimal(0))
        if total != 100:
            raise ValueError(f"framework {self.code} v{self.version}: points sum to {total}, "
                             "not 100")
        if self.minimum is not None:
            unknown = set(self.minimum.dimensions) - set(names)
            if unknown:
                raise ValueError(f"framework {self.code}: minimum names unknown dimensions "
                                 f"{'/'.join(sorted(unknown))}")
            share = sum((d.points for d in self.dimensions
                         if d.name in self.minimum.dimensions), Decimal(0))
            if share < self.minimum.points:
                raise ValueError(f"framework {self.code}: {'+'.join(self.minimum.dimensions)} "
                                 f"carry {share}, below {self.minimum.points}")
        return self

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


def _framework(code: str, name: str, points: Sequence[tuple[str, str]],
               minimum: CombinedMinimum | None = None) -> Framework:
    return Framework(code=code, name=name, minimum=minimum, dimensions=tuple(
        FrameworkDimension(name=n, points=Decimal(p)) for n, p in points))


# Version 1. The dimension names are the domain's (docs/domain.md, step 5); the points are
# the defaults a place adjusts by adopting a rule set.
DEFAULT_FRAMEWORKS: tuple[Framework, ...] = (
    _framework(PROJECT, "项目支出绩效评价", (("决策", "20"), ("过程", "20"), ("产出", "30"),
                                      ("效益", "30")),
               CombinedMinimum(dimensions=("产出", "效益"), points=Decimal(60))),
    _framework(DEPARTMENT_OVERALL, "部门整体支出绩效评价",
               (("部门决策", "20"), ("部门管理", "20"), ("部门产出", "30"), ("部门效益", "30"))),
    _framework(FISCAL_OPERATIONS, "财政运行综合绩效评价",
               (("预算编制", "20"), ("预算执行", "20"), ("优化支出结构", "20"),
                ("财务管理", "20"), ("财政投入效果", "20"))),
    _framework(TOWNSHIP_OVERALL, "乡镇整体支出绩效评价",
               (("财政综合管理", "25"), ("财政保障水平", "25"), ("财政职能作用", "25"),
                ("财政可持续发展", "25"))),
)

DEFAULT_BY_KIND = {"project": PROJECT, "policy": PROJECT,
                   "department_overall": DEPARTMENT_OVERALL,
                   "subdistrict": DEPARTMENT_OVERALL,
                   "township": TOWNSHIP_OVERALL,
                   "fiscal_operations": FISCAL_OPERATIONS}


class HasFrameworks(Protocol):
    @property
    def frameworks(self) -> tuple[Framework, ...]: ...


def find_framework(rules: HasFrameworks, code: str, version: int | None,
                   field: str = "frameworkCode") -> Framework:
    """The framework of that code (and version; the newest if none is given)."""
    found = [f for f in rules.frameworks if f.code == code
             and (version is None or f.version == version)]
    if not found:
        known = ", ".join(sorted({f"{f.code} v{f.version}" for f in rules.frameworks}))
        raise RuleViolation("FRAMEWORK_NOT_FOUND", f"no framework {code}"
                            + ("" if version is None else f" v{version}")
                            + f" in the rules in force (known: {known})", field=field,
                            rule="an evaluation is scored on a framework of the rules in force")
    return max(found, key=lambda f: f.version)


class ScoredDimension(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def weight(self) -> Decimal: ...
    @property
    def score(self) -> Decimal: ...


def check_scores(framework: Framework, dims: Sequence[ScoredDimension]) -> Decimal:
    """The total, once the scores are the framework's dimensions with its points, each score
    within its points; refuses naming the dimension otherwise."""
    points = {d.name: d.points for d in framework.dimensions}
    names = [d.name for d in dims]
    for name in names:
        if name not in points:
            raise InvalidInput(f"{name} is not a dimension of {framework.label} "
                               f"({'/'.join(points)})", field="dimensions.name",
                               rule="the dimensions of the chosen framework")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise InvalidInput(f"{twice} is scored twice", field="dimensions.name",
                           rule="each dimension once")
    missing = [n for n in points if n not in names]
    if missing:
        raise InvalidInput(f"{'/'.join(missing)} of {framework.label} not scored",
                           field="dimensions.name", rule="every dimension of the framework")
    for d in dims:
        if d.weight != points[d.name]:
            raise InvalidInput(f"{d.name} carries {points[d.name]} points in "
                               f"{framework.label}, not {d.weight}", field="dimensions.weight",
                               rule="the points of the chosen framework")
        if d.score > d.weight:
            raise InvalidInput(f"{d.name}: score {d.score} exceeds its weight {d.weight}",
                               field="dimensions.score", rule="score within weight")
    return sum((d.score for d in dims), Decimal(0)).quantize(Decimal("0.01"))
