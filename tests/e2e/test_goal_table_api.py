"""The goal table and the indicator library through the real app (docs/domain.md §2): read
as of any moment in GraphQL, refused with the indicator named, downloaded as xlsx (re-read
with openpyxl) and PDF (re-read with pdftotext)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.e2e.conftest import Api, cid

GOAL_TABLE = """query($p: Int, $code: String!) { ledger(position: $p) { position
  subject(code: $code) { goalStatus goals { name libraryCode }
    goalTable { status revision overallGoal
      fundsBySource { currentAppropriation carriedOver other total }
      history { action revision text actorRole effectiveOn } } } } }"""
LIBRARY = """query($p: Int, $sector: String) { ledger(position: $p) {
  indicatorLibrary(sector: $sector) { code sector level1 level2 name unit direction
    referenceValue revision status } } }"""
RETURNED = "XS-2022-KP-05"  # the sample's subject whose goals were returned once


def goal_table(api: Api, position: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = api.data(GOAL_TABLE, {"p": position, "code": RETURNED})["ledger"]
    return found


def test_the_goal_table_and_its_review_exchange_read_as_of_any_moment(sample_api: Api) -> None:
    now = goal_table(sample_api)
    table = now["subject"]["goalTable"]
    assert table["status"] == "approved" and table["revision"] == 2
    assert [h["action"] for h in table["history"]] == ["declared", "returned", "declared",
                                                       "approved"]
    assert "年度总体目标" in table["history"][1]["text"]
    assert table["history"][1]["actorRole"] == "finance_bureau"
    assert "示例" in table["overallGoal"]  # illustrative, and says so
    assert table["fundsBySource"]["total"] == "640.85"
    assert {g["libraryCode"] for g in now["subject"]["goals"]} >= {"TY-SX-001", "TY-MY-001"}

    trail = sample_api.data("""query($code: String!) { ledger { auditTrail(subjectCode: $code,
      first: 50) { edges { node { position type } } } } }""", {"code": RETURNED})
    returned = next(e["node"]["position"] for e in trail["ledger"]["auditTrail"]["edges"]
                    if e["node"]["type"].endswith("GoalsReturned"))
    then = goal_table(sample_api, returned)["subject"]["goalTable"]
    assert then["status"] == "returned" and then["overallGoal"] == ""
    assert [h["action"] for h in then["history"]] == ["declared", "returned"]
    assert then["fundsBySource"] is None


def test_the_indicator_library_reads_as_of_any_moment(sample_api: Api) -> None:
    library = sample_api.data(LIBRARY)["ledger"]["indicatorLibrary"]
    assert {e["code"] for e in library} == {"TY-SX-001", "TY-MY-001", "SB-SL-001", "CZ-SL-001"}
    general = sample_api.data(LIBRARY, {"sector": "通用"})["ledger"]["indicatorLibrary"]
    assert [e["code"] for e in general] == ["TY-MY-001", "TY-SX-001"]
    before_revision = sample_api.data("{ ledger { position } }")["ledger"]["position"]
    revised = sample_api.mutate("reviseLibraryIndicator", {
        "commandId": cid(), "code": "TY-MY-001", "sector": "通用", "level1": "满意度",
        "level2": "服务对象满意度", "name": "服务对象满意度", "unit": "%", "direction": ">=",
        "referenceValue": "95", "reason": "提高标准"})
    assert revised["__typename"].endswith("Result"), revised
    latest = {e["code"]: e for e in sample_api.data(LIBRARY)["ledger"]["indicatorLibrary"]}
    assert (latest["TY-MY-001"]["revision"], latest["TY-MY-001"]["referenceValue"]) == (2, "95")
    before = {e["code"]: e for e in sample_api.data(
        LIBRARY, {"p": before_revision})["ledger"]["indicatorLibrary"]}
    assert (before["TY-MY-001"]["revision"], before["TY-MY-001"]["referenceValue"]) == (1, "90")
    assert sample_api.data(LIBRARY, {"p": 1})["ledger"]["indicatorLibrary"] == []


def test_refusals_name_the_indicator(sample_api: Api) -> None:
    register = sample_api.mutate("registerSubject", {
        "commandId": cid(), "code": "GT-1", "name": "测试项目", "kind": "PROJECT",
        "fiscalYear": 2022, "unitCode": "XS-U01", "funds": "10.00"})
    assert register["__typename"].endswith("Result"), register
    indicator = {"level1": "满意度", "level2": "服务对象满意度", "name": "群众满意度",
                 "comparator": ">=", "target": "90", "unit": "%", "weight": "100"}
    pair = sample_api.mutate("declareGoals", {"commandId": cid(), "subjectCode": "GT-1",
                                              "indicators": [{**indicator, "level1": "产出"}]})
    assert (pair["code"], pair["field"]) == ("INDICATOR_LEVELS_NOT_ALLOWED",
                                             "indicators.0.level2"), pair
    assert "群众满意度" in pair["message"]
    code = sample_api.mutate("declareGoals", {"commandId": cid(), "subjectCode": "GT-1",
                                              "indicators": [{**indicator, "unit": "分",
                                                              "libraryCode": "TY-MY-001"}]})
    assert (code["code"], code["field"]) == ("LIBRARY_INDICATOR_MISMATCH",
                                             "indicators.0.unit"), code
    assert "群众满意度" in code["message"]


def test_the_goal_table_downloads_as_xlsx(sample_api: Api) -> None:
    response = sample_api.client.get(f"/exports/goal-tables/{RETURNED}.xlsx")
    assert response.status_code == 200, response.text
    assert "goal-table-XS-2022-KP-05-2022.xlsx" in response.headers["content-disposition"]
    position = response.headers["x-jixiao-position"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [tuple(c for c in row if c is not None) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ("2022年度项目支出绩效目标表",)
    labels = {row[0]: row[1] for row in rows if len(row) == 2}
    assert labels["项目名称"] == "相山区民政局2022年农村最低生活保障金"
    assert labels["年度资金总额（万元）"] == "640.85"
    assert "第1版 退回" in labels["审核记录"] and "第2版 批复" in labels["审核记录"]
    header = rows.index(("一级指标", "二级指标", "三级指标", "指标方向", "指标值", "计量单位",
                         "权重", "指标库编码"))
    body = rows[header + 1:header + 5]
    assert [r[2] for r in body] == ["任务完成数", "按期完成率", "服务保障水平", "服务对象满意度"]
    assert body[1][-1] == "TY-SX-001" and body[1][3] == "≥"
    assert any(f"数据截至账本位置 {position}" in str(r[0]) for r in rows if r)
    missing = sample_api.client.get("/exports/goal-tables/NO-SUCH.xlsx")
    assert missing.status_code == 404
    assert sample_api.client.get(f"/exports/goal-tables/{RETURNED}.csv").status_code == 400


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_goal_table_downloads_as_pdf(sample_api: Api, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("poppler-utils (pdftotext) must be installed under CI=true")
        pytest.skip("poppler-utils not installed (apt-get install -y poppler-utils)")
    response = sample_api.client.get(f"/exports/goal-tables/{RETURNED}.pdf")
    assert response.status_code == 200, response.text
    out = tmp_path / "goal-table.pdf"
    out.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True,
                          capture_output=True, text=True).stdout
    for expected in ("2022年度项目支出绩效目标表", "年度总体目标", "本年财政拨款", "640.85",
                     "服务对象满意度", "TY-MY-001", "第1版 退回",
                     f"数据截至账本位置 {response.headers['x-jixiao-position']}"):
        assert expected in text, expected
