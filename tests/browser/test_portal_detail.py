"""The subject detail dialog's per-record downloads and its words for consequences.

The dialog links each self-evaluation version's form and the latest monitoring round's
summary (schema/form_exports.py) at the page's ledger position, and only where the subject
has them; following a link gives the form of that position. A consequence is named in the
dialog exactly as the results ledger section names it (the server's effect label).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from ledger.application import Ledger
from ledger.sample.loader import AGENCY, BUREAU, BUREAU_ACTOR
from tests.browser.conftest import Session, wait_ready
from tests.browser.test_portal import real_token
from tests.integration.helpers import INDICATORS, PROJECT_DIMS, cid

KP10 = "XS-2022-KP-10"  # two self-evaluation versions (the first returned); monitored
KP10_NAME = "农村人居环境整治"
KP06_NAME = "相山区渠沟镇人民政府2022年环卫保洁作业市场化项目"  # 维持 and 收回
ROUND = "XS-2022-MON-01-08"
BARE = "XS-2022-KP-99"  # registered by the test: no self-evaluation, no monitoring
BARE_NAME = "相山区测试2022年未自评项目"


def evaluated_without_self_evaluation(ledger: Ledger) -> None:
    """A key project with approved goals and the bureau's evaluation (so it is in 附件1),
    but no monitoring snapshot and no self-evaluation; disclosed to no one, so the page
    shows it only with the bureau's token."""
    def run(method: str, **fields: Any) -> Any:
        return getattr(ledger, method)({"command_id": cid(), **fields}, BUREAU_ACTOR)

    unit = ledger.subject("XS-2022-KP-05").unit_code
    run("register_subject", code=BARE, name=BARE_NAME, kind="project", fiscal_year=2022,
        unit_code=unit, funds="1.00", is_key=True)
    run("declare_goals", subject_code=BARE, indicators=INDICATORS)
    run("review_goals", subject_code=BARE, decision="approve")
    commission = run("commission_evaluation", subject_code=BARE, agency_code=AGENCY[0],
                     commissioned_by=BUREAU[0])
    run("record_evaluation", subject_code=BARE, kind="finance", agency_code=AGENCY[0],
        commission_id=commission.ids["commissionId"], dimensions=PROJECT_DIMS,
        narrative="评价为优", evaluated_on="2023-03-15")


def page_position(page: Any) -> str:
    position: str = page.evaluate("new URL(document.querySelector("
                                  "'#annex-key a[data-format=xlsx]').href)"
                                  ".searchParams.get('position')")
    return position


def open_detail(page: Any, name: str) -> Any:
    page.locator("#annex-key button.open", has_text=name).click()
    dialog = page.locator("dialog#detail")
    dialog.locator(".timeline li").first.wait_for()
    return dialog


def hrefs(dialog: Any, selector: str) -> list[str]:
    found: list[str] = dialog.locator(selector).evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")
    return found


def section_text(dialog: Any, heading: str) -> str:
    """What follows a dialog section's heading, up to the next heading."""
    text: str = dialog.evaluate(
        """(d, heading) => { const h3 = [...d.querySelectorAll("h3")]
             .find(h => h.textContent === heading);
           let text = ""; for (let n = h3.nextElementSibling; n && n.tagName !== "H3";
             n = n.nextElementSibling) text += n.textContent; return text; }""", heading)
    return text


def results_effects(page: Any, subject_name: str) -> list[str]:
    """The 结果应用方式 cells of the subject's rows in the results ledger section."""
    found: list[str] = page.eval_on_selector_all(
        "#results-body tbody tr",
        "(rows, name) => rows.filter(r => r.cells[1].textContent.trim() === name)"
        ".map(r => r.cells[4].textContent.trim())", subject_name)
    return found


def dialog_effects(dialog: Any) -> list[str]:
    found: list[str] = dialog.locator("li strong.effect").evaluate_all(
        "nodes => nodes.map(n => n.textContent.trim())")
    return found


@pytest.mark.browser
def test_the_dialog_links_the_self_evaluation_and_round_forms_of_the_page_position(
        session: Session) -> None:
    portal = session.portal
    evaluated_without_self_evaluation(portal.ledger)
    page = session.open()
    position = page_position(page)

    dialog = open_detail(page, KP10_NAME)
    assert dialog.locator(".self-evaluation").count() == 2
    self_links = hrefs(dialog, '.downloads[data-form="self-evaluations"] a')
    assert self_links == [  # newest version first, as the versions are shown
        f"/exports/self-evaluations/{KP10}.{fmt}?position={position}&version={version}"
        for version in (2, 1) for fmt in ("xlsx", "pdf")]
    assert hrefs(dialog, '.downloads[data-form="monitoring-rounds"] a') == [
        f"/exports/monitoring-rounds/{ROUND}.{fmt}?position={position}"
        for fmt in ("xlsx", "pdf")]
    label = dialog.locator('.downloads[data-form="self-evaluations"] a[data-format=pdf]').first
    assert label.text_content() == "下载第 2 版自评表 PDF"  # a name for screen readers

    for path in (self_links[1], hrefs(dialog, '.downloads[data-form="monitoring-rounds"] '
                                               "a[data-format=pdf]")[0]):
        pdf = page.request.get(portal.url + path)
        assert pdf.status == 200, path
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF-")
        assert pdf.headers["x-jixiao-position"] == position
    first = page.request.get(portal.url + self_links[2])  # version 1's xlsx
    assert first.status == 200
    cells = {c for row in load_workbook(io.BytesIO(first.body())).worksheets[0]
             .iter_rows(values_only=True) for c in row}
    assert KP10 in cells and "第1版" in cells and "第2版" not in cells
    page.click("#detail-close")

    page.click("#token-box summary")
    page.fill("#token", real_token(portal, "finance_bureau"))
    page.click("#token-use")
    wait_ready(page)
    position = page_position(page)
    dialog = open_detail(page, BARE_NAME)
    assert hrefs(dialog, ".downloads a") == [  # its goal table's, nothing else
        f"/exports/goal-tables/{BARE}.{fmt}?position={position}" for fmt in ("xlsx", "pdf")]
    for heading in ("绩效自评表", "最新运行监控"):  # each says 无
        assert section_text(dialog, heading) == "无", heading
    page.click("#detail-close")
    session.watch.check()


@pytest.mark.browser
def test_the_dialog_names_a_consequence_as_the_results_ledger_does(session: Session) -> None:
    page = session.open()
    page.wait_for_selector("#results-body tbody tr")
    ledger = results_effects(page, KP06_NAME)
    assert sorted(ledger) == ["收回", "维持"]
    dialog = open_detail(page, KP06_NAME)
    assert dialog_effects(dialog) == ledger
    text = dialog.text_content() or ""
    assert "维持" in text and "继续支持" not in text and "收回结余资金" not in text
    page.click("#detail-close")

    page.click("#lang")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    english = results_effects(page, KP06_NAME)
    assert sorted(english) == ["Funding maintained", "Idle balance recovered"]
    dialog = open_detail(page, KP06_NAME)
    assert dialog_effects(dialog) == english
    history = dialog.locator(".timeline").text_content() or ""
    assert "Funding maintained" in history and "Idle balance recovered" in history
    session.watch.check()
