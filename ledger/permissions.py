"""Who may do what: the role × command matrix, in one table, the unit scope rule, and who
records and commissions each kind of evaluation.

Roles are those of docs/domain.md#roles. `system` is the operator's own tooling (the CLI,
the sample loader), never reachable through the API.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import NamedTuple

from ledger.errors import Forbidden
from ledger.evaluation_kinds import DEPARTMENT, DEPARTMENT_UNIT, FINANCE

FINANCE_BUREAU = "finance_bureau"
BUDGET_UNIT = "budget_unit"
AGENCY = "agency"
AUDITOR = "auditor"
CONGRESS = "congress"
PUBLIC = "public"
SYSTEM = "system"
ROLES = (FINANCE_BUREAU, BUDGET_UNIT, AGENCY, AUDITOR, CONGRESS, PUBLIC, SYSTEM)

_BUREAU = frozenset({FINANCE_BUREAU, SYSTEM})
_UNIT_OR_BUREAU = frozenset({FINANCE_BUREAU, BUDGET_UNIT, SYSTEM})

# command -> the roles that may issue it. Reading is governed elsewhere (by what is disclosed).
MATRIX: dict[str, frozenset[str]] = {
    "register_unit": _BUREAU,
    "register_subject": _UNIT_OR_BUREAU,
    "record_ex_ante_assessment": _UNIT_OR_BUREAU,
    "declare_goals": _UNIT_OR_BUREAU,
    "review_goals": _BUREAU,
    "adjust_goals": _UNIT_OR_BUREAU,
    "record_monitoring": _UNIT_OR_BUREAU,
    "open_monitoring_round": _BUREAU,
    "close_monitoring_round": _BUREAU,
    "act_on_warning": _BUREAU,
    "submit_self_evaluation": _UNIT_OR_BUREAU,
    "review_self_evaluation": _BUREAU,
    "commission_evaluation": _UNIT_OR_BUREAU,
    "record_evaluation": frozenset({FINANCE_BUREAU, BUDGET_UNIT, AGENCY, SYSTEM}),
    "record_spot_check": _BUREAU,
    "draw_sampling_plan": _BUREAU,
    "assign_grade": _BUREAU,
    "apply_result": _BUREAU,
    "request_rectification": _BUREAU,
    "report_rectification": _UNIT_OR_BUREAU,
    "review_rectification": _BUREAU,
    "record_disclosure": _BUREAU,
    "admit_agency": _BUREAU,
    "declare_agency_relationship": frozenset({FINANCE_BUREAU, AGENCY, SYSTEM}),
    "assess_agency": _BUREAU,
    "suspend_agency": _BUREAU,
    "reinstate_agency": _BUREAU,
    "remove_agency": _BUREAU,
    "admit_expert": _BUREAU,
    "remove_expert": _BUREAU,
    "adopt_rules": _BUREAU,
    "add_library_indicator": _BUREAU,
    "revise_library_indicator": _BUREAU,
    "retire_library_indicator": _BUREAU,
    "correct_event": _BUREAU,
    "open_fiscal_year": _BUREAU,
    "close_fiscal_year": _BUREAU,
    "record_budget_request": _UNIT_OR_BUREAU,
    "arrange_budget": _BUREAU,
    "link_transfer": _BUREAU,
}


# Who may preview commands' effect (what-if): the finance bureau, whose decisions they are.
PREVIEWERS = _BUREAU


def check_preview(role: str) -> None:
    if role not in PREVIEWERS:
        raise Forbidden("FORBIDDEN", f"role {role!r} may not preview commands", field=None,
                        rule=f"preview: {', '.join(sorted(PREVIEWERS))}")


def check_role(role: str, command: str) -> None:
    allowed = MATRIX.get(command, frozenset())
    if role not in allowed:
        raise Forbidden("FORBIDDEN", f"role {role!r} may not {command.replace('_', ' ')}",
                        field=None, rule=f"{command}: {', '.join(sorted(allowed))}")


def units_over(unit_code: str, parent_of: Callable[[str], str | None]) -> list[str]:
    """The unit, then each unit above it (its 主管部门 and up), nearest first."""
    chain: list[str] = []
    code: str | None = unit_code
    while code is not None and code not in chain:
        chain.append(code)
        code = parent_of(code)
    return chain


def check_unit_scope(role: str, own_unit: str | None, unit_code: str,
                     parent_of: Callable[[str], str | None]) -> None:
    """A budget unit acts for itself and the units under it (主管部门 → 所属单位)."""
    if role == BUDGET_UNIT and own_unit not in units_over(unit_code, parent_of):
        raise Forbidden("OUT_OF_SCOPE", f"unit {own_unit!r} may not act for unit "
                        f"{unit_code!r}", field="subjectCode",
                        rule="a budget unit acts for itself and its sub-units")


def check_reach(role: str, own_unit: str | None, own_agency: str | None, unit_code: str,
                commissioned: Collection[str], parent_of: Callable[[str], str | None]) -> None:
    """Whether an actor may name a subject (of `unit_code`, evaluated by the agencies
    `commissioned`) in a command: a budget unit, its own and its sub-units' subjects; an
    agency, those it was commissioned to evaluate; everyone else, any subject."""
    if role == AGENCY:
        if own_agency is None or own_agency not in commissioned:
            raise Forbidden("NOT_YOUR_COMMISSION", "an agency acts only on the subjects it was "
                            "commissioned to evaluate", field="subjectCode",
                            rule="agency: its own commissions only")
        return
    check_unit_scope(role, own_unit, unit_code, parent_of)


def check_own_agency(role: str, own_agency: str | None, agency_code: str) -> None:
    """An agency speaks for itself only (e.g. declaring its own relationships)."""
    if role == AGENCY and agency_code != own_agency:
        raise Forbidden("NOT_YOUR_AGENCY", f"agency {own_agency!r} may not act for agency "
                        f"{agency_code!r}", field="code", rule="agency: itself only")


# -- evaluations: who records and who commissions each kind ---------------------------------

# Who records an evaluation of each kind as its own work (no commission cited). A budget unit
# does so only as the 主管部门 over the subject's unit, never of a subject it implements.
RECORDS_OWN: dict[str, frozenset[str]] = {
    FINANCE: frozenset({FINANCE_BUREAU, SYSTEM}),
    DEPARTMENT: frozenset({BUDGET_UNIT, SYSTEM}),
}
# Who records an evaluation an agency did under a commission: the agency holding it, or the
# commissioner entering the agency's report (the bureau its own, a department its own).
RECORDS_COMMISSIONED: dict[str, frozenset[str]] = {
    FINANCE: frozenset({AGENCY, FINANCE_BUREAU, SYSTEM}),
    DEPARTMENT: frozenset({AGENCY, BUDGET_UNIT, SYSTEM}),
}
# Who records a commission of each kind: the finance bureau its own, a department its own.
COMMISSIONS: dict[str, frozenset[str]] = {
    FINANCE: frozenset({FINANCE_BUREAU, SYSTEM}),
    DEPARTMENT: frozenset({BUDGET_UNIT, SYSTEM}),
}


class Evaluator(NamedTuple):
    """Who records an evaluation, as the credential says (never the request)."""

    role: str
    unit: str | None = None
    unit_kind: str | None = None  # the kind the unit was registered with
    agency: str | None = None


class EvaluationClaim(NamedTuple):
    """What an evaluation claims to be: whose (kind), of which subject, whose work."""

    kind: str
    subject_units: Sequence[str]  # the subject's unit, then each unit above it
    agency: str | None = None  # the agency that did the work, under a commission
    commissioned_by: str | None = None  # that commission's commissioner


def _refuse(code: str, message: str, field: str, rule: str) -> Forbidden:
    return Forbidden(code, message, field=field, rule=rule)


def check_evaluation_authority(who: Evaluator, claim: EvaluationClaim) -> None:
    """Refuse an evaluation recorded by someone whose it is not (docs/domain.md#lifecycle,
    step 5).

    The bureau records 财政评价, a 主管部门 部门评价 of its subordinate units' subjects, an agency
    only under a commission it holds (its admission and independence are checked with the
    commission); no unit evaluates a subject it implements except by self-evaluation.
    """
    kind = claim.kind
    if claim.agency is not None:
        allowed = RECORDS_COMMISSIONED[kind]
        if who.role not in allowed:
            raise _refuse("NOT_YOUR_COMMISSION", f"role {who.role!r} may not record a {kind} "
                          "evaluation done under a commission", "commissionId",
                          f"{kind} under a commission: {', '.join(sorted(allowed))}")
        if who.role == AGENCY and claim.agency != who.agency:
            raise _refuse("NOT_YOUR_COMMISSION", f"agency {who.agency!r} does not hold this "
                          f"commission (it is {claim.agency}'s)", "agencyCode",
                          "an agency records only under a commission it holds")
        if who.role == BUDGET_UNIT and claim.commissioned_by != who.unit:
            raise _refuse("NOT_YOUR_COMMISSION", f"unit {who.unit!r} did not commission this "
                          f"evaluation ({claim.commissioned_by} did)", "commissionId",
                          "a department enters only the reports of its own commissions")
        return
    if who.role == AGENCY:
        raise _refuse("COMMISSION_REQUIRED", "an agency records an evaluation only under a "
                      "commission it holds", "commissionId",
                      "an agency records only under a commission it holds")
    if who.role not in RECORDS_OWN[kind]:
        whose = "the finance bureau's" if kind == FINANCE else "the subject's 主管部门's"
        raise _refuse("NOT_YOUR_EVALUATION", f"a {kind} evaluation is {whose}; role "
                      f"{who.role!r} may not record one", "kind",
                      f"{kind}: {', '.join(sorted(RECORDS_OWN[kind]))}")
    if who.unit is not None and who.unit == claim.subject_units[0]:
        raise _refuse("SELF_EVALUATION_ONLY", f"unit {who.unit} implements this subject: its "
                      "evaluation of it is the self-evaluation (submitSelfEvaluation)",
                      "subjectCode", "a unit evaluates its own subjects only by self-evaluation; "
                      "a department may commission an agency for its 部门评价")
    if who.role == BUDGET_UNIT and (who.unit_kind != DEPARTMENT_UNIT
                                    or who.unit not in claim.subject_units[1:]):
        raise _refuse("NOT_SUBJECTS_DEPARTMENT", f"unit {who.unit!r} is not the 主管部门 over "
                      f"unit {claim.subject_units[0]}", "kind",
                      "部门评价 is the 主管部门's, of its own or its subordinate units' subjects")


def check_commissioner(role: str, own_unit: str | None, commissioned_by: str,
                       kind: str) -> None:
    """A commission is recorded by its commissioner: the bureau for itself, a unit for itself.
    (A bureau credential that names no unit speaks for the finance bureau.)"""
    speaks_for = (role == SYSTEM or own_unit == commissioned_by
                  or (role == FINANCE_BUREAU and own_unit is None))
    if role not in COMMISSIONS[kind] or not speaks_for:
        raise _refuse("NOT_THE_COMMISSIONER", f"role {role!r}"
                      + (f" of unit {own_unit}" if own_unit else "")
                      + f" may not commission in the name of {commissioned_by} ({kind})",
                      "commissionedBy", "a commission is recorded by its commissioner: "
                      f"{kind}: {', '.join(sorted(COMMISSIONS[kind]))}")
