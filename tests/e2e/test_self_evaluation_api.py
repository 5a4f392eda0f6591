"""The self-evaluation table through the API: every version with its review, the rule version
that scored it, and the accepted one as the grade's possible basis."""

from __future__ import annotations

from tests.e2e.conftest import Api

QUERY = """query($code: String!) { ledger { subject(code: $code) {
    selfEvaluation { version status score }
    selfEvaluations { version status score ruleVersion rule reviewReasons submittedOn
        initialBudget fullYearBudget executed executionRate
        budgetLines { source initialBudget fullYearBudget executed }
        indicators { level1 name target actual band points score deviationReason }
        totals { name points score } } } } }"""


def test_a_returned_and_a_resubmitted_table_both_show(sample_api: Api) -> None:
    # The sample's 预算执行不到位 subject: returned once, then accepted.
    found = sample_api.data(QUERY, {"code": "XS-2022-KP-10"})["ledger"]["subject"]
    first, second = found["selfEvaluations"]
    assert (first["version"], first["status"], second["version"], second["status"]) == (
        1, "returned", 2, "accepted")
    assert first["reviewReasons"] == ["全年执行数与国库支付数据不一致，请核对后重新填报"]
    assert found["selfEvaluation"] == {"version": 2, "status": "accepted",
                                       "score": second["score"]}
    assert first["ruleVersion"] == second["ruleVersion"] == 2
    assert "ROUND_HALF_UP" in second["rule"]
    assert [b["source"] for b in second["budgetLines"]] == ["本年财政拨款", "上年结转"]
    assert second["fullYearBudget"] == "1116.10"
    assert second["executionRate"] == "97.00"
    assert [t["name"] for t in second["totals"]] == ["预算执行率", "产出指标", "效益指标",
                                                     "满意度指标"]
    late = next(i for i in second["indicators"] if i["name"] == "按期完成率")
    assert late["deviationReason"].startswith("合同约定的付款节点滞后")
    assert next(i for i in second["indicators"] if i["band"])["band"] == "达成"
