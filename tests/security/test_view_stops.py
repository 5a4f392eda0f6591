"""One stored event a view cannot project must never take the service down.

The attack (issue item 1): a NUL in a subject's name was appended; PostgreSQL's text columns
refuse NUL, so the projector failed on it at every catch-up, and from then on every `ledger`
query (even `ledger(position: 2)`), /exports and /portal/info.json failed, `serve` would not
start and `projections rebuild` failed. The boundary now refuses such text
(test_text_boundary.py); here the event is written behind the application's back, straight
into the events table, as a bug, an old version or someone with database access could.

The defence (projections/projector.py, projections/stops.py): the view stops just before the
event, the others go on, reads answer as of the position before it, /readyz and
`projections status` say so, and an operator's recorded quarantine lets the view skip it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx2 as httpx
import pytest

from jixiao.app import create_app
from ledger.domain.base import Meta, stable_id
from ledger.domain.subject import Subject
from ledger.store import Database
from projections.view_check import ViewCheck, describe
from tests.browser.conftest import ServerThread
from tests.security.conftest import Served, assert_public_annex_intact

POISONS = ("nul", "undecodable")


def write_behind_the_back(db: Database, poison: str, code: str = "XS-2022-KP-66") -> int:
    """A Subject.Registered row written straight into the events table; its position.

    "nul": a NUL in the name (PostgreSQL's views cannot store it). "undecodable": funds that
    are no decimal (no view that decodes events can read it), on either store."""
    funds = {"_type_": "decimal_str", "_data_": "12.00" if poison == "nul" else "十二"}
    state = {"timestamp": {"_type_": "datetime_iso", "_data_": datetime.now(UTC).isoformat()},
             "originator_topic": "ledger.domain.subject:Subject", "code": code,
             "name": "养老\u0000服务" if poison == "nul" else "养老服务", "kind": "project",
             "fiscal_year": 2022, "unit_code": "XS-U03", "funds": funds, "is_new": False,
             "is_key": True, "tags": [], "meta": {"_type_": "meta", "_data_": {
                 "actor_id": "behind-the-back", "actor_role": "finance_bureau",
                 "command_id": f"raw-{code}", "effective_on": "2022-01-01"}}}
    conn = db.connect()
    try:
        conn.execute(db.sql(f"INSERT INTO {db.events_table} (originator_id, originator_version, "
                            "topic, state) VALUES (?, ?, ?, ?)"),
                     (stable_id("subject", code) if db.backend == "postgres"
                      else stable_id("subject", code).hex, 1,
                      "ledger.domain.subject:Subject.Registered", json.dumps(state).encode()))
        row = conn.execute(f"SELECT MAX({db.position_column}) FROM {db.events_table}").fetchone()
        return int(row[0])
    finally:
        conn.close()


def poisoned(served: Served, poison: str) -> int:
    if poison == "nul" and served.db.backend == "sqlite":
        pytest.skip("SQLite stores NUL in text; only PostgreSQL's views cannot")
    return write_behind_the_back(served.db, poison)


def ledger_at(url: str, position: int | None = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
    where = "" if position is None else f"(position: {position})"
    query = (f"{{ ledger{where} {{ position evaluationTable(fiscalYear: 2022, "
             "table: KEY_PROJECTS) { totalFunds } } }")
    body: dict[str, Any] = httpx.post(f"{url}/graphql", json={"query": query},
                                      headers=headers or {}, timeout=30).json()
    return body


def readyz(url: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/readyz", timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def view(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(v for v in report["views"] if v["name"] == name)
    return found


def jixiao(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line as an operator runs it."""
    env = {**os.environ, "JIXIAO_DATABASE_URL": db.url, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "jixiao.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("poison", POISONS)
def test_reads_exports_portal_and_start_up_survive_an_unprojectable_event(
        served: Served, poison: str) -> None:
    bad = poisoned(served, poison)

    assert ledger_at(served.url, 2)["data"]["ledger"]["position"] == 2
    now = ledger_at(served.url)
    assert "errors" not in now, now
    assert now["data"]["ledger"]["position"] == bad - 1  # the moment says where it stands
    later = ledger_at(served.url, bad)
    assert later["errors"][0]["extensions"]["reason"] == "VIEW_STOPPED", later
    assert httpx.get(f"{served.url}/exports/2022/key-projects.csv", timeout=30).status_code == 200
    assert httpx.get(f"{served.url}/portal/info.json", timeout=30).status_code == 200

    report = readyz(served.url)
    assert report["status"] == "degraded"
    assert view(report, "subjects")["stopped"]["position"] == bad
    assert view(report, "event_index")["position"] >= bad  # the other views go on

    # Commands are still recorded, and a new server on the same store starts and answers.
    registered = served.graphql(
        'mutation { registerUnit(input: {commandId: "after-the-stop", code: "XS-U77", '
        'name: "新单位"}) { __typename ... on CommandSuccess { position } } }',
        headers=served.bureau).json()["data"]["registerUnit"]
    assert registered["position"] > bad, registered
    with ServerThread(create_app(served.db, rate_limit=None)) as url:
        assert ledger_at(url)["data"]["ledger"]["position"] == bad - 1
        assert readyz(url)["status"] == "degraded"
        assert_public_annex_intact(url)
    assert_public_annex_intact(served.url)


@pytest.mark.parametrize("poison", POISONS)
def test_rebuild_and_status_report_the_stop_and_a_recorded_quarantine_resumes(
        served: Served, poison: str) -> None:
    bad = poisoned(served, poison)
    rebuilt = jixiao(served.db, "projections", "rebuild", "--jobs", "1")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"views at position {bad - 1}" in rebuilt.stdout
    status = jixiao(served.db, "projections", "status")
    assert f"STOPPED before position {bad}" in status.stdout, status.stdout
    assert readyz(served.url)["status"] == "degraded"

    # Only the event a view is stopped on can be quarantined, and only with a reason.
    wrong = jixiao(served.db, "projections", "quarantine", "--view", "subjects",
                   "--position", str(bad - 1), "--reason", "not this one")
    assert wrong.returncode == 1 and "only the event a view is stopped on" in wrong.stdout
    done = jixiao(served.db, "projections", "quarantine", "--view", "subjects",
                  "--position", str(bad), "--reason", "written outside the API; see ticket 7")
    assert done.returncode == 0, done.stdout + done.stderr

    report = readyz(served.url)  # the served app's own projector picks the quarantine up
    assert report["status"] == "ok", report
    assert view(report, "subjects")["skipped"] == [bad]
    assert ledger_at(served.url)["data"]["ledger"]["position"] == report["head"]
    assert "skips position" in jixiao(served.db, "projections", "status").stdout

    # The quarantine cannot be edited away, and the event itself is still in the log.
    conn = served.db.connect()
    try:
        with pytest.raises(Exception, match="append-only"):
            conn.execute("UPDATE projection_quarantine SET reason = 'nothing happened'")
        if served.db.backend == "postgres":
            conn.rollback()
        kept = conn.execute(f"SELECT topic FROM {served.db.events_table} WHERE "
                            f"{served.db.position_column} = {bad}").fetchone()
        assert kept == ("ledger.domain.subject:Subject.Registered",)
    finally:
        conn.close()
    assert_public_annex_intact(served.url)


def test_a_correction_brings_the_subject_back_under_a_name_the_view_can_store(
        served: Served) -> None:
    """The documented way out for a subject registered under an unstorable name: correct the
    name (an ordinary correction, which the view can project), then quarantine the event."""
    bad = poisoned(served, "nul")
    assert readyz(served.url)["status"] == "degraded"
    corrected = served.graphql(
        "mutation($input: CorrectEventInput!) { correctEvent(input: $input) { __typename "
        "... on CommandSuccess { position } } }",
        {"input": {"commandId": "rename-the-raw-subject", "position": bad,
                   "values": {"name": "养老服务"}, "reason": "名称含不可存储字符"}},
        served.bureau).json()["data"]["correctEvent"]
    assert corrected["__typename"] == "CorrectEventResult", corrected
    done = jixiao(served.db, "projections", "quarantine", "--view", "subjects",
                  "--position", str(bad), "--reason", "NUL in the name; corrected after")
    assert done.returncode == 0, done.stdout + done.stderr

    body = served.graphql('{ ledger { position subject(code: "XS-2022-KP-66") { name } } }',
                          headers=served.bureau).json()
    assert body["data"]["ledger"]["subject"] == {"name": "养老服务"}, body
    assert body["data"]["ledger"]["position"] >= corrected["position"]
    assert readyz(served.url)["status"] == "ok"
    assert_public_annex_intact(served.url)


def test_a_quarantine_holds_for_the_integrity_replay_too(served: Served) -> None:
    """An event recorded through the application (authenticated, sealed like any other) that
    the PostgreSQL view cannot store: once quarantined, the integrity watch's replay of the
    log (on SQLite, which could store it) skips it too, so the views still match the log."""
    if served.db.backend == "sqlite":
        pytest.skip("SQLite stores NUL in text; only PostgreSQL's views cannot")
    subject = Subject(code="XS-2022-KP-67", name="养老\u0000服务", kind="project",
                      fiscal_year=2022, unit_code="XS-U03", funds=Decimal("12.00"),
                      is_new=False, is_key=True, tags=[],
                      meta=Meta(actor_id="a-bug", actor_role="system", command_id="no-check"))
    served.ledger.save(subject)
    bad = int(served.ledger.recorder.max_notification_id() or 0)
    assert view(readyz(served.url), "subjects")["stopped"]["position"] == bad
    done = jixiao(served.db, "projections", "quarantine", "--view", "subjects",
                  "--position", str(bad), "--reason", "NUL in the name, from a bug")
    assert done.returncode == 0, done.stdout + done.stderr
    report = readyz(served.url)
    assert report["status"] == "ok" and view(report, "subjects")["skipped"] == [bad]

    check = ViewCheck(served.db, served.ledger)
    try:
        status = check.run(report["position"])
    finally:
        check.close()
    assert status.position >= bad and not status.differ, describe(status)
    assert_public_annex_intact(served.url)
