"""The disclosure portal in headless Chromium against a live server (issue 8).

A deputy's path through the page: the seed's annex tables with 合计, sorting from the
keyboard, a subject's detail and history, the page as it stood before a correction with the
changed figure marked, the xlsx of what is on screen, the verify panel, English, a token;
then axe-core over the page in those states. Plain HTTP tests of the routes come first and
need no browser.
"""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from openpyxl import load_workbook
from starlette.applications import Starlette
from starlette.testclient import TestClient

from ledger.store import Database
from ledger.tokens import TokenStore
from schema.portal import STATIC
from tests.browser.conftest import Portal, Session, portal_app, wait_ready
from tests.integration.helpers import do

SHANGHAI = timezone(timedelta(hours=8))
KP05 = "相山区民政局2022年农村最低生活保障金"


def seconds_in_shanghai(moment: datetime) -> str:
    """What a person types into the datetime-local input (to the second), Beijing time."""
    return moment.astimezone(SHANGHAI).replace(microsecond=0, tzinfo=None).isoformat()


def annex_rows(page: Any, alias: str) -> list[list[str]]:
    rows: list[list[str]] = page.eval_on_selector_all(
        f"#annex-{alias} tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    return rows


def total_text(page: Any, alias: str) -> str:
    text: str = page.inner_text(f"#annex-{alias} tfoot td.total")
    return text.strip()


def real_token(portal: Portal, role: str) -> str:
    """A token as `jixiao tokens create` issues it (the server checks every bearer token)."""
    store = TokenStore(portal.db)
    try:
        return store.create(role, f"portal test {role}")[1]
    finally:
        store.close()


def correct_funds(portal: Portal, reason: str) -> int:
    """Correct XS-2022-KP-05's funds 640.85 → 604.85 through the server's GraphQL API."""
    graphql = portal.url + "/graphql"
    bureau = {"Authorization": f"Bearer {real_token(portal, 'finance_bureau')}"}
    trail = httpx.post(graphql, headers=bureau, json={"query": """{ ledger { auditTrail(
        subjectCode: "XS-2022-KP-05", first: 1) { edges { node { position type } } } } }"""})
    registered = trail.json()["data"]["ledger"]["auditTrail"]["edges"][0]["node"]
    assert registered["type"] == "Subject.Registered"
    fix = httpx.post(graphql, headers=bureau, json={
        "query": """mutation($p: Int!, $reason: String!) { correctEvent(input: {
            commandId: "portal-test-correction", position: $p, values: {funds: "604.85"},
            reason: $reason}) { __typename ... on CommandSuccess { position } } }""",
        "variables": {"p": registered["position"], "reason": reason}}).json()
    payload = fix["data"]["correctEvent"]
    assert payload["__typename"] == "CorrectEventResult", fix
    position: int = payload["position"]
    return position


# ------------------------------------------------------------------ routes, without a browser


@pytest.fixture
def plain_app(sqlite_database: Database, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Starlette:
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(tmp_path / "no-such.key"))
    return portal_app(sqlite_database)


def test_the_page_and_its_files_are_served_with_a_strict_policy(plain_app: Starlette) -> None:
    with TestClient(plain_app) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert '<html lang="zh-CN">' in page.text and "合计" in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        script = client.get("/portal/static/portal.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        again = client.get("/portal/static/portal.js",
                           headers={"If-None-Match": script.headers["etag"]})
        assert again.status_code == 304
        for missing in ("/portal/static/nothing.js", "/portal/static/index.html",
                        "/portal/static/..%2Fportal.py"):
            assert client.get(missing).status_code == 404, missing


def test_info_without_a_key_or_checkpoint_says_so(plain_app: Starlette) -> None:
    with TestClient(plain_app) as client:
        info = client.get("/portal/info.json").json()
        assert info["checkpoint"] is None and info["publicKey"] is None
        assert "no signing key" in info["keyProblem"]
        assert info["fiscalYears"] == []
        assert client.get("/portal/public.key").status_code == 404
        assert client.get("/portal/checkpoint.note").status_code == 404


def test_every_word_the_page_uses_exists_in_both_languages() -> None:
    strings = (STATIC / "i18n.js").read_text(encoding="utf-8")
    zh, en = strings.split("\n  en: {")
    keys = {name: set(re.findall(r'^\s+"([^"]+)":', part, re.M))
            for name, part in (("zh", zh), ("en", en))}
    assert keys["zh"] == keys["en"]
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    script = (STATIC / "portal.js").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n="([^"]+)"', page))
    used |= {k for pair in re.findall(r'data-i18n-attr="([^"]+)"', page)
             for k in re.findall(r":([\w.]+)", pair)}
    used |= set(re.findall(r'\bt\("([\w.]+)"', script))
    assert used - keys["zh"] == set()


# ------------------------------------------------------------------ in Chromium


@pytest.mark.browser
def test_seed_tables_sorting_detail_verify_language_and_token(session: Session,
                                                               artifacts: Path) -> None:
    page = session.open()
    portal = session.portal

    key_rows = annex_rows(page, "key")
    assert len(key_rows) == 10
    assert [r[0] for r in key_rows] == [str(n) for n in range(1, 11)]
    assert any(KP05 in r[1] and r[3] == "640.85" for r in key_rows)
    assert page.inner_text("#annex-key tfoot th").strip() == "合计"
    assert total_text(page, "key") == "6441.47"
    assert len(annex_rows(page, "dept")) == 6
    assert total_text(page, "dept") == "24589.14"
    assert page.get_attribute('#annex-key th[data-key="seq"]', "aria-sort") == "ascending"
    page.screenshot(path=str(artifacts / "portal-1366x768.png"))
    page.screenshot(path=str(artifacts / "portal-1366x768-full.png"), full_page=True)

    # charts: 11 优 and 5 良 across both annexes; 100% self-evaluation coverage
    grades = page.inner_text("#grade-bars")
    assert "优" in grades and "11 项" in grades and "良" in grades and "5 项" in grades
    assert "100%" in page.inner_text("#coverage-bars")
    assert page.locator("#grade-bars svg rect.fill").count() == 4

    # sorting, from the keyboard: funds ascending, then descending
    funds_header = '#annex-key th[data-key="funds"]'
    page.focus(f"{funds_header} button")
    page.keyboard.press("Enter")
    assert page.get_attribute(funds_header, "aria-sort") == "ascending"
    assert page.get_attribute('#annex-key th[data-key="seq"]', "aria-sort") is None
    ascending = [Decimal(r[3]) for r in annex_rows(page, "key")]
    assert ascending == sorted(ascending)
    page.keyboard.press("Enter")  # focus stays on the button after the re-render
    assert page.get_attribute(funds_header, "aria-sort") == "descending"
    descending = [Decimal(r[3]) for r in annex_rows(page, "key")]
    assert descending == sorted(descending, reverse=True)
    assert total_text(page, "key") == "6441.47"
    grade_header = '#annex-key th[data-key="grade"]'
    page.click(f"{grade_header} button")
    labels = [r[5] for r in annex_rows(page, "key")]
    assert labels == sorted(labels, key=lambda g: "优良中差".index(g[0]))

    # a row opens the subject's detail: goals, grade, consequences, history; Escape closes
    opener = page.locator("#annex-key button.open", has_text=KP05)
    opener.click()
    dialog = page.locator("dialog#detail")
    dialog.locator(".timeline li").first.wait_for()
    assert dialog.evaluate("d => d.open")
    assert page.inner_text("#detail-title") == KP05
    text = dialog.inner_text()
    for expected in ("XS-2022-KP-05", "任务完成数", "优（92.50 分）", "维持", "财政评价",
                     "登记评价对象", "申报绩效目标", "评定等级", "财政资金 640.85 万元",
                     "最新运行监控", "2022年1-8月绩效运行监控", "执行率 62.00%",
                     "评价框架：项目支出绩效评价（第 1 版）", "抽查复核（复评）",
                     "按期完成佐证资料不全",
                     "绩效自评表", "审核通过", "本年财政拨款", "偏差原因分析及改进措施",
                     "绩效自评审核通过"):
        assert expected in text, expected
    assert dialog.locator(".timeline li").count() >= 8
    # its goal table: header, the review exchange (returned once, then approved), downloads
    for expected in ("绩效目标表", "年度总体目标", "本年财政拨款", "第1版 退回", "第2版 批复"):
        assert expected in text, expected
    assert dialog.locator(".goal-history li").count() == 4
    assert dialog.locator('a[href^="/exports/goal-tables/XS-2022-KP-05.pdf"]').count() == 1
    page.screenshot(path=str(artifacts / "portal-detail-1366x768.png"))
    page.keyboard.press("Escape")
    assert not dialog.evaluate("d => d.open")
    assert page.evaluate("document.activeElement.textContent") == KP05
    page.locator("#annex-dept tbody tr").first.locator("td").first.click()  # the row, too
    dialog.locator(".timeline li").first.wait_for()
    page.click("#detail-close")
    assert not dialog.evaluate("d => d.open")
    # the lagging project: its monitoring warning and the action that cites it, in its history
    page.locator("#annex-key button.open", has_text="农村人居环境整治").click()
    dialog.locator(".timeline li").first.wait_for()
    text = dialog.inner_text()
    for expected in ("偏差原因：经费保障", "执行率 35.00%", "调整预算（300.00 万元）",
                     "监控预警处理"):
        assert expected in text, expected
    page.click("#detail-close")

    # downloads state their position and checkpoint; the verify panel shows both
    position = page.evaluate("new URL(document.querySelector("
                             "'#annex-key a[data-format=xlsx]').href).searchParams.get('position')")
    size = portal.checkpoint.size
    for fmt in ("xlsx", "pdf", "csv", "fdp"):
        link = page.locator(f"#annex-key a[data-format={fmt}]")
        assert link.get_attribute("href") == f"/exports/2022/key-projects.{fmt}?position={position}"
        assert link.locator(".format").inner_text() == fmt.upper()
        assert link.locator(".state").inner_text() == f"位置 {position} · 检查点 {size}"
        assert "2022年度重点项目支出和政策绩效评价情况表" in link.inner_text()  # for screen readers
    assert page.inner_text("#cp-size") == str(size)
    assert page.inner_text("#cp-root") == portal.checkpoint.root
    assert page.inner_text("#cp-origin") == portal.checkpoint.origin
    assert page.inner_text("#public-key") == portal.public_key
    assert not page.is_visible("#dev-key")  # a production key: no development warning
    assert f"--known checkpoint-{size}.note" in page.inner_text("#verify-command")
    assert "jixiao audit export --out" in page.inner_text("#verify")
    key_file = page.request.get(portal.url + "/portal/public.key")
    assert key_file.text().strip() == portal.public_key

    # English, and back
    page.click("#lang")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text('#annex-key th[data-key="name"]').strip() == "Project"
    assert page.inner_text("#annex-key tfoot th").strip() == "Total (合计)"
    assert "Excellent" in page.inner_text("#grade-bars")
    assert page.inner_text("#lang") == "中文"
    page.click("#lang")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text("#annex-key tfoot th").strip() == "合计"

    # a token: kept in sessionStorage, sent as a bearer token, unlocks the congress scopes
    assert page.locator('#audience option[value="PEOPLES_CONGRESS"]').is_disabled()
    before = len(session.watch.graphql_headers)
    page.click("#token-box summary")
    deputy = real_token(session.portal, "congress")
    page.fill("#token", deputy)
    page.click("#token-use")
    wait_ready(page)
    assert page.evaluate("sessionStorage.getItem('jixiao.portal.token')") == deputy
    sent = session.watch.graphql_headers[before:]
    assert sent and all(h.get("authorization") == f"Bearer {deputy}" for h in sent)
    assert page.locator('#audience option[value="PEOPLES_CONGRESS"]').is_enabled()
    # The sample's tables went to the standing committee (and the public), not yet to the
    # congress itself: each audience shows its own package.
    page.select_option("#audience", "STANDING_COMMITTEE")
    page.wait_for_function("() => document.getElementById('disclosure-heading')"
                           ".textContent.includes('人大常委会')")
    page.wait_for_function("() => document.getElementById('disclosure-body')"
                           ".textContent.includes('绩效评价情况表')")
    page.select_option("#audience", "PEOPLES_CONGRESS")
    page.wait_for_function("() => document.getElementById('disclosure-body')"
                           ".textContent.includes('尚无')")
    page.click("#token-clear")
    wait_ready(page)
    assert page.evaluate("sessionStorage.getItem('jixiao.portal.token')") is None
    assert page.input_value("#audience") == "PUBLIC"
    session.watch.check()


@pytest.mark.browser
def test_the_results_ledger_section_shows_what_2022_did_to_2023(session: Session,
                                                                artifacts: Path) -> None:
    """结果应用台账 of the selected year as the public reads it: the sample's 2023
    consequences of 2022 results with their basis and rule, the totals, the 2023 requests
    against the amounts arranged, and downloads of the same position. Text from the ledger
    stays text."""
    portal = session.portal
    script = '<img src=x onerror="window.pwned=1">'
    do(portal.ledger, "apply_result", subject_code="XS-2022-KP-07", kind="recover",
       amount="5.00", cites_kind="grade", remarks=script)
    page = session.open()
    page.wait_for_selector("#results-body tbody tr")
    rows: list[list[str]] = page.eval_on_selector_all(
        "#results-body tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    assert len(rows) == 19 and [r[0] for r in rows] == [str(n) for n in range(1, 20)]
    [kp06] = [r for r in rows if r[4] == "收回" and r[6] == "20.00"]
    assert kp06[1] == "相山区渠沟镇人民政府2022年环卫保洁作业市场化项目"
    assert re.fullmatch(r"等级 良 （账本位置 \d+）", kp06[2]) and kp06[3] == "第2版：维持"
    assert kp06[5] == "2023 项目 XS-2022-KP-06"
    assert any(r[5] == "2023 转移支付 XS-2023-TR-01 对镇街均衡性转移支付（示例）" for r in rows)
    injected = next(r for r in rows if r[6] == "5.00")
    assert injected[7] == script  # shown as text, never parsed
    assert page.locator("#results img").count() == 0
    assert page.evaluate("window.pwned === undefined")
    totals = page.inner_text("#results-totals")
    assert "收回合计\n25.00 万元" in totals and "优先安排\n2 项" in totals
    assert "核减合计\n0.00 万元" in totals
    assert page.inner_text("#requests-heading") == "2023 年度预算申请与安排（结果应用后）"
    requests: list[list[str]] = page.eval_on_selector_all(
        "#requests-body tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    assert [r[0] for r in requests] == ["XS-2023-REQ-01", "XS-2023-REQ-02"]
    assert requests[0][1:6] == ["相山区住房和城乡建设局2022年市政应急维修项目", "548.95",
                                "0.00", "548.95", "548.95"]
    assert requests[0][6] == "延续 XS-2022-KP-01；优先安排"
    assert page.inner_text("#requests-body tfoot").split() == ["合计", "1073.30", "1073.30"]
    page.locator("#results").screenshot(path=str(artifacts / "portal-results-ledger.png"))

    position = page.evaluate("new URL(document.querySelector("
                             "'#results-downloads a[data-format=xlsx]').href)"
                             ".searchParams.get('position')")
    for fmt in ("xlsx", "pdf", "csv"):
        link = page.locator(f"#results-downloads a[data-format={fmt}]")
        assert link.get_attribute("href") == (
            f"/exports/2022/results-ledger.{fmt}?position={position}")
    assert page.locator("#results-downloads a[data-format=fdp]").count() == 0
    download = page.request.get(portal.url + f"/exports/2022/results-ledger.xlsx?position="
                                f"{position}")
    assert download.ok
    sheet = load_workbook(io.BytesIO(download.body())).worksheets[0]
    assert any(r[5] == "收回" and r[8] is not None and Decimal(str(r[8])) == Decimal("20.00")
               for r in sheet.iter_rows(values_only=True))

    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.inner_text("#results-heading") == "Results ledger (结果应用台账)"
    assert "Idle balance recovered" in page.inner_text("#results-body")
    session.watch.check()


@pytest.mark.browser
def test_a_slow_answer_for_an_audience_left_behind_does_not_replace_the_chosen_one(
        session: Session) -> None:
    page = session.open()
    page.click("#token-box summary")
    page.fill("#token", real_token(session.portal, "congress"))
    page.click("#token-use")
    wait_ready(page)
    held: list[Any] = []

    def hold_standing_committee(route: Any, request: Any) -> None:
        body = request.post_data or ""
        if "query Disclosure" in body and '"STANDING_COMMITTEE"' in body:
            held.append(route)  # answered below, after the newer request's answer
        else:
            route.fallback()

    page.route("**/graphql", hold_standing_committee)
    page.select_option("#audience", "STANDING_COMMITTEE")
    page.select_option("#audience", "PEOPLES_CONGRESS")
    page.wait_for_function("() => document.getElementById('disclosure-body')"
                           ".textContent.includes('尚无')")
    assert len(held) == 1
    with page.expect_response(lambda r: r.request.post_data is not None
                              and '"STANDING_COMMITTEE"' in r.request.post_data):
        held[0].continue_()
    page.wait_for_timeout(300)  # time for the page to take the stale answer, if it would
    assert "尚无" in page.inner_text("#disclosure-body")
    heading = page.inner_text("#disclosure-heading")
    assert "人民代表大会" in heading and "常委会" not in heading
    session.watch.check()


@pytest.mark.browser
def test_as_of_before_a_correction_marks_the_old_figure_and_downloads_it(
        session_on_each_store: Session, artifacts: Path) -> None:
    session = session_on_each_store
    portal = session.portal
    page = session.open()
    assert total_text(page, "key") == "6441.47"
    time.sleep(1.1)  # the datetime-local input has whole seconds: keep a second either side
    between = datetime.now(UTC)
    time.sleep(1.1)
    correct_funds(portal, "金额录入错误")

    page.click("#now")
    page.wait_for_function("() => document.querySelector('#annex-key tfoot td.total')"
                           ".textContent === '6405.47'")
    wait_ready(page)
    assert any(KP05 in r[1] and r[3] == "604.85" for r in annex_rows(page, "key"))

    page.fill("#as-of", seconds_in_shanghai(between))
    page.select_option("#tz", "+08:00")
    page.click("#apply")
    page.wait_for_selector("#status.past")
    wait_ready(page)
    row = page.locator("#annex-key tbody tr", has_text=KP05)
    cell = row.locator("td").nth(3)
    assert cell.inner_text().startswith("640.85")
    assert "changed" in (cell.get_attribute("class") or "")
    title = cell.get_attribute("title") or ""
    assert "604.85" in title and "金额录入错误" in title
    assert "金额录入错误" in cell.locator(".sr-only").inner_text()
    assert cell.locator(".mark").inner_text() == "已更正"
    other = page.locator("#annex-key tbody tr").first.locator("td").nth(3)
    assert "changed" not in (other.get_attribute("class") or "")
    assert total_text(page, "key").startswith("6441.47")
    assert "现为 6405.47" in total_text(page, "key")
    changes = page.inner_text("#annex-key .changes")
    assert "640.85 → 604.85" in changes and "金额录入错误" in changes
    assert page.is_hidden("#annex-dept .changes") is False
    assert "没有变更" in page.inner_text("#annex-dept .changes")
    assert "asOf=" in page.url
    page.screenshot(path=str(artifacts / "portal-as-of-1366x768.png"))

    # the xlsx of what is on screen: the same position, the same 合计
    link = page.locator("#annex-key a[data-format=xlsx]")
    shown = page.evaluate("document.getElementById('status').textContent")
    position = re.search(r"账本位置 (\d+)", shown)
    assert position is not None
    assert link.get_attribute("href") == (f"/exports/2022/key-projects.xlsx?"
                                          f"position={position.group(1)}")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = artifacts / "portal-as-of-key-projects.xlsx"
    download.save_as(saved)
    sheet = load_workbook(saved).active
    values = list(sheet.iter_rows(values_only=True))
    total = next(r for r in values if r[0] == "合计")
    assert Decimal(str(total[3])).quantize(Decimal("0.01")) == Decimal("6441.47")
    assert any(r[1] == KP05 and Decimal(str(r[3])) == Decimal("640.85") for r in values)
    now = httpx.get(portal.url + "/exports/2022/key-projects.xlsx")
    current = load_workbook(io.BytesIO(now.content)).active
    assert any(r[0] == "合计" and Decimal(str(r[3])).quantize(Decimal("0.01"))
               == Decimal("6405.47") for r in current.iter_rows(values_only=True))

    # back to now: no marks
    page.click("#now")
    page.wait_for_function(
        "() => !document.getElementById('status').classList.contains('past')")
    wait_ready(page)
    assert page.locator("#annex-key td.changed").count() == 0
    assert page.is_hidden("#annex-key .changes")
    session.watch.check()


@pytest.mark.browser
def test_axe_finds_no_serious_or_critical_violations(axe_session: Session, axe_script: Path,
                                                     artifacts: Path) -> None:
    portal = axe_session.portal
    between = datetime.now(UTC)
    time.sleep(0.05)
    subject = portal.ledger.subject("XS-2022-KP-05")
    do(portal.ledger, "correct_event", position=portal.ledger.position_of(subject.id, 1),
       values={"funds": "604.85"}, reason="金额录入错误")
    as_of = between.astimezone(SHANGHAI).isoformat()
    page = axe_session.open("?" + str(httpx.QueryParams({"asOf": as_of})))
    page.wait_for_selector("#annex-key td.changed")

    def audit(state: str) -> list[dict[str, Any]]:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(axe_script))
        result: dict[str, Any] = page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})")
        found: list[dict[str, Any]] = [
            {"state": state, "id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]]
        return found

    report: list[dict[str, Any]] = []
    report += audit("as-of view with a corrected cell, Chinese")
    page.locator("#annex-key button.open", has_text=KP05).click()
    page.locator("dialog#detail .timeline li").first.wait_for()
    report += audit("subject detail dialog")
    page.keyboard.press("Escape")
    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    report += audit("English")
    page.click("#token-box summary")
    report += audit("token form open")
    version = page.evaluate("axe.version")
    (artifacts / "portal-axe.json").write_text(json.dumps(
        {"axe": version, "violations": report}, ensure_ascii=False, indent=2), encoding="utf-8")
    serious = [v for v in report if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps(serious, ensure_ascii=False, indent=2)
    axe_session.watch.check()
