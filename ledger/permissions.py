"""Who may do what: the role × command matrix, in one table, and the unit scope rule.

Roles are those of docs/domain.md#roles. `system` is the operator's own tooling (the CLI,
the sample loader), never reachable through the API.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from ledger.errors import Forbidden

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
    "submit_self_evaluation": _UNIT_OR_BUREAU,
    "commission_evaluation": _UNIT_OR_BUREAU,
    "record_evaluation": frozenset({FINANCE_BUREAU, BUDGET_UNIT, AGENCY, SYSTEM}),
    "record_spot_check": _BUREAU,
    "assign_grade": _BUREAU,
    "apply_result": _BUREAU,
    "request_rectification": _BUREAU,
    "report_rectification": _UNIT_OR_BUREAU,
    "review_rectification": _BUREAU,
    "record_disclosure": _BUREAU,
    "admit_agency": _BUREAU,
    "assess_agency": _BUREAU,
    "suspend_agency": _BUREAU,
    "reinstate_agency": _BUREAU,
    "remove_agency": _BUREAU,
    "admit_expert": _BUREAU,
    "remove_expert": _BUREAU,
    "adopt_rules": _BUREAU,
    "correct_event": _BUREAU,
}


def check_role(role: str, command: str) -> None:
    allowed = MATRIX.get(command, frozenset())
    if role not in allowed:
        raise Forbidden("FORBIDDEN", f"role {role!r} may not {command.replace('_', ' ')}",
                        field=None, rule=f"{command}: {', '.join(sorted(allowed))}")


def check_unit_scope(role: str, own_unit: str | None, unit_code: str,
                     parent_of: Callable[[str], str | None]) -> None:
    """A budget unit acts for itself and the units under it (主管部门 → 所属单位)."""
    if role != BUDGET_UNIT:
        return
    code: str | None = unit_code
    seen: set[str] = set()
    while code is not None and code not in seen:
        if code == own_unit:
            return
        seen.add(code)
        code = parent_of(code)
    raise Forbidden("OUT_OF_SCOPE", f"unit {own_unit!r} may not act for unit {unit_code!r}",
                    field="subjectCode", rule="a budget unit acts for itself and its sub-units")


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


def check_agency(role: str, own_agency: str | None, agency_code: str | None) -> None:
    if role == AGENCY and (agency_code is None or agency_code != own_agency):
        raise Forbidden("NOT_YOUR_COMMISSION", "an agency records only the evaluations it was "
                        "commissioned for", field="agencyCode",
                        rule="agency: its own commissions only")
