"""The portal's detail dialog for subjects recorded by `jixiao import-table` (issue 15).

An imported annex row is an evaluation known only by its published grade: no dimensions and
no score. The dialog must open for it and say the grade was published without a score.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from ledger.migrate import migrate
from ledger.runtime import Actor
from ledger.store import Database
from tests.browser.conftest import Portal, ServerThread, Session, new_session, portal_app
from tests.integration.test_import_export import import_seed

pytestmark = pytest.mark.browser
BUREAU = Actor(id="portal-test", role="finance_bureau")
FISCAL_OPERATIONS = "相山区渠沟镇人民政府2022年财政运行综合绩效评价"


@pytest.fixture
def imported_portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:
    """Both annex tables imported from xlsx and published to the public, then served."""
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(tmp_path / "no-such.key"))
    db = Database.from_url(f"sqlite:///{tmp_path}/imported.db")
    migrate(db)
    app = portal_app(db)
    ledger = app.state.services.ledger
    import_seed(ledger, "xlsx", tmp_path)
    read = app.state.services.read_model
    moment = read.resolve()
    codes = [s.code for s in read.subjects(moment, fiscal_year=2022, first=100).items]
    assert len(codes) == 16
    ledger.record_disclosure({"command_id": "imported-public", "fiscal_year": 2022,
                              "audience": "public", "title": "2022年度绩效评价情况表",
                              "subject_codes": codes, "content_hash": "0" * 64,
                              "content_position": moment.position}, BUREAU)
    with ServerThread(app) as url:
        yield Portal(url=url, app=app, db=db, checkpoint=None,  # type: ignore[arg-type]
                     public_key="")


@pytest.fixture
def imported_session(browser: Browser, imported_portal: Portal) -> Iterator[Session]:
    yield from new_session(browser, imported_portal)


def test_the_detail_dialog_opens_for_an_imported_subject(imported_session: Session,
                                                          artifacts: Path) -> None:
    page = imported_session.open()
    assert page.inner_text("#annex-key tfoot td.total").strip() == "6441.47"
    page.locator("#annex-key button.open", has_text=FISCAL_OPERATIONS).click()
    dialog = page.locator("dialog#detail")
    dialog.locator(".timeline li").first.wait_for()
    assert dialog.evaluate("d => d.open")
    assert page.inner_text("#detail-title") == FISCAL_OPERATIONS
    text = dialog.inner_text()
    for expected in ("良（按公布等级，无分数）", "财政评价，公布等级良，2022-12-31",
                     "财政资金 2841.81 万元"):
        assert expected in text, expected
    assert "null" not in text and "undefined" not in text
    page.screenshot(path=str(artifacts / "portal-detail-imported-1366x768.png"))
    page.keyboard.press("Escape")
    assert not dialog.evaluate("d => d.open")
    imported_session.watch.check()
