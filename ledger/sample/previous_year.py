"""The sample's year before (2021) and what its spot checks did to 2022's budget requests.

FACT (the source report, 三、(一)「用好绩效评价结果」): "对2021年抽查评级为优的各预算单位申请
预算资金给予优先安排" — units whose 2021 spot check (抽查复核) was graded 优 had their budget
requests given priority (优先安排).

ILLUSTRATIVE (every text says 示例): which units (two of the sample's units, 民政局 and 相南
街道), their 2021 subjects, funds, goals, self-evaluations and spot-check scores, the 2022
requests and their amounts, and that 民政局's 2022 农村最低生活保障金 (附件1 row 5) continues
its 2021 project (延续项目, named by the 2022 subject's registration: `PREDECESSORS`). The
2021 cycle is recorded as its own fiscal year, so none of this touches 2022's tables.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from ledger.grades import Grade
from ledger.runtime import Actor
from ledger.sample.self_evaluations import budget_lines, results

YEAR = 2021
ILLUSTRATIVE = "（示例）"
PLAN_ID = "XS-2021-CCFH"
# (code, name, kind, unit code, funds in 万元, spot-checked)
SUBJECTS = (
    ("XS-2021-DO-01", "相山区民政局2021年部门整体支出（示例）", "department_overall", "XS-U03",
     "1480.00", True),
    ("XS-2021-DO-02", "相山区相南街道办事处2021年部门整体支出（示例）", "subdistrict", "XS-U06",
     "1935.00", True),
    ("XS-2021-KP-01", "相山区民政局2021年农村最低生活保障金（示例）", "project", "XS-U03",
     "612.40", False),
)
# The 2022 subject (附件1) -> the 2021 subject it continues.
PREDECESSORS = {"XS-2022-KP-05": "XS-2021-KP-01"}
# (graded 2021 subject, its unit, 2022 request, continuing 2021 subject or "", new project's
# name, requested = arranged amount in 万元)
REQUESTS = (
    ("XS-2021-DO-01", "XS-U03", "XS-2022-REQ-01", "XS-2021-KP-01", "", "640.85"),
    ("XS-2021-DO-02", "XS-U06", "XS-2022-REQ-02", "", "相南街道2022年社区养老服务站运营（示例）",
     "120.00"),
)
GOALS = [
    {"level1": "产出", "level2": "数量", "name": "任务完成数", "comparator": ">=",
     "target": "100", "unit": "%", "weight": "30"},
    {"level1": "产出", "level2": "时效", "name": "按期完成率", "comparator": ">=",
     "target": "95", "unit": "%", "weight": "20"},
    {"level1": "效益", "level2": "社会效益", "name": "服务保障水平", "comparator": "qualitative",
     "target": "有效提升", "unit": "", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度", "name": "服务对象满意度",
     "comparator": ">=", "target": "90", "unit": "%", "weight": "20"},
]


def load_year_before(app: Ledger, run: Any, actor: Actor) -> None:
    """The 2021 cycle, its subjects, their 优 spot checks and the 2022 requests they gave
    priority (before 2022's subjects, which may name a 2021 predecessor); `run` is the
    loader's (method, key, **fields)."""
    run("open_fiscal_year", str(YEAR), fiscal_year=YEAR, effective_on=date(2021, 1, 1))
    for code, name, kind, unit, funds, _checked in SUBJECTS:
        run("register_subject", code, code=code, name=name, kind=kind, fiscal_year=YEAR,
            unit_code=unit, funds=funds, is_key=kind == "project",
            tags=["民生"] if kind == "project" else [], effective_on=date(2021, 1, 1))
        run("declare_goals", code, subject_code=code, indicators=GOALS,
            effective_on=date(2020, 11, 16))
        run("review_goals", code, subject_code=code, decision="approve",
            comments="同意" + ILLUSTRATIVE, effective_on=date(2021, 1, 8))
        run("submit_self_evaluation", code, subject_code=code,
            budget_lines=budget_lines(Decimal(funds), Decimal("0.98")),
            indicator_results=results(False), effective_on=date(2022, 2, 25))
        run("review_self_evaluation", code, subject_code=code, version=1, decision="accept",
            comments="同意" + ILLUSTRATIVE, effective_on=date(2022, 3, 1))
    checked = [s for s in SUBJECTS if s[5]]
    # Not through run(): its `method` argument would collide with the command's field.
    app.draw_sampling_plan({
        "command_id": f"sample-{YEAR}-draw_sampling_plan-{YEAR}", "plan_id": PLAN_ID,
        "fiscal_year": YEAR, "title": f"{YEAR}年度部门整体支出抽查复核{ILLUSTRATIVE}",
        "method": "key", "subjects": [{"subject_code": s[0], "reason": "部门整体支出抽查复核"
                                       + ILLUSTRATIVE} for s in checked],
        "effective_on": date(2022, 3, 7)}, actor)
    spot_checks: dict[str, str] = {}
    for code, *_rest in checked:
        self_score = app.subject(code).self_evaluation
        assert self_score is not None
        spot = run("record_spot_check", code, subject_code=code, reviews="self",
                   score=str(self_score.score - Decimal("1.50")), plan_id=PLAN_ID,
                   findings=[], effective_on=date(2022, 3, 18))
        spot_checks[code] = spot.ids["spotCheckId"]
        run("assign_grade", code, subject_code=code, grade=Grade.EXCELLENT.value,
            basis_kind="spot_check", basis_id=spot_checks[code],
            effective_on=date(2022, 3, 25))
    _priorities(run, spot_checks)


def _priorities(run: Any, spot_checks: dict[str, str]) -> None:
    """The 2022 requests of the units graded 优, given priority citing the 2021 spot check
    (the consequence rule records its version and wording), then arranged."""
    run("open_fiscal_year", str(YEAR + 1), fiscal_year=YEAR + 1, effective_on=date(2022, 1, 1))
    for graded, unit, request, continues, project, amount in REQUESTS:
        run("record_budget_request", request, fiscal_year=YEAR + 1, code=request,
            unit_code=unit, subject_code=continues or None, project_name=project,
            funding_source="一般公共预算", requested_amount=amount,
            effective_on=date(2022, 4, 15))
        run("apply_result", f"priority-{request}", subject_code=graded, kind="priority",
            cites_kind="spot_check", cites_id=spot_checks[graded],
            target_kind="budget_request", target_id=request,
            remarks="2021年抽查评级为优，申请预算资金给予优先安排" + ILLUSTRATIVE,
            effective_on=date(2022, 4, 20))
        run("arrange_budget", request, fiscal_year=YEAR + 1, request_code=request,
            arranged_amount=amount, remarks="示例安排数", effective_on=date(2022, 5, 10))
