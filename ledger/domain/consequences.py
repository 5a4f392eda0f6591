"""Deciding a consequence (结果运用) against the rule for its basis.

The basis is the grade, evaluation, spot check, self-evaluation or monitoring warning the
consequence cites; the rule is the rule set's consequence rule in force; the target is what
the consequence reaches next year (docs/domain.md). Pure checks: the subject records the
event only when they pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from ledger.consequence_rules import EFFECT_LABELS, UNCONDITIONAL, ConsequenceRules
from ledger.errors import RuleViolation
from ledger.grades import Grade

if TYPE_CHECKING:
    from ledger.domain.subject import Subject

AMOUNT_RESULTS = ("reduce", "recover")
CENT = Decimal("0.01")


def _rule(code: str, message: str, field: str, broken: str) -> RuleViolation:
    return RuleViolation(code, message, field=field, rule=broken)


@dataclass(frozen=True, slots=True)
class Target:
    """What a consequence reaches, with the most it may take (None: no amount applies)."""

    fiscal_year: int
    kind: str
    id: str
    cap: Decimal
    cap_name: str


def cited_item(subject: Subject, cites_kind: str, cites_id: str) -> tuple[str, str]:
    """(item kind, key) of the cited event; every citation kind checks its id. A grade is
    cited as "" or "grade" (a subject has one grade in force), a self-evaluation as "" or
    "self"; the others by their ids."""
    if cites_kind == "grade":
        found = subject.grade is not None and cites_id in ("", "grade")
        key = "grade"
    elif cites_kind == "self_evaluation":
        found = subject.self_evaluation is not None and cites_id in ("", "self")
        key = "self"
    else:
        ids: set[str] = {"evaluation": set(subject.evaluations),
                         "spot_check": set(subject.spot_checks),
                         "monitoring": {m.id for m in subject.monitoring}}.get(cites_kind, set())
        found = cites_id in ids
        key = cites_id
    if not found:
        raise _rule("CITATION_NOT_FOUND", f"no {cites_kind} {cites_id!r} on this subject",
                    "cites", "a consequence cites the grade or evaluation that justifies it")
    return cites_kind, key


def basis_version(subject: Subject, item: tuple[str, str]) -> int | None:
    """The subject version that recorded the cited item (its newest, if restated)."""
    return max((v for v, it in subject.items_by_version.items() if it == item), default=None)


def has_warning(subject: Subject, cites_kind: str, cites_id: str) -> bool:
    return cites_kind == "monitoring" and any(
        m.id == cites_id and m.warnings for m in subject.monitoring)


def check_effect(kind: str, grade: Grade | None, warning: bool, rules: ConsequenceRules,
                 override_reason: str) -> str:
    """The rule's wording for the basis; a contradicting effect needs an override reason."""
    if kind == "priority" and (grade is None or grade != Grade.EXCELLENT) and not warning:
        best = Grade.EXCELLENT.label
        raise _rule("PRIORITY_NEEDS_EXCELLENT", f"priority funding is for subjects graded "
                    f"{best}", "kind", f"优先安排 follows a grade of {best}")
    rule = rules.for_basis(grade, warning)
    if rule is None or kind in UNCONDITIONAL:
        return "" if rule is None else rule.wording
    if kind in rule.contradicts and not override_reason.strip():
        basis = "a monitoring warning" if warning else f"a grade of {grade.label if grade else ''}"
        raise _rule("CONSEQUENCE_CONTRADICTS_RULE",
                    f"{EFFECT_LABELS[kind]} contradicts the rule for {basis} ({rule.wording}); "
                    "the finance bureau may override it with a reason", "overrideReason",
                    f"{rule.wording} follows {basis}")
    return rule.wording


def amount_for(kind: str, amount: Decimal | None, percentage: Decimal | None,
               target: Target) -> Decimal | None:
    """A reduction may be stated as a share of its target; the target caps the amount."""
    if percentage is not None:
        if kind != "reduce":
            raise _rule("PERCENTAGE_NOT_APPLICABLE", f"{kind} takes no percentage",
                        "percentage", "only 核减 is stated as a percentage")
        share = (target.cap * percentage / 100).quantize(CENT, ROUND_HALF_UP)
        if amount is not None and amount != share:
            raise _rule("AMOUNT_DISAGREES_WITH_PERCENTAGE", f"{percentage}% of {target.cap} "
                        f"is {share}, not {amount}", "amount", "state one of them, or both alike")
        amount = share
    if kind in AMOUNT_RESULTS:
        if amount is None or amount <= 0:
            raise _rule("AMOUNT_REQUIRED", f"{kind} needs a positive amount", "amount",
                        "核减 and 收回 state the amount")
        if amount > target.cap:
            code = ("AMOUNT_EXCEEDS_FUNDS" if target.kind == "subject"
                    else "AMOUNT_EXCEEDS_TARGET")
            raise _rule(code, f"{amount} exceeds the {target.cap_name} {target.cap}", "amount",
                        "cannot reduce or recover more than the target holds")
    elif amount is not None:
        raise _rule("AMOUNT_NOT_APPLICABLE", f"{kind} takes no amount", "amount",
                    "only 核减 and 收回 carry amounts")
    return amount
