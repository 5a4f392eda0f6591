"""The review forms over GraphQL: 复评结果, sampling plans, frameworks, and the framework each
evaluation was scored on, as of a moment (the sample, through the real app)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.conftest import Api

pytestmark = pytest.mark.slow


def test_review_results_plans_and_frameworks(sample_api: Api) -> None:
    query = """query($p: Int) { ledger(position: $p) { position
        reviewResults(fiscalYear: 2022) { title rows { seq subjectCode unitName reviewed
            reviewedScore reviewScore difference reviewGradeLabel methodLabel
            indicators { name score reviewedScore difference remarks } } }
        samplingPlans(fiscalYear: 2022) { planId methodLabel subjects { subjectCode reason }
            unitCodes }
        frameworks(on: "2022-12-31") { code version name dimensions { name points }
            minimumDimensions minimumPoints }
        kp08: subject(code: "XS-2022-KP-08") { kind evaluations { framework { code version }
            dimensions { name weight } } }
        do06: subject(code: "XS-2022-DO-06") { kind evaluations { framework { code } } }
        do01: subject(code: "XS-2022-DO-01") { spotChecks { planId score reviewedScore
            difference indicators { name score } } } } }"""
    found = sample_api.data(query)["ledger"]
    review = found["reviewResults"]
    assert review["title"] == "2022年度绩效评价抽查复评结果"
    assert [r["seq"] for r in review["rows"]] == list(range(1, 8))
    first = review["rows"][0]
    assert (first["subjectCode"], first["reviewed"], first["difference"],
            first["methodLabel"]) == ("XS-2022-KP-05", "单位自评", "-1.50", "重点抽取")
    (indicator,) = first["indicators"]
    assert (indicator["name"], indicator["score"], indicator["remarks"]) == (
        "按期完成率", "18.00", "按期完成佐证资料不全")
    if indicator["reviewedScore"] is not None:  # where the self-evaluation records 得分
        assert Decimal(indicator["difference"]) == 18 - Decimal(indicator["reviewedScore"])
    (plan,) = found["samplingPlans"]
    assert len(plan["subjects"]) == 7 and plan["methodLabel"] == "重点抽取"
    frameworks = {f["code"]: f for f in found["frameworks"]}
    assert [d["name"] for d in frameworks["fiscal_operations"]["dimensions"]] == [
        "预算编制", "预算执行", "优化支出结构", "财务管理", "财政投入效果"]
    assert frameworks["project"]["minimumDimensions"] == ["产出", "效益"]
    kp08 = found["kp08"]
    assert kp08["kind"] == "fiscal_operations"
    assert kp08["evaluations"][0]["framework"] == {"code": "fiscal_operations", "version": 1}
    assert found["do06"]["kind"] == "township"
    assert found["do06"]["evaluations"][0]["framework"]["code"] == "township_overall"
    check = found["do01"]["spotChecks"][0]
    assert check["planId"] == "XS-2022-CCFH" and check["difference"] == "-1.50"
    trail = sample_api.data("""{ ledger { subject(code: "XS-2022-KP-05") {
        auditTrail(first: 200) { edges { node { position type } } } } } }""")
    [reviewed_at] = [e["node"]["position"] for e in
                     trail["ledger"]["subject"]["auditTrail"]["edges"]
                     if e["node"]["type"].endswith("SpotCheckRecorded")]
    earlier = sample_api.data(query, {"p": reviewed_at - 1})["ledger"]
    assert len(earlier["reviewResults"]["rows"]) < 7
