"""An evaluation known only by its published grade (an imported annex row) reads like any other.

Imported rows and `recordEvaluation` with `publishedGrade` and no dimensions record no score.
The API answers them with `score: null` and the grade and its label present, both in the
subject's detail and in the mutation's reply (issue 15).
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Api, cid
from tests.integration.helpers import approved_subject, setup_units
from tests.integration.test_import_export import import_seed

DETAIL = """query($code: String!) { ledger { subject(code: $code) {
    score grade gradeLabel
    evaluations { kind score publishedGrade narrative dimensions { name } }
    grading { grade label score basisKind } } } }"""
CODES = """{ ledger { subjects(fiscalYear: 2022, first: 100) { edges { node { code } } } } }"""


def test_an_imported_subject_answers_with_its_grade_and_no_score(api: Api,
                                                                   tmp_path: Path) -> None:
    import_seed(api.ledger, "xlsx", tmp_path)
    edges = api.data(CODES)["ledger"]["subjects"]["edges"]
    assert len(edges) == 16
    for item in (e["node"] for e in edges):
        subject = api.data(DETAIL, {"code": item["code"]})["ledger"]["subject"]
        assert subject is not None, item
        [evaluation] = subject["evaluations"]
        assert evaluation["score"] is None and evaluation["dimensions"] == []
        assert evaluation["publishedGrade"] == subject["grade"] is not None
        grading = subject["grading"]
        assert grading["score"] is None and grading["basisKind"] == "evaluation"
        assert grading["grade"] == subject["grade"]
        assert grading["label"] == subject["gradeLabel"] and grading["label"] in "优良中差"
        assert subject["score"] is None


def test_a_grade_only_evaluation_is_acknowledged_with_a_null_score(api: Api) -> None:
    setup_units(api.ledger)
    approved_subject(api.ledger, "S1")
    reply = api.data("""mutation($input: RecordEvaluationInput!) {
        recordEvaluation(input: $input) { __typename
          ... on RecordEvaluationResult { evaluationId score position ids { name value } }
          ... on Refusal { code message } } }""", {"input": {
        "commandId": cid(), "subjectCode": "S1", "kind": "FINANCE", "publishedGrade": "GOOD",
        "narrative": "财政评价结论为良", "evaluatedOn": "2023-03-31"}})["recordEvaluation"]
    assert reply["__typename"] == "RecordEvaluationResult", reply
    assert reply["score"] is None and reply["evaluationId"].startswith("eva-")
    assert [i["name"] for i in reply["ids"]] == ["evaluationId"]
    subject = api.data(DETAIL, {"code": "S1"})["ledger"]["subject"]
    assert subject["evaluations"] == [{"kind": "finance", "score": None, "publishedGrade": "GOOD",
                                       "narrative": "财政评价结论为良", "dimensions": []}]
