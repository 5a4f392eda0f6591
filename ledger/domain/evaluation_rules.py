"""A subject's commissions and evaluations: which commission an evaluation cites, which score a
grade rests on, and whether a grade may rest on it (docs/domain.md#lifecycle, steps 5–7).
Kept apart from the Subject aggregate, which calls these with its records."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

from ledger.domain.records import Commission, Evaluation, SelfEvaluation, SpotCheck
from ledger.errors import RuleViolation
from ledger.evaluation_kinds import DEPARTMENT, LEGACY_THIRD_PARTY, ranked
from ledger.grades import Grade, GradeScale

SELF = "self"  # what a spot check of the self-evaluation reviews, and the self-evaluation's id


class Basis(NamedTuple):
    """What a grade must rest on: the authoritative score and where it comes from."""

    kind: str  # "evaluation", "spot_check" or "self_evaluation" (AssignGrade.basis_kind)
    id: str
    score: Decimal | None  # None: an evaluation known only by its published grade
    evaluation: Evaluation | None  # the evaluation the score rests on (its 评价情况), if any


def cited_commission(commissions: Mapping[str, Commission], commission_id: str,
                     agency_code: str) -> Commission:
    """The commission an evaluation is recorded under, which must name the agency."""
    found = commissions.get(commission_id)
    if found is None:
        raise RuleViolation("COMMISSION_NOT_FOUND", f"no commission {commission_id!r} on this "
                            "subject", field="commissionId",
                            rule="an agency's evaluation cites its commission")
    if found.agency_code != agency_code:
        raise RuleViolation("NOT_COMMISSIONED", f"agency {agency_code} was not commissioned by "
                            f"{commission_id}", field="agencyCode",
                            rule="an agency records only the evaluations it was commissioned for")
    return found


def stored_kind(kind: str, commission_id: str | None,
                commissions: Mapping[str, Commission]) -> str:
    """An evaluation's kind as stored, read in today's terms: an earlier build's `third_party`
    evaluation is the evaluation of whoever commissioned it."""
    if kind != LEGACY_THIRD_PARTY:
        return kind
    commission = commissions.get(commission_id or "")
    # Every stored third_party evaluation cited a commission of its subject (the earlier build
    # checked); without one it would be no one's, and it is given the lower rank.
    return commission.kind if commission is not None else DEPARTMENT


def ranked_evaluation(evaluations: Mapping[str, Evaluation]) -> Evaluation | None:
    """财政评价 before 部门评价; the latest recorded within a kind."""
    return ranked((e.kind, e) for e in evaluations.values())


def authoritative_basis(evaluations: Mapping[str, Evaluation],
                        spot_checks: Mapping[str, SpotCheck],
                        self_evaluation: SelfEvaluation | None) -> Basis | None:
    """By precedence, not recency: the 财政评价, else the 部门评价, else the self-evaluation.

    A spot-check re-review (抽查复核) replaces the score of what it reviews and ranks as that:
    the latest re-review of the chosen evaluation (or of the self-evaluation) is the basis, and
    a re-review of anything else outranks nothing.
    """
    evaluation = ranked_evaluation(evaluations)
    reviewed = SELF if evaluation is None else evaluation.id
    if evaluation is None and self_evaluation is None:
        return None
    checks = [c for c in spot_checks.values() if c.reviews == reviewed]
    if checks:
        return Basis("spot_check", checks[-1].id, checks[-1].score, evaluation)
    if evaluation is not None:
        return Basis("evaluation", evaluation.id, evaluation.score, evaluation)
    assert self_evaluation is not None
    return Basis("self_evaluation", SELF, self_evaluation.score, None)


def graded_score(current: Basis | None, grade: Grade, basis_kind: str, basis_id: str,
                 scale: GradeScale, scale_version: int) -> Decimal | None:
    """The score a grade rests on, once the grade names the authoritative basis and follows its
    score on the scale (or the grade it was published with)."""
    if current is None:
        raise RuleViolation("NO_SCORE", "nothing has been scored yet", field="basis",
                            rule="a grade rests on a score")
    if (basis_kind, basis_id) != (current.kind, current.id):
        raise RuleViolation("BASIS_NOT_AUTHORITATIVE", f"the authoritative score is "
                            f"{current.kind} {current.id!r} ({current.score})", field="basis",
                            rule="财政评价, else 部门评价, else the self-evaluation; a re-review "
                            "replaces the score it reviews")
    score = current.score
    if score is None:
        assert current.evaluation is not None, "only an evaluation may lack a score"
        expected = current.evaluation.published_grade
        assert expected is not None, "an evaluation without a score has a published grade"
        if grade != expected:
            raise RuleViolation("GRADE_CONTRADICTS_PUBLISHED", f"the evaluation was published "
                                f"as {expected.label}, not {grade.label}", field="grade",
                                rule="a grade follows the evaluation it rests on")
    elif grade != (expected := scale.grade_for(score)):
        raise RuleViolation("GRADE_CONTRADICTS_SCALE", f"score {score} is {expected.label} "
                            f"({expected.value}) on scale v{scale_version}, not {grade.label}",
                            field="grade", rule=f"{scale.describe()} as the scale in force says")
    return score
