"""Load the seed's 2022 data into a ledger.

FACTS (from the source report, verbatim; see xiangshan_2022_annexes.json): the 16 subjects of
附件1 and 附件2, their names, implementing units, funds, 评价情况 narratives and grades; the
agency 安徽准信会计师事务所 and its evaluation of 渠沟镇's fiscal operations from 2022-12-09;
the 1–8月 monitoring window with the snapshot taken in September (ledger.sample.monitoring);
the 100万元 ex-ante threshold; that the evaluation results were reported to the standing
committee and published.
Also facts, read from the source's own words (see `subject_kind`, `unit_kind`, FRAMEWORKS):
which units are a 镇 government (渠沟镇人民政府) or a 街道 office (…街道办事处), what each
subject is (a 街道's or the 镇's 整体支出, a 财政运行综合绩效, a project), and the framework
each 评价情况 is written on — its first-level dimensions by name: projects 决策/过程/产出/效益,
the 街道 and departments 部门决策/部门管理/部门产出/部门效益, 渠沟镇's 财政运行综合绩效 (附件1
row 8) 预算编制/预算执行/优化支出结构/财务管理/财政投入效果, and 渠沟镇's 整体支出 (附件2 row 6)
财政综合管理/财政保障水平/财政职能作用/财政可持续发展.

ILLUSTRATIVE (invented to give each subject a plausible lifecycle; marked `illustrative`):
unit codes, subject codes, the indicator trees, the monitoring round's figures and who
reported, the self-evaluation results, the points each framework gives a dimension (the
source names dimensions, not points: ledger.frameworks' defaults), the dimension scores
(chosen so each total falls in the published grade's band), the sampling plan and its
re-reviews (the source gives their counts, not which subjects), dates other than those
above, and the consequence recorded for each grade.

THE YEAR BEFORE (ledger.sample.previous_year): the report's sentence that units graded 优 in
the 2021 spot check had priority for their budget requests is a fact; the 2021 subjects,
scores, requests and amounts that show it are illustrative and say 示例. They belong to 2021
(and 2022's requests), so 2022's tables and disclosures are what they were.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

from ledger.application import Ledger
from ledger.frameworks import DEFAULT_FRAMEWORKS
from ledger.grades import Grade
from ledger.runtime import Actor
from ledger.sample import monitoring
from ledger.sample.goal_tables import declare_and_approve, load_library
from ledger.sample.previous_year import PREDECESSORS, load_year_before
from ledger.sample.results import load_results
from ledger.sample.self_evaluations import submit_self_evaluation
from ledger.sample.signing import sample_citation

FISCAL_YEAR = 2022
BUREAU = ("XS-CZJ", "相山区财政局")  # illustrative code
AGENCY = ("91340600MA2TZX0001", "安徽准信会计师事务所")  # fact: name; illustrative: code
BUREAU_ACTOR = Actor(id="sample-loader", role="finance_bureau", unit_code=BUREAU[0])


@dataclass(frozen=True)
class SeedRow:
    annex: str  # "key_projects" | "department_overall"
    seq: int
    name: str
    unit: str
    funds: str
    assessment: str
    grade: str  # 优 / 良 / 中 / 差


SEED_FILE = resources.files("ledger.sample").joinpath("xiangshan_2022_annexes.json")


def seed_rows() -> list[SeedRow]:
    raw = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    return [SeedRow(annex=annex, seq=int(r["seq"]), name=r["name"], unit=r["unit"],
                    funds=r["funds"], assessment=r["assessment"], grade=r["grade"])
            for annex in ("key_projects", "department_overall")
            for r in raw[annex]["rows"]]


def unit_kind(unit_name: str) -> str:
    """Fact: the unit's name says whether it is a 镇 government or a 街道 office."""
    if unit_name.endswith("街道办事处"):
        return "street"
    if unit_name.endswith("镇人民政府"):
        return "township"
    return "department"


def subject_kind(row: SeedRow) -> str:
    """Fact: 附件2 holds overall spending, of a 街道 office, the 镇 or a department."""
    if row.annex == "department_overall":
        return {"street": "subdistrict", "township": "township"}.get(
            unit_kind(row.unit), "department_overall")
    return "fiscal_operations" if "财政运行综合绩效" in row.name else "project"


# Fact: the framework each subject's 评价情况 is written on (its dimension names, above).
FRAMEWORKS = {"project": "project", "department_overall": "department_overall",
              "subdistrict": "department_overall", "township": "township_overall",
              "fiscal_operations": "fiscal_operations"}


def unit_codes(rows: list[SeedRow]) -> dict[str, str]:
    """Illustrative unit codes, in order of first appearance."""
    codes: dict[str, str] = {}
    for row in rows:
        codes.setdefault(row.unit, f"XS-U{len(codes) + 1:02d}")
    return codes


# Illustrative: each dimension scores this share of its points (to the half point), so the
# totals land in the published grade's band (92.50 for 优, 85.00 for 良 on 20/20/30/30).
SHARES = {Grade.EXCELLENT: ("0.925", "0.95", "0.9167", "0.9167"),
          Grade.GOOD: ("0.85", "0.875", "0.8333", "0.85")}


def dimension_scores(framework: str, grade: Grade) -> list[dict[str, str]]:
    shares = SHARES[grade]
    found = next(f for f in DEFAULT_FRAMEWORKS if f.code == framework)
    out = []
    for i, d in enumerate(found.dimensions):
        share = Decimal(shares[i % len(shares)])
        score = (d.points * share * 2).quantize(Decimal(1)) / 2
        out.append({"name": d.name, "weight": str(d.points), "score": str(score)})
    return out


def indicators(row: SeedRow) -> list[dict[str, Any]]:
    """An illustrative indicator tree (一级/二级/三级) for every subject."""
    return [
        {"level1": "产出", "level2": "数量", "name": "任务完成数", "comparator": ">=",
         "target": "100", "unit": "%", "weight": "30"},
        {"level1": "产出", "level2": "时效", "name": "按期完成率", "comparator": ">=",
         "target": "95", "unit": "%", "weight": "20"},
        {"level1": "效益", "level2": "社会效益", "name": "服务保障水平",
         "comparator": "qualitative",
         "target": "有效提升", "unit": "", "weight": "30"},
        {"level1": "满意度", "level2": "服务对象满意度", "name": "服务对象满意度",
         "comparator": ">=", "target": "90", "unit": "%", "weight": "20"},
    ]


def load_sample(app: Ledger, *, publish: bool = False) -> int:
    """Record the sample; every command id is fixed, so loading twice appends nothing.

    `publish` also records the tables' disclosure to the standing committee and the public,
    as happened (so anonymous readers of the portal see them); tests that need undisclosed
    data load without it.
    """
    rows = seed_rows()
    actor = BUREAU_ACTOR
    last = 0

    def run(method: str, key: str, **fields: Any) -> Any:
        nonlocal last
        data = {"command_id": f"sample-{FISCAL_YEAR}-{method}-{key}", **fields}
        result = getattr(app, method)(data, actor)
        last = max(last, result.position)
        return result

    run("register_unit", BUREAU[0], code=BUREAU[0], name=BUREAU[1], kind="finance_bureau",
        effective_on=date(2022, 1, 1))
    codes = unit_codes(rows)
    for unit_name, code in codes.items():
        run("register_unit", code, code=code, name=unit_name, kind=unit_kind(unit_name),
            effective_on=date(2022, 1, 1))
    run("adopt_rules", "xiangshan", rules={
        "version": 2, "effective_from": "2022-01-01",
        "monitoring": {"default_window_end_month": 8}}, effective_on=date(2022, 1, 1))
    load_library(run)
    run("admit_agency", AGENCY[0], code=AGENCY[0], name=AGENCY[1],
        qualification="会计师事务所", effective_on=date(2022, 3, 1))
    # the year before: 2021's 优 spot checks and the 2022 requests they gave priority
    load_year_before(app, run, actor)  # (ledger.sample.previous_year)

    monitoring.open_round(run)
    for row in rows:
        load_subject(run, row, codes[row.unit])
    load_spot_checks(app, run, rows)
    load_results(run)  # the 2023 cycle: requests, recovery, transfer (ledger.sample.results)
    if not publish:
        return last
    # Fact: the report and its annex tables were presented to the standing committee and
    # published; the disclosed content is the source's tables themselves (their file's hash).
    published = hashlib.sha256(SEED_FILE.read_bytes()).hexdigest()
    subject_codes = [subject_code(row) for row in rows]
    built_at = last
    proof = sample_citation(app.database, app, built_at)  # with a key, one covering it
    for audience in ("standing_committee", "public"):
        run("record_disclosure", audience, fiscal_year=FISCAL_YEAR, audience=audience,
            title="2022年度重点项目支出和政策及部门整体支出绩效评价情况表",
            subject_codes=subject_codes, content_hash=published, content_position=built_at,
            checkpoint=proof, effective_on=date(2023, 6, 30))
    return last


# Illustrative: the source says the bureau re-reviewed 5 units' overall spending (all 优, ≥ 90)
# and 2 key projects (优良) after the self-evaluations, but not which ones, nor how chosen.
# The sample draws the 优 subjects of 附件2 and two 附件1 projects (重点抽取), and re-scores
# one indicator of each self-evaluation.
SPOT_CHECKED = {"department_overall": (1, 2, 3, 4, 5), "key_projects": (5, 6)}


def load_spot_checks(app: Ledger, run: Any, rows: list[SeedRow]) -> None:
    drawn = [row for row in rows if row.seq in SPOT_CHECKED[row.annex]]
    reasons = {"department_overall": "部门整体支出抽查复核", "key_projects": "财政重点民生工程"}
    # Not through run(): its `method` argument would collide with the command's field.
    app.draw_sampling_plan({
        "command_id": f"sample-{FISCAL_YEAR}-draw_sampling_plan-{FISCAL_YEAR}",
        "plan_id": f"XS-{FISCAL_YEAR}-CCFH", "fiscal_year": FISCAL_YEAR,
        "title": f"{FISCAL_YEAR}年度单位自评和部门评价抽查复核", "method": "key",
        "subjects": [{"subject_code": subject_code(row), "reason": reasons[row.annex]}
                     for row in drawn], "effective_on": date(2023, 5, 8)}, BUREAU_ACTOR)
    for row in drawn:
        code = subject_code(row)
        self_score = app.subject(code).self_evaluation
        assert self_score is not None
        good = Grade.from_label(row.grade) == Grade.EXCELLENT
        run("record_spot_check", code, subject_code=code, reviews="self",
            score=str(self_score.score - (Decimal("1.50") if good else Decimal("4.00"))),
            plan_id=f"XS-{FISCAL_YEAR}-CCFH", effective_on=date(2023, 5, 26),
            findings=[] if good else ["合同约定付款进度未执行到位"],
            indicators=[{"name": "按期完成率", "score": "18" if good else "16",
                         "remarks": "按期完成佐证资料不全" if good else "部分任务未按期完成"}])


def subject_code(row: SeedRow) -> str:
    return f"XS-{FISCAL_YEAR}-{'KP' if row.annex == 'key_projects' else 'DO'}-{row.seq:02d}"


def load_subject(run: Any, row: SeedRow, unit_code: str) -> None:
    code = subject_code(row)
    kind = subject_kind(row)
    funds = Decimal(row.funds).quantize(Decimal("0.01"))
    is_new = kind == "project" and row.seq in (2, 4)  # illustrative: two new projects
    run("register_subject", code, code=code, name=row.name, kind=kind, fiscal_year=FISCAL_YEAR,
        unit_code=unit_code, funds=str(funds), is_new=is_new, is_key=True,
        tags=["民生"] if kind == "project" else [], effective_on=date(2022, 1, 1),
        predecessor_code=PREDECESSORS.get(code))
    if is_new:
        run("record_ex_ante_assessment", code, subject_code=code, conclusion="予以支持",
            dimensions={"立项必要性": "必要", "投入经济性": "经济", "绩效目标合理性": "合理",
                        "实施方案可行性": "可行", "筹资合规性": "合规"},
            effective_on=date(2021, 10, 20))
    declare_and_approve(run, code, funds, indicators(row))  # ledger.sample.goal_tables
    # Illustrative: where the narrative says 预算执行不到位, the September snapshot lags.
    lagging = "预算执行不到位" in row.assessment
    monitoring.report(run, code, funds, lagging=lagging)
    submit_self_evaluation(run, code, funds, lagging)  # ledger.sample.self_evaluations
    commission = run("commission_evaluation", code, subject_code=code, agency_code=AGENCY[0],
                     commissioned_by=BUREAU[0], framework_code=FRAMEWORKS[kind],
                     effective_on=date(2022, 11, 20))
    evaluated_on = date(2022, 12, 9) if kind == "fiscal_operations" else date(2023, 3, 15)
    dims = dimension_scores(FRAMEWORKS[kind], Grade.from_label(row.grade))
    # The bureau's evaluation (财政评价), done by the agency it commissioned.
    evaluation = run("record_evaluation", code, subject_code=code, kind="finance",
                     commission_id=commission.ids["commissionId"], agency_code=AGENCY[0],
                     dimensions=dims, narrative=row.assessment, evaluated_on=evaluated_on,
                     findings=[], effective_on=evaluated_on)
    run("assign_grade", code, subject_code=code, grade=Grade.from_label(row.grade).value,
        basis_kind="evaluation", basis_id=evaluation.ids["evaluationId"],
        effective_on=date(2023, 4, 10))
    priority = "优先" in row.assessment
    run("apply_result", code, subject_code=code, kind="priority" if priority else "continue",
        cites_kind="grade", remarks="财政予以支持，统筹安排，合理保障",
        effective_on=date(2023, 4, 20))
