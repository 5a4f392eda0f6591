"""Per-record form downloads through the real app on both stores (docs/domain.md):
`/exports/self-evaluations/{code}` and `/exports/monitoring-rounds/{round}` as xlsx (read
back with openpyxl) and PDF (read back with pdftotext), with the figures of the sample, the
historic version at a pinned position, what a budget unit may read, and typed refusals."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.sample.monitoring import ROUND_ID
from tests.e2e.conftest import Api, bearer, cid, issue_token
from tests.integration.test_import_export import require_poppler

LAGGING = "XS-2022-KP-10"  # the sample's self-evaluation returned once, then accepted
SELF_EVALUATIONS = f"/exports/self-evaluations/{LAGGING}"
ROUND = f"/exports/monitoring-rounds/{ROUND_ID}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUMMARY = """query($id: String!) { ledger { monitoringRound(roundId: $id) {
  inScope reported late notReported fundsInScope monitoredAmount executedAmount
  executionRate subjects { name unitName } } } }"""


@pytest.fixture(autouse=True)
def no_signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(tmp_path / "no-such.key"))


def rows(content: bytes) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def by_first(found: list[tuple[Any, ...]]) -> dict[Any, tuple[Any, ...]]:
    return {row[0]: row for row in found if row[0] is not None}


def amount(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def download(client: TestClient, url: str, **params: str) -> list[tuple[Any, ...]]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    return rows(response.content)


def refusal(client: TestClient, url: str, status: int, **params: str) -> dict[str, str]:
    response = client.get(url, params=params)
    assert response.status_code == status, response.headers.get("content-type")
    found: dict[str, str] = response.json()["error"]
    return found


@pytest.fixture
def unit_client(sample_api: Api) -> Iterator[TestClient]:
    """A budget unit of 相山区民政局 (XS-U03): its own subjects, not 渠沟镇's."""
    database = sample_api.db
    headers = bearer(issue_token(database, "budget_unit", unit="XS-U03"))
    with TestClient(create_app(database, rate_limit=None), headers=headers) as client:
        yield client


def submissions(api: Api) -> list[int]:
    trail = api.data("""query($code: String!) { ledger { auditTrail(subjectCode: $code,
      first: 80) { edges { node { position type } } } } }""", {"code": LAGGING})
    return [e["node"]["position"] for e in trail["ledger"]["auditTrail"]["edges"]
            if e["node"]["type"].endswith("SelfEvaluationSubmitted")]


def test_a_self_evaluation_downloads_with_its_scores(sample_api: Api) -> None:
    response = sample_api.client.get(f"{SELF_EVALUATIONS}.xlsx")
    assert response.status_code == 200, response.text
    assert 'filename="self-evaluation-XS-2022-KP-10-v2.xlsx"' in response.headers[
        "content-disposition"]
    assert response.headers["x-jixiao-checkpoint"] == "none"
    latest = rows(response.content)
    assert latest[0][0] == "项目支出绩效自评表 (2022年度)"
    labels = by_first(latest)
    assert labels["主管部门"][5:7] == ("第2版", "已审核通过")  # the latest, as the CLI's default
    late = next(r for r in latest if r[2] == "按期完成率")
    assert (late[3], late[4], amount(late[5]), amount(late[6])) == (
        "≥95%", "90%", Decimal("20.00"), Decimal("18.95"))
    assert late[7].startswith("合同约定的付款节点滞后")
    totals = {r[0]: (amount(r[5]), amount(r[6])) for r in latest if r[1] == "合计"}
    assert totals == {"预算执行率": (Decimal("10.00"), Decimal("9.70")),
                      "产出指标": (Decimal("50.00"), Decimal("48.95")),
                      "效益指标": (Decimal("30.00"), Decimal("30.00")),
                      "满意度指标": (Decimal("10.00"), Decimal("10.00"))}
    assert (amount(labels["总分"][5]), amount(labels["总分"][6])) == (Decimal("100.00"),
                                                                     Decimal("98.65"))
    position = response.headers["x-jixiao-position"]
    assert f"数据截至账本位置 {position} (ledger position)" in labels
    again = sample_api.client.get(f"{SELF_EVALUATIONS}.xlsx",
                                  headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304

    # The returned first version, by number: its own execution and score, and why.
    first = download(sample_api.client, f"{SELF_EVALUATIONS}.xlsx", version="1")
    labels = by_first(first)
    assert labels["主管部门"][5:8] == ("第1版", "已退回",
                                      "全年执行数与国库支付数据不一致，请核对后重新填报")
    assert (amount(labels["总分"][6]), by_first(first)["预算执行率"][6]) == (
        Decimal("96.95"), 8)
    assert next(r for r in first if r[1] == "年度资金总额")[7] == "80.00%"

    # Pinned before the second submission, the default is the version of that moment.
    before, second = submissions(sample_api)
    pinned = sample_api.client.get(f"{SELF_EVALUATIONS}.xlsx",
                                   params={"position": str(second - 1)})
    assert pinned.status_code == 200 and pinned.headers["x-jixiao-position"] == str(second - 1)
    assert 'filename="self-evaluation-XS-2022-KP-10-v1.xlsx"' in pinned.headers[
        "content-disposition"]
    assert by_first(rows(pinned.content))["主管部门"][5:7] == ("第1版", "已退回")
    assert by_first(download(sample_api.client, f"{SELF_EVALUATIONS}.xlsx",
                             position=str(before)))["主管部门"][5:7] == ("第1版", "待审核")
    assert refusal(sample_api.client, f"{SELF_EVALUATIONS}.xlsx", 404, version="2",
                   position=str(before))["parameter"] == "version"
    assert refusal(sample_api.client, f"{SELF_EVALUATIONS}.xlsx", 404,
                   position=str(before - 1))["parameter"] == "code"  # none submitted yet


def test_self_evaluation_refusals_are_typed(sample_api: Api, unit_client: TestClient) -> None:
    client = sample_api.client
    assert refusal(client, f"{SELF_EVALUATIONS}.csv", 400) == {
        "message": "unknown format 'csv' for a self-evaluation table; use xlsx or pdf",
        "parameter": "format"}
    assert refusal(client, SELF_EVALUATIONS, 400)["parameter"] == "format"
    for bad in ("x", "0", "-1", "1.0", "٣", "", "9" * 30):
        assert refusal(client, f"{SELF_EVALUATIONS}.xlsx", 400, version=bad)[
            "parameter"] == "version", bad
    unknown = refusal(client, f"{SELF_EVALUATIONS}.pdf", 404, version="3")
    assert unknown["parameter"] == "version" and "version 3" in unknown["message"]
    head = client.get(f"{SELF_EVALUATIONS}.xlsx").headers["x-jixiao-position"]
    assert refusal(client, "/exports/self-evaluations/NO-SUCH.xlsx", 404) == {
        "message": f"no subject 'NO-SUCH' at position {head}", "parameter": "code"}
    for bad in ("x", "٣", "9" * 5000):  # int() of 4300+ digits raises: a 500 before
        for url in (f"{SELF_EVALUATIONS}.xlsx", "/exports/2022/key-projects.csv"):
            assert refusal(client, url, 400, position=bad)["parameter"] == "position"
    assert refusal(client, f"{SELF_EVALUATIONS}.xlsx", 400, position="1",
                   asOf="2023-01-01T00:00:00+08:00")["parameter"] == "asOf"

    registered = sample_api.mutate("registerSubject", {
        "commandId": cid(), "code": "FE-1", "name": "未自评项目", "kind": "PROJECT",
        "fiscalYear": 2022, "unitCode": "XS-U03", "funds": "10.00"})
    assert registered["__typename"].endswith("Result"), registered
    none = refusal(client, "/exports/self-evaluations/FE-1.xlsx", 404)
    assert none["parameter"] == "code" and "has no self-evaluation" in none["message"]

    # Another unit's subject is unknown to a budget unit, whatever the version asked;
    # its own unit's table downloads.
    for params in ({}, {"version": "1"}, {"version": "3"}):
        hidden = refusal(unit_client, f"{SELF_EVALUATIONS}.xlsx", 404, **params)
        assert hidden["parameter"] == "code", params
        assert hidden["message"].startswith(f"no subject '{LAGGING}' at position")
    own = download(unit_client, "/exports/self-evaluations/XS-2022-KP-05.xlsx")
    assert by_first(own)["项目名称"][5] == "XS-2022-KP-05"


def test_a_monitoring_round_downloads_with_its_counts_and_amounts(sample_api: Api) -> None:
    response = sample_api.client.get(f"{ROUND}.xlsx")
    assert response.status_code == 200, response.text
    assert 'filename="monitoring-round-XS-2022-MON-01-08.xlsx"' in response.headers[
        "content-disposition"]
    found = rows(response.content)
    labels = by_first(found)
    assert found[0][0] == "2022年1-8月绩效运行监控汇总表"
    assert labels["报送情况"][1] == "应报16个，按期报送13个，逾期报送1个，未报送2个"
    assert labels["监控汇总"][1].endswith(
        "跟踪监控项目14个，监控资金29152.89万元，预算执行率60.97%")
    assert labels["预警处理"][1] == "调整预算 1项"
    body = [r for r in found if isinstance(r[0], int)]
    assert [r[0] for r in body] == list(range(1, 17))
    assert [r[4] for r in body].count("未报送") == 2
    late = next(r for r in body if r[4] == "逾期报送")
    assert (late[1], late[5]) == ("相山区渠沟镇人民政府2022年锦鲤文化和生态文旅项目", "2022-09-28")
    total = labels["合计"]
    assert [amount(total[i]) for i in (3, 6, 7, 8)] == [
        Decimal("31030.61"), Decimal("29152.89"), Decimal("17773.46"), Decimal("60.97")]
    before = response.headers["x-jixiao-position"]

    # A late report after the download: now 15 received; pinned, the round as it was.
    reported = sample_api.mutate("recordMonitoring", {
        "commandId": cid(), "subjectCode": "XS-2022-KP-04", "roundId": ROUND_ID,
        "roundName": "1-8月", "windowStart": "2022-01-01", "windowEnd": "2022-08-31",
        "budgetAmount": "53.00", "executedAmount": "40.00", "effectiveOn": "2022-09-30",
        "indicators": [{"name": "任务完成数", "progress": "70", "likelihood": "确定能"}]})
    assert reported["__typename"].endswith("Result"), reported
    now = by_first(download(sample_api.client, f"{ROUND}.xlsx"))
    assert now["报送情况"][1] == "应报16个，按期报送13个，逾期报送2个，未报送1个"
    assert amount(now["合计"][6]) == Decimal("29205.89")
    then = by_first(download(sample_api.client, f"{ROUND}.xlsx", position=before))
    assert then["报送情况"] == labels["报送情况"] and then["合计"] == total

    assert refusal(sample_api.client, "/exports/monitoring-rounds/NO-SUCH.xlsx", 404)[
        "parameter"] == "round"
    assert refusal(sample_api.client, f"{ROUND}.xlsx", 404, position="1")[
        "parameter"] == "round"  # not opened yet
    assert refusal(sample_api.client, f"{ROUND}.csv", 400)["parameter"] == "format"


def test_a_budget_unit_gets_the_round_of_its_own_subjects(sample_api: Api,
                                                          unit_client: TestClient) -> None:
    mine = Api(unit_client).data(SUMMARY, {"id": ROUND_ID})["ledger"]["monitoringRound"]
    everyone = sample_api.data(SUMMARY, {"id": ROUND_ID})["ledger"]["monitoringRound"]
    assert 0 < mine["inScope"] < everyone["inScope"]
    found = download(unit_client, f"{ROUND}.xlsx")
    body = [r for r in found if isinstance(r[0], int)]
    # Exactly the rows and figures GraphQL gives the same token, nothing of other units.
    assert [(r[1], r[2]) for r in body] == [(s["name"], s["unitName"])
                                           for s in mine["subjects"]]
    labels = by_first(found)
    assert labels["报送情况"][1] == (
        f"应报{mine['inScope']}个，按期报送{mine['reported']}个，逾期报送{mine['late']}个，"
        f"未报送{mine['notReported']}个")
    assert [str(amount(labels["合计"][i])) for i in (3, 6, 7, 8)] == [
        mine["fundsInScope"], mine["monitoredAmount"], mine["executedAmount"],
        mine["executionRate"]]
    text = " ".join(str(c) for r in found for c in r if c is not None)
    others = {s["unitName"] for s in everyone["subjects"]} - {s["unitName"]
                                                              for s in mine["subjects"]}
    assert others and not any(name in text for name in others)
    assert "31030.61" not in text and "EXECUTION_BEHIND" not in text


@pytest.mark.slow
def test_the_forms_download_as_pdf(sample_api: Api, tmp_path: Path) -> None:
    require_poppler()

    def text(url: str) -> tuple[str, str]:
        response = sample_api.client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        out = tmp_path / "form.pdf"
        out.write_bytes(response.content)
        return subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True,
                              capture_output=True, text=True).stdout, \
            response.headers["x-jixiao-position"]

    evaluation, position = text(f"{SELF_EVALUATIONS}.pdf")
    for expected in ("项目支出绩效自评表 (2022年度)", "第2版", "已审核通过", "按期完成率",
                     "18.95", "48.95", "98.65", "97.00%", f"数据截至账本位置 {position}"):
        assert expected in evaluation, expected
    returned, _ = text(f"{SELF_EVALUATIONS}.pdf?version=1")
    assert "第1版" in returned and "96.95" in returned and "98.65" not in returned
    summary, position = text(f"{ROUND}.pdf")
    for expected in ("2022年1-8月绩效运行监控汇总表",
                     "应报16个，按期报送13个，逾期报送1个，未报送2个", "31030.61",
                     "29152.89", "17773.46", "60.97", "逾期报送", "调整预算",
                     f"数据截至账本位置 {position}"):
        assert expected in summary, expected
