"""The coverage and monitoring summary of a fiscal year, from the subject rows at a moment."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from ledger.grades import Grade
from ledger.subject_kinds import OVERALL_KINDS
from projections.rows import SubjectRow, from_cents
from projections.values import Coverage, RoundCoverage

PROJECT_KINDS = ("project", "policy")


def percent(part: int, whole: int) -> Decimal:
    if whole == 0:
        return Decimal("0.00")
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.01"))


def coverage_of(fiscal_year: int, rows: list[SubjectRow]) -> Coverage:
    projects = [r for r in rows if r.kind in PROJECT_KINDS]
    departments = [r for r in rows if r.kind in OVERALL_KINDS]
    approved = [r for r in rows if r.goal_status == "approved"]
    approved_projects = [r for r in approved if r.kind in PROJECT_KINDS]
    rounds: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        for snapshot in json.loads(r.monitoring):
            tally = rounds[snapshot["round"]]
            tally[0] += 1
            tally[1] += int(snapshot["budget_cents"])
            tally[2] += int(snapshot["warnings"])
    spot = [r for r in rows if int(r.spot_checks) > 0]
    grades = {g.label: 0 for g in Grade}
    for r in rows:
        if r.grade:
            grades[Grade(r.grade).label] += 1

    def funds(items: list[SubjectRow]) -> Decimal:
        return from_cents(sum(int(r.funds_cents) for r in items))

    def self_covered(items: list[SubjectRow]) -> Decimal:
        return percent(sum(1 for r in items if r.self_score is not None), len(items))

    return Coverage(
        fiscal_year=fiscal_year, units=len({r.unit_code for r in rows}), subjects=len(rows),
        project_subjects=len(projects), funds=funds(rows),
        subjects_with_approved_goals=len(approved),
        projects_with_approved_goals=len(approved_projects),
        funds_with_approved_goals=funds(approved),
        project_funds_with_approved_goals=funds(approved_projects),
        monitoring_rounds=[RoundCoverage(round_name=name, subjects=t[0], funds=from_cents(t[1]),
                                         warnings=t[2]) for name, t in sorted(rounds.items())],
        self_evaluation_coverage=self_covered(rows),
        project_self_evaluation_coverage=self_covered(projects),
        department_self_evaluation_coverage=self_covered(departments),
        spot_checked_subjects=len(spot), spot_checked_units=len({r.unit_code for r in spot}),
        spot_checked_funds=funds(spot), grade_distribution=grades,
        priority_subjects=sum(int(r.priority) for r in rows),
        reduced_amount=from_cents(sum(int(r.reduced_cents) for r in rows)),
        cancelled_subjects=sum(int(r.cancelled) for r in rows),
        recovered_amount=from_cents(sum(int(r.recovered_cents) for r in rows)),
    )
