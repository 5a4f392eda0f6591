"""The checks an evaluation and its commission pass before anything is recorded: whose
evaluation it is, that whoever records it may (ledger.permissions), and that its scores keep to
the rules in force. Called by the Ledger's commission_evaluation and record_evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ledger import commands as c
from ledger.domain.records import Commission
from ledger.domain.subject import Subject
from ledger.errors import InvalidInput, RuleViolation
from ledger.evaluation_kinds import DEPARTMENT, commissioned_kind
from ledger.frameworks import Framework, check_scores, find_framework
from ledger.grades import Grade
from ledger.permissions import (
    EvaluationClaim,
    Evaluator,
    check_evaluation_authority,
    units_over,
)
from ledger.rules import RuleSet
from ledger.runtime import Actor, LedgerBase


def kind_commissioned_by(ledger: LedgerBase, commissioned_by: str, subject: Subject) -> str:
    """Whose evaluation a unit commissions: the finance bureau's 财政评价, or the 部门评价 of
    the department over the subject's unit (which may be the subject's own unit)."""
    ledger.check_unit(commissioned_by, "commissionedBy")
    unit_kind = ledger.unit_kind(commissioned_by) or ""
    kind = commissioned_kind(unit_kind)
    if kind is None:
        raise RuleViolation("NOT_A_COMMISSIONER", f"unit {commissioned_by} is a {unit_kind} "
                            "unit; evaluations are commissioned by the finance bureau or a "
                            "department", field="commissionedBy",
                            rule="the commissioner is the finance bureau or a 主管部门")
    over_subject = units_over(subject.unit_code, ledger.parent_of)
    if kind == DEPARTMENT and commissioned_by not in over_subject:
        raise RuleViolation("NOT_SUBJECTS_DEPARTMENT", f"unit {commissioned_by} is not the "
                            f"主管部门 over unit {subject.unit_code}",
                            field="commissionedBy",
                            rule="a 部门评价 is commissioned by the department over the "
                            "subject's unit")
    return kind


def check_evaluator(ledger: LedgerBase, actor: Actor, cmd: c.RecordEvaluation,
                    subject: Subject) -> str:
    """The evaluation's kind, once it is certain the actor may record it (the agency, if any,
    admitted, holding the commission and independent); refuses otherwise."""
    commission = None
    if cmd.commission_id is not None or cmd.agency_code is not None:
        if not cmd.commission_id or not cmd.agency_code:
            missing = "commissionId" if not cmd.commission_id else "agencyCode"
            raise InvalidInput("an evaluation done by an agency names the agency and its "
                               "commission", field=missing,
                               rule="agencyCode and commissionId together")
        commission = subject.commission_for(cmd.commission_id, cmd.agency_code)
    kind = cmd.kind or (commission.kind if commission else None)
    if kind is None:
        raise InvalidInput("say whose evaluation it is (finance or department), or cite the "
                           "commission it was done under", field="kind",
                           rule="kind, unless a commission says it")
    if commission is not None and kind != commission.kind:
        raise RuleViolation("KIND_NOT_COMMISSIONED", f"commission {commission.id} is for a "
                            f"{commission.kind} evaluation (commissioned by "
                            f"{commission.commissioned_by}), not {kind}", field="kind",
                            rule="an evaluation done under a commission is its "
                            "commissioner's")
    units = units_over(subject.unit_code, ledger.parent_of)
    check_evaluation_authority(
        Evaluator(role=actor.role, unit=actor.unit_code, agency=actor.agency_code,
                  unit_kind=ledger.unit_kind(actor.unit_code)),
        EvaluationClaim(kind=kind, subject_units=units,
                        agency=commission.agency_code if commission else None,
                        commissioned_by=commission.commissioned_by if commission else None))
    if commission is not None:
        agency = ledger.agency(commission.agency_code)
        agency.check_can_evaluate()
        agency.check_independent([commission.commissioned_by, *units])
    return kind


def check_published_grade(score: Decimal, published: Grade, rules: RuleSet) -> None:
    expected = rules.grade_scale.grade_for(score)
    if expected != published:
        raise RuleViolation("GRADE_CONTRADICTS_SCALE",
                            f"score {score} is {expected.label}, but the published grade is "
                            f"{published.label}", field="publishedGrade",
                            rule="a grade follows the scale in force")


def chosen_framework(rules: RuleSet, subject: Subject, code: str | None,
                     version: int | None, commission: Commission | None = None) -> Framework:
    """The framework an evaluation is scored on: the one its commission chose, else the one
    named, else the rules' default for the subject's kind (docs/domain.md, Frameworks)."""
    chosen = commission.framework if commission is not None else None
    if commission is not None and chosen is not None:
        if code is not None and (code != chosen.code
                                 or version not in (None, chosen.version)):
            raise RuleViolation("FRAMEWORK_NOT_COMMISSIONED", f"commission {commission.id} "
                                f"chose {chosen.code} v{chosen.version}, not {code}",
                                field="frameworkCode",
                                rule="an evaluation under a commission is scored on the "
                                "framework commissioned")
        return find_framework(rules, chosen.code, chosen.version)
    if code is None:
        code = rules.default_frameworks.get(subject.kind)
        if code is None:
            raise InvalidInput(f"no default framework for a {subject.kind} subject; name one",
                               field="frameworkCode", rule="a framework for every evaluation")
    return find_framework(rules, code, version)


def check_dimensions(framework: Framework, dims: Sequence[c.DimensionScore]) -> Decimal:
    """The evaluation's score, once its dimensions are the framework's (names and points)."""
    return check_scores(framework, dims)
