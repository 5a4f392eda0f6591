"""Who may record which evaluation, through the real HTTP app with real tokens (item 2).

The attack: a budget unit recorded a `FINANCE` evaluation of its own subject (or an agency one
it was never commissioned for); being the newest, it became the grade basis, the bureau's
grading on the commissioned evaluation was refused, and the unit's own text went into the
附件1 评价情况 cell sent to the standing committee. Now the kind says whose evaluation it is,
each kind has its recorders (ledger.permissions), and the grade rests on the 财政评价 before the
部门评价 before the self-evaluation, whatever was recorded last.

Each refusal is typed, names its field and rule, and appends nothing; each test ends with the
published 2022 annex intact (tests/security/conftest.py). The tests' own subjects are of 2023.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ledger.application import Ledger
from tests.e2e.conftest import bearer, cid, issue_token
from tests.integration.helpers import INDICATORS, PROJECT_DIMS, do, max_position
from tests.security.conftest import Served, assert_public_annex_intact

LOWER_DIMS = [{"name": "决策", "weight": "20", "score": "15"},
              {"name": "过程", "weight": "20", "score": "15"},
              {"name": "产出", "weight": "30", "score": "22"},
              {"name": "效益", "weight": "30", "score": "24"}]  # 76.00, 中
FINANCE_TEXT = "财政评价：项目管理规范，资金使用合规，保障对象覆盖率达100%，成效显著。"
DEPARTMENT_TEXT = "部门评价：总体较好，个别指标未完成。"
SELF_CLAIM = "本单位自评：项目绩效优秀，无任何问题。"

POSITION = "{ ledger { position } }"
ANNEX = """query($year: Int!) { ledger { evaluationTable(fiscalYear: $year, table: KEY_PROJECTS) {
  rows { subjectName assessment grade } } } }"""
# The sample's 附件1 row 5 (XS-2022-KP-05), implemented by 相山区民政局 (XS-U03).
SAMPLE_SUBJECT, SAMPLE_UNIT = "XS-2022-KP-05", "XS-U03"
SAMPLE_NAME = "相山区民政局2022年农村最低生活保障金"
DETAIL = """query($code: String!) { ledger { subject(code: $code) {
  grade evaluations { id kind agencyCode narrative } grading { grade basisKind basisId } } } }"""


@dataclass
class World:
    """The served sample, plus the bureau (FB), a department (MZJ) with a subordinate unit
    (MZJ-1), another department (JYJ), agencies AG1–AG3, and each caller's real token."""

    served: Served
    tokens: dict[str, str]

    @property
    def ledger(self) -> Ledger:
        return self.served.ledger

    def post(self, who: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.served.graphql(query, variables, headers=bearer(self.tokens[who]))
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def mutate(self, who: str, name: str, fields: dict[str, Any]) -> dict[str, Any]:
        pascal = name[0].upper() + name[1:]
        query = (f"mutation($input: {pascal}Input!) {{ {name}(input: $input) {{ __typename "
                 "... on CommandSuccess { position ids { name value } } "
                 "... on Refusal { code field rule message } } }")
        found: dict[str, Any] = self.post(who, query, {"input": {"commandId": cid(), **fields}})
        return found[name]

    def position(self) -> int:
        return int(self.post("bureau", POSITION)["ledger"]["position"])

    def refused(self, who: str, name: str, fields: dict[str, Any], code: str | None = None,
                field: str | None = None) -> dict[str, Any]:
        """The mutation is refused with a typed answer naming field and rule; nothing appended."""
        before, stored = self.position(), max_position(self.ledger)
        answer = self.mutate(who, name, fields)
        assert answer["__typename"] in ("Forbidden", "RuleViolation", "ValidationError",
                                        "NotFound"), answer
        assert answer["field"] and answer["rule"] and answer["message"], answer
        if code is not None:
            assert answer["code"] == code, answer
        if field is not None:
            assert answer["field"] == field, answer
        assert max_position(self.ledger) == stored, "a refusal appends nothing"
        assert self.position() == before
        return answer

    def done(self, who: str, name: str, fields: dict[str, Any]) -> dict[str, str]:
        answer = self.mutate(who, name, fields)
        assert answer["__typename"].endswith("Result"), answer
        return {i["name"]: i["value"] for i in answer["ids"]}

    def commission(self, who: str, subject: str, agency: str, by: str) -> str:
        return self.done(who, "commissionEvaluation", {
            "subjectCode": subject, "agencyCode": agency, "commissionedBy": by})["commissionId"]

    def annex_row(self, name: str, year: int = 2023) -> dict[str, Any]:
        rows = self.post("bureau", ANNEX, {"year": year})["ledger"]["evaluationTable"]["rows"]
        [row] = [r for r in rows if r["subjectName"] == name]
        return dict(row)

    def subject(self, code: str) -> dict[str, Any]:
        found: dict[str, Any] = self.post("bureau", DETAIL, {"code": code})["ledger"]["subject"]
        return found


def evaluation(subject: str, kind: str | None, narrative: str,
               dims: list[dict[str, str]] = PROJECT_DIMS, **extra: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"subjectCode": subject, "dimensions": dims,
                              "narrative": narrative, "evaluatedOn": "2023-03-15", **extra}
    if kind is not None:
        fields["kind"] = kind
    return fields


def approved(app: Ledger, code: str, name: str, unit: str) -> None:
    do(app, "register_subject", code=code, name=name, kind="project", fiscal_year=2023,
       unit_code=unit, funds="640.85", is_key=True)
    do(app, "declare_goals", subject_code=code, indicators=INDICATORS)
    do(app, "review_goals", subject_code=code, decision="approve")


@pytest.fixture
def world(served: Served) -> World:
    tokens = {
        "bureau": issue_token(served.db),
        "MZJ": issue_token(served.db, "budget_unit", unit="MZJ"),
        "MZJ-1": issue_token(served.db, "budget_unit", unit="MZJ-1"),
        "JYJ": issue_token(served.db, "budget_unit", unit="JYJ"),
        SAMPLE_UNIT: issue_token(served.db, "budget_unit", unit=SAMPLE_UNIT),
        **{code: issue_token(served.db, "agency", agency=code)
           for code in ("AG1", "AG2", "AG3", "AGX")},  # AGX: never admitted
    }
    app = served.ledger
    do(app, "register_unit", code="FB", name="某区财政局", kind="finance_bureau")
    do(app, "register_unit", code="MZJ", name="某区民政局")
    do(app, "register_unit", code="MZJ-1", name="某区社会福利院", kind="subordinate",
       parent_code="MZJ")
    do(app, "register_unit", code="JYJ", name="某区教育局")
    for code in ("AG1", "AG2", "AG3"):
        do(app, "admit_agency", code=code, name=f"会计师事务所{code}")
    approved(app, "S1", "某区民政局2023年农村最低生活保障金", "MZJ")
    approved(app, "S2", "某区社会福利院2023年养老服务补助", "MZJ-1")
    return World(served, tokens)


# -- (a) a budget unit never records the finance bureau's evaluation ----------------------------


def test_a_budget_unit_cannot_record_a_finance_evaluation_of_its_own_subject(
        world: World) -> None:
    # The finding as it happened: the unit's own text for the standing committee's 附件1.
    published = world.annex_row(SAMPLE_NAME, 2022)
    for kind in ("FINANCE", "DEPARTMENT"):
        world.refused(SAMPLE_UNIT, "recordEvaluation", evaluation(
            SAMPLE_SUBJECT, kind, SELF_CLAIM, evaluationId=f"self-{kind}"))
    assert world.annex_row(SAMPLE_NAME, 2022) == published
    assert published["assessment"] != SELF_CLAIM and published["grade"] == "EXCELLENT"

    for unit, subject in (("MZJ-1", "S2"), ("MZJ", "S1"), ("MZJ", "S2")):
        world.refused(unit, "recordEvaluation", evaluation(subject, "FINANCE", SELF_CLAIM),
                      "NOT_YOUR_EVALUATION", "kind")
    # Nor a department evaluation of a subject it implements (that is the self-evaluation),
    # nor of a subject outside its department.
    world.refused("MZJ-1", "recordEvaluation", evaluation("S2", "DEPARTMENT", SELF_CLAIM))
    world.refused("MZJ", "recordEvaluation", evaluation("S1", "DEPARTMENT", SELF_CLAIM),
                  "SELF_EVALUATION_ONLY", "subjectCode")
    world.refused("JYJ", "recordEvaluation", evaluation("S2", "DEPARTMENT", SELF_CLAIM),
                  "SUBJECT_NOT_FOUND", "subjectCode")  # outside its reach: as if unknown
    # Nor pass the kind off as a commission that is not its own.
    com = world.commission("bureau", "S2", "AG1", "FB")
    world.refused("MZJ-1", "recordEvaluation", evaluation(
        "S2", None, SELF_CLAIM, commissionId=com, agencyCode="AG1"), "NOT_YOUR_COMMISSION")
    assert world.subject("S2")["evaluations"] == []
    assert_public_annex_intact(world.served.url)


# -- (b) an agency records only under a commission it holds, while admitted -------------------


def test_an_agency_records_only_under_its_commission_while_admitted(world: World) -> None:
    # Holding no commission on the subject, an agency meets it as an unknown one.
    elsewhere = world.commission("bureau", "S2", "AG1", "FB")
    for kind in ("FINANCE", "DEPARTMENT"):
        for agency in ("AG1", "AGX"):  # admitted but not commissioned for S1; never admitted
            world.refused(agency, "recordEvaluation",
                          evaluation("S1", kind, "x", agencyCode=agency),
                          "SUBJECT_NOT_FOUND", "subjectCode")
    # Commissioned by the bureau for S1, it records under that commission and nothing else.
    com = world.commission("bureau", "S1", "AG1", "FB")
    for kind in ("FINANCE", "DEPARTMENT"):
        world.refused("AG1", "recordEvaluation", evaluation("S1", kind, "x", agencyCode="AG1"),
                      "INVALID_INPUT", "commissionId")
        world.refused("AG1", "recordEvaluation", evaluation("S1", kind, "x"),
                      "COMMISSION_REQUIRED", "commissionId")
    world.refused("AG1", "recordEvaluation", evaluation(
        "S1", "FINANCE", "x", commissionId=elsewhere, agencyCode="AG1"), "COMMISSION_NOT_FOUND")
    # The bureau's commission is for its 财政评价, not a department's evaluation.
    world.refused("AG1", "recordEvaluation", evaluation(
        "S1", "DEPARTMENT", "x", commissionId=com, agencyCode="AG1"),
        "KIND_NOT_COMMISSIONED", "kind")
    # Another agency's commission is not its own.
    theirs = world.commission("bureau", "S1", "AG2", "FB")
    world.refused("AG1", "recordEvaluation", evaluation(
        "S1", "FINANCE", "x", commissionId=theirs, agencyCode="AG2"), "NOT_YOUR_COMMISSION")
    # A suspended agency records nothing, even under its commission.
    do(world.ledger, "suspend_agency", code="AG2", reason="执业质量考核不合格")
    for kind in ("FINANCE", None):
        world.refused("AG2", "recordEvaluation", evaluation(
            "S1", kind, "x", commissionId=theirs, agencyCode="AG2"),
            "AGENCY_NOT_ADMITTED", "agencyCode")
    assert world.subject("S1")["evaluations"] == []
    assert_public_annex_intact(world.served.url)


# -- (c) the 财政评价 stays the grade basis and the annex text -------------------------------------


def test_the_finance_evaluation_stays_the_basis_after_later_ones(world: World) -> None:
    com = world.commission("bureau", "S2", "AG1", "FB")
    finance = world.done("AG1", "recordEvaluation", evaluation(
        "S2", "FINANCE", FINANCE_TEXT, commissionId=com, agencyCode="AG1"))["evaluationId"]
    grade = {"subjectCode": "S2", "grade": "EXCELLENT", "basisKind": "EVALUATION",
             "basisId": finance}
    world.done("bureau", "assignGrade", grade)
    # Later: the department's own evaluation of its subordinate's subject, and the unit's
    # self-evaluation (the only evaluation a unit records of its own subject).
    department = world.done("MZJ", "recordEvaluation", evaluation(
        "S2", "DEPARTMENT", DEPARTMENT_TEXT, LOWER_DIMS))["evaluationId"]
    world.done("MZJ-1", "submitSelfEvaluation", {
        "subjectCode": "S2", "budgetAmount": "640.85", "executedAmount": "640.85",
        "indicatorResults": [{"name": "覆盖人数", "actual": "1000"},
                             {"name": "保障水平", "achieved": True},
                             {"name": "满意度", "actual": "99"}]})

    detail = world.subject("S2")
    assert [(e["kind"], e["agencyCode"]) for e in detail["evaluations"]] == [
        ("finance", "AG1"), ("department", None)]
    assert detail["grading"] == {"grade": "EXCELLENT", "basisKind": "evaluation",
                                 "basisId": finance}
    # The bureau's grading on its evaluation still stands as the authoritative one: grading it
    # again is accepted, grading the later department evaluation is refused.
    world.done("bureau", "assignGrade", grade)
    world.refused("bureau", "assignGrade", {
        "subjectCode": "S2", "grade": "FAIR", "basisKind": "EVALUATION", "basisId": department},
        "BASIS_NOT_AUTHORITATIVE", "basis")
    world.refused("bureau", "assignGrade", {
        "subjectCode": "S2", "grade": "EXCELLENT", "basisKind": "SELF_EVALUATION",
        "basisId": "self"}, "BASIS_NOT_AUTHORITATIVE", "basis")
    # The standing committee's 附件1 prints the 财政评价's text beside its grade.
    assert world.annex_row("某区社会福利院2023年养老服务补助") == {
        "subjectName": "某区社会福利院2023年养老服务补助", "assessment": FINANCE_TEXT,
        "grade": "EXCELLENT"}
    assert_public_annex_intact(world.served.url)


# -- (d) a department may commission its own evaluation; a tied agency may not do it ------------


def test_a_department_commissions_an_agency_for_its_own_subject(world: World) -> None:
    com = world.commission("MZJ", "S1", "AG1", "MZJ")
    ids = world.done("AG1", "recordEvaluation", evaluation(
        "S1", None, DEPARTMENT_TEXT, commissionId=com, agencyCode="AG1"))
    [recorded] = world.subject("S1")["evaluations"]
    assert recorded == {"id": ids["evaluationId"], "kind": "department", "agencyCode": "AG1",
                        "narrative": DEPARTMENT_TEXT}
    # The department commissions in its own name only, and only over its own units' subjects.
    world.refused("MZJ", "commissionEvaluation", {
        "subjectCode": "S1", "agencyCode": "AG1", "commissionedBy": "FB"},
        "NOT_THE_COMMISSIONER", "commissionedBy")
    world.refused("JYJ", "commissionEvaluation", {
        "subjectCode": "S1", "agencyCode": "AG1", "commissionedBy": "JYJ"})
    assert_public_annex_intact(world.served.url)


def test_an_agency_with_a_declared_relationship_is_refused(world: World) -> None:
    world.done("AG2", "declareAgencyRelationship", {
        "code": "AG2", "unitCode": "MZJ", "relationship": "为某区民政局提供年度财务审计"})
    world.refused("AG2", "declareAgencyRelationship", {
        "code": "AG3", "unitCode": "MZJ", "relationship": "x"}, "NOT_YOUR_AGENCY", "code")
    # Tied to the commissioner, and to the subject's unit (S1), or the unit above it (S2).
    world.refused("MZJ", "commissionEvaluation", {
        "subjectCode": "S1", "agencyCode": "AG2", "commissionedBy": "MZJ"},
        "AGENCY_NOT_INDEPENDENT", "agencyCode")
    for subject in ("S1", "S2"):
        world.refused("bureau", "commissionEvaluation", {
            "subjectCode": subject, "agencyCode": "AG2", "commissionedBy": "FB"},
            "AGENCY_NOT_INDEPENDENT", "agencyCode")
    # A tie declared after the commission stops the evaluation.
    com = world.commission("bureau", "S2", "AG3", "FB")
    world.done("bureau", "declareAgencyRelationship", {
        "code": "AG3", "unitCode": "MZJ-1", "relationship": "受托管理该院专项资金"})
    world.refused("AG3", "recordEvaluation", evaluation(
        "S2", "FINANCE", "x", commissionId=com, agencyCode="AG3"),
        "AGENCY_NOT_INDEPENDENT", "agencyCode")
    assert world.subject("S1")["evaluations"] == world.subject("S2")["evaluations"] == []
    assert_public_annex_intact(world.served.url)


# -- the deprecated THIRD_PARTY kind --------------------------------------------------------------


def test_third_party_reads_as_the_commissions_kind(world: World) -> None:
    com = world.commission("MZJ", "S1", "AG1", "MZJ")
    world.done("AG1", "recordEvaluation", evaluation(
        "S1", "THIRD_PARTY", DEPARTMENT_TEXT, commissionId=com, agencyCode="AG1"))
    assert [e["kind"] for e in world.subject("S1")["evaluations"]] == ["department"]
    # Without a commission it says whose evaluation nothing is.
    world.refused("bureau", "recordEvaluation", evaluation("S2", "THIRD_PARTY", "x"),
                  "INVALID_INPUT", "kind")
    assert_public_annex_intact(world.served.url)
