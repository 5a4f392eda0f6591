"""A synthetic province for load tests and benchmarks: districts × subjects × a full lifecycle.

Everything here is invented. Each subject gets eight commands (16 events with their command
records), imported through the batched command path, so the data obey every rule.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from ledger.grades import Grade
from ledger.rules import DEFAULT_RULES
from ledger.runtime import Actor

ACTOR = Actor(id="synthetic", role="finance_bureau")
EVENTS_PER_SUBJECT = 16
INDICATORS = [
    {"level1": "产出", "level2": "数量", "name": "完成数量", "comparator": ">=", "target": "100",
     "unit": "个", "weight": "50"},
    {"level1": "效益", "level2": "社会效益", "name": "受益人数", "comparator": ">=",
     "target": "1000", "unit": "人", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度", "name": "满意度", "comparator": ">=",
     "target": "90", "unit": "%", "weight": "20"},
]
DIMS = ("决策", "过程", "产出", "效益")


def district_setup(d: int) -> list[tuple[str, dict[str, Any]]]:
    unit = f"D{d:03d}"
    return [
        ("register_unit", {"command_id": f"syn-unit-{unit}", "code": unit,
                           "name": f"第{d}区财政局", "kind": "finance_bureau"}),
        ("register_unit", {"command_id": f"syn-unit-{unit}-U", "code": f"{unit}-U",
                           "name": f"第{d}区民政局", "kind": "department"}),
        ("admit_agency", {"command_id": f"syn-agency-{unit}", "code": f"{unit}-AG",
                          "name": f"第{d}区会计师事务所"}),
    ]


def subject_commands(d: int, s: int, year: int, rng: random.Random) -> Iterator[
        tuple[str, dict[str, Any]]]:
    unit = f"D{d:03d}"
    code = f"{unit}-{year}-{s:05d}"
    funds = Decimal(rng.randrange(500, 5_000_000)) / 100

    def cid(step: str) -> str:
        return f"syn-{code}-{step}"

    key = s % 50 == 0
    yield "register_subject", {"command_id": cid("reg"), "code": code,
                               "name": f"第{d}区{year}年项目{s}", "kind": "project",
                               "fiscal_year": year, "unit_code": f"{unit}-U",
                               "funds": str(funds), "is_key": key}
    yield "declare_goals", {"command_id": cid("goals"), "subject_code": code,
                            "indicators": INDICATORS}
    yield "review_goals", {"command_id": cid("review"), "subject_code": code,
                           "decision": "approve"}
    yield "record_monitoring", {
        "command_id": cid("mon"), "subject_code": code, "round_name": f"{year}年1-7月",
        "window_start": f"{year}-01-01", "window_end": f"{year}-07-31",
        "budget_amount": str(funds), "executed_amount": str((funds * Decimal("0.6"))
                                                            .quantize(Decimal("0.01"))),
        "indicators": [{"name": "完成数量", "progress": "60", "likelihood": "确定能"}]}
    yield "submit_self_evaluation", {
        "command_id": cid("self"), "subject_code": code, "budget_amount": str(funds),
        "executed_amount": str(funds), "indicator_results": [
            {"name": "完成数量", "actual": str(rng.randrange(80, 101))},
            {"name": "受益人数", "actual": "1000"}, {"name": "满意度", "actual": "92"}]}
    yield "review_self_evaluation", {"command_id": cid("self-review"), "subject_code": code,
                                     "version": 1, "decision": "accept"}
    scores = [str(rng.randrange(12, 21)), str(rng.randrange(12, 21)),
              str(rng.randrange(20, 31)), str(rng.randrange(20, 31))]
    yield "record_evaluation", {
        "command_id": cid("eval"), "subject_code": code, "kind": "finance",
        "dimensions": [{"name": n, "weight": w, "score": sc}
                       for n, w, sc in zip(DIMS, ("20", "20", "30", "30"), scores, strict=True)],
        "evaluation_id": f"eva-{code}",
        "narrative": f"第{d}区{year}年项目{s}在决策、过程、产出、效益方面总体较好。",
        "evaluated_on": f"{year + 1}-03-15"}
    grade = DEFAULT_RULES.grade_scale.grade_for(sum((Decimal(x) for x in scores), Decimal(0)))
    yield "assign_grade", {"command_id": cid("grade"), "subject_code": code,
                           "grade": grade.value, "basis_kind": "evaluation",
                           "basis_id": f"eva-{code}"}
    yield "apply_result", {"command_id": cid("res"), "subject_code": code,
                           "kind": "priority" if grade is Grade.EXCELLENT else "continue",
                           "cites_kind": "grade"}


def generate(app: Ledger, *, districts: int, subjects: int, year: int = 2022,
             batch_subjects: int = 50, seed: int = 6,
             progress: Callable[[int], None] | None = None) -> int:
    """Record `districts × subjects` subjects with their lifecycles; returns the last position."""
    rng = random.Random(seed)
    last = 0
    for d in range(1, districts + 1):
        last = max(r.position for r in app.execute_batch(district_setup(d), ACTOR))
        for start in range(0, subjects, batch_subjects):
            calls: list[tuple[str, dict[str, Any]]] = []
            for s in range(start, min(subjects, start + batch_subjects)):
                calls.extend(subject_commands(d, s, year, rng))
            last = max(last, max(r.position for r in app.execute_batch(calls, ACTOR)))
            if progress is not None:
                progress(len(calls) * 2)
    return last
