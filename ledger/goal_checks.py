"""What a goal table must satisfy beyond its own shape: the level pairs the year's rules
allow, the library entries its indicators cite, and the funds its header states
(docs/domain.md §2). Each refusal names the indicator, by position and by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from ledger import commands as c
from ledger.domain.goal_records import LibraryIndicator
from ledger.errors import RuleViolation
from ledger.rules import RuleSet

LibraryLookup = Callable[[], dict[str, LibraryIndicator]]


def check_levels(indicators: Sequence[c.Indicator], rules: RuleSet) -> None:
    for index, ind in enumerate(indicators):
        check_level_pair(ind.level1, ind.level2, ind.name, rules, f"indicators.{index}.")


def check_level_pair(level1: str, level2: str, name: str, rules: RuleSet, at: str = "") -> None:
    """Refuse a (一级, 二级) pair the rules don't allow; `at` prefixes the field named."""
    if rules.allows_levels(level1, level2):
        return
    allowed = rules.indicator_levels.get(level1)
    where = (f"allowed under {level1}: {'、'.join(allowed)}" if allowed
             else f"level 1 is one of {'、'.join(rules.indicator_levels)}")
    raise RuleViolation(
        "INDICATOR_LEVELS_NOT_ALLOWED",
        f"indicator {name!r}: {level1} → {level2} is not a level pair of rule version "
        f"{rules.version} ({where})", field=at + ("level2" if allowed else "level1"),
        rule="一级/二级指标 pairs are those of the rules in force")


def check_library_codes(indicators: Sequence[c.Indicator], library: LibraryLookup) -> None:
    """A cited library code names an active entry whose levels, direction and unit the goal
    indicator keeps. The library is read only when some indicator cites it."""
    entries: dict[str, LibraryIndicator] | None = None
    for index, ind in enumerate(indicators):
        if ind.library_code is None:
            continue
        if entries is None:
            entries = library()
        at = f"indicators.{index}"
        entry = entries.get(ind.library_code)
        if entry is None:
            raise RuleViolation(
                "LIBRARY_INDICATOR_NOT_FOUND",
                f"indicator {ind.name!r} cites library code {ind.library_code!r}, which the "
                "indicator library does not hold", field=f"{at}.libraryCode",
                rule="a library code names an indicator of the library")
        if entry.status != "active":
            raise RuleViolation(
                "LIBRARY_INDICATOR_RETIRED",
                f"indicator {ind.name!r} cites library code {entry.code!r} ({entry.name}), "
                "which was retired", field=f"{at}.libraryCode",
                rule="goals cite indicators the library still holds")
        for field, mine, theirs in (("level1", ind.level1, entry.level1),
                                    ("level2", ind.level2, entry.level2),
                                    ("comparator", ind.comparator, entry.direction),
                                    ("unit", ind.unit, entry.unit)):
            if mine != theirs:
                raise RuleViolation(
                    "LIBRARY_INDICATOR_MISMATCH",
                    f"indicator {ind.name!r}: {field} {mine!r} differs from library "
                    f"{entry.code!r} ({entry.name}, revision {entry.revision}): {theirs!r}",
                    field=f"{at}.{field}",
                    rule="a goal indicator that cites the library matches its entry")


def check_funds_by_source(funds: c.FundsBySource | None, subject_funds: Decimal) -> None:
    if funds is None:
        return
    total = funds.current_appropriation + funds.carried_over + funds.other
    if total != subject_funds:
        raise RuleViolation(
            "FUNDS_BY_SOURCE_MISMATCH",
            f"本年财政拨款 {funds.current_appropriation} + 上年结转 {funds.carried_over} + "
            f"其他资金 {funds.other} = {total}万元, not the subject's funds {subject_funds}万元",
            field="fundsBySource", rule="年度资金总额 is the subject's funds")
