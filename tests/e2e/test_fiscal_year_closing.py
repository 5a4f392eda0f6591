"""Closing a fiscal year over HTTP, on both stores: the server signs the checkpoint the
closing cites, as a disclosure's; without a key the closing says so; a caller cannot hand
in a checkpoint of its own."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.integrity.bundle import export_bundle
from ledger.integrity.checkpoint import NoteVerifier, init_key_file, open_note
from ledger.integrity.service import checkpoint_now, get_checkpoint, load_key, origin_setting
from ledger.integrity.verifier import verify_bundle
from ledger.store import Database
from tests.e2e.conftest import Api, bearer, cid, issue_token
from tests.integration.helpers import do, max_position, setup_units
from tests.security.conftest import operator_sql

ORIGIN = "jixiao.test/closing"  # the key's name; the log's origin is origin_setting()
CYCLE = """query($p: Int) { ledger(position: $p) { fiscalYearCycle(fiscalYear: 2022) {
  fiscalYear openedOn closing { closedOn position checkpointSummary
    checkpoint { origin size root lastPosition note } } } } }"""


@pytest.fixture
def signed(database: Database, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, NoteVerifier]]:
    """The bureau's API over a ledger whose signing key the server holds from the start."""
    key = tmp_path / "signing.key"
    verifier = init_key_file(key, ORIGIN)
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key))
    headers = bearer(issue_token(database))
    with TestClient(create_app(database, rate_limit=None), headers=headers) as client:
        yield Api(client), verifier


@pytest.fixture
def unsigned(database: Database, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(tmp_path / "no-such.key"))
    headers = bearer(issue_token(database))
    with TestClient(create_app(database, rate_limit=None), headers=headers) as client:
        yield Api(client)


def open_year(api: Api) -> int:
    setup_units(api.ledger)
    do(api.ledger, "open_fiscal_year", fiscal_year=2022)
    do(api.ledger, "record_budget_request", fiscal_year=2022, code="R1", unit_code="MZJ",
       project_name="农村最低生活保障金", funding_source="一般公共预算",
       requested_amount="640.85")
    return max_position(api.ledger)


def cycle(api: Api, position: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = api.data(CYCLE, {"p": position})["ledger"]["fiscalYearCycle"]
    return found


def test_a_closing_cites_a_checkpoint_signed_for_it_that_verifies(
        signed: tuple[Api, NoteVerifier], database: Database, tmp_path: Path) -> None:
    api, verifier = signed
    head = open_year(api)
    data = {"commandId": cid(), "fiscalYear": 2022}
    done = api.mutate("closeFiscalYear", data)
    assert done["__typename"] == "CloseFiscalYearResult", done
    assert done["events"] == ["FiscalYear.Closed"]

    closing = cycle(api)["closing"]
    cited = closing["checkpoint"]
    assert cited is not None, closing
    assert cited["origin"] == origin_setting()
    signed_note = open_note(cited["note"], verifier, origin=cited["origin"])  # unless signed
    assert (signed_note.size, base64.b64encode(signed_note.root).decode(),
            signed_note.last_position) == (cited["size"], cited["root"], cited["lastPosition"])
    # it covers everything before the closing: the head when the service signed it
    assert cited["lastPosition"] == head == closing["position"] - 1
    assert get_checkpoint(database, cited["size"]).root == cited["root"]
    assert cited["root"] in closing["checkpointSummary"]

    again = api.mutate("closeFiscalYear", data)  # a retry answers with the recorded closing
    assert again["replayed"] is True and again["position"] == done["position"]
    assert cycle(api)["closing"] == closing
    assert cycle(api, head)["closing"] is None  # as of before the closing: still open

    # The offline verifier reproduces the cited root and checks its note (after a later
    # checkpoint seals the closing itself).
    checkpoint_now(database, api.ledger, load_key(database))
    export_bundle(database, api.ledger, tmp_path / "bundle", verifier)
    assert verify_bundle(tmp_path / "bundle").proven_by.last_position == max_position(
        api.ledger)


def test_without_a_key_the_closing_says_there_is_no_checkpoint(unsigned: Api) -> None:
    open_year(unsigned)
    done = unsigned.mutate("closeFiscalYear", {"commandId": cid(), "fiscalYear": 2022})
    assert done["__typename"] == "CloseFiscalYearResult", done
    closing = cycle(unsigned)["closing"]
    assert closing["checkpoint"] is None and closing["position"] is not None
    assert "no checkpoint: no signing key configured" in closing["checkpointSummary"]
    refused = unsigned.mutate("recordBudgetRequest", {
        "commandId": cid(), "fiscalYear": 2022, "code": "R2", "unitCode": "MZJ",
        "projectName": "新项目", "fundingSource": "一般公共预算", "requestedAmount": "1.00"})
    assert (refused["__typename"], refused.get("code")) == ("RuleViolation",
                                                        "FISCAL_YEAR_CLOSED"), refused


def test_a_checkpoint_in_the_input_is_not_part_of_the_api(
        signed: tuple[Api, NoteVerifier]) -> None:
    api, _ = signed
    head = open_year(api)
    crafted = {"origin": ORIGIN, "size": 1, "root": "A" * 43 + "=", "lastPosition": head,
               "note": f"{ORIGIN}\n1\n{'A' * 43}=\n\n— {ORIGIN} AAAAAAAA\n"}
    body = api.post("""mutation($input: CloseFiscalYearInput!) { closeFiscalYear(input: $input)
        { __typename } }""", {"input": {"commandId": cid(), "fiscalYear": 2022,
                                        "checkpoint": crafted}})
    assert body.get("data") is None
    [error] = body["errors"]
    assert "checkpoint" in error["message"] and "CloseFiscalYearInput" in error["message"]
    assert max_position(api.ledger) == head
    assert cycle(api)["closing"] is None


def test_while_the_views_differ_the_closing_is_refused_and_says_what_it_stops(
        signed: tuple[Api, NoteVerifier], database: Database) -> None:
    """The refusal names the closing it stops (it once said "a disclosure")."""
    api, _ = signed
    open_year(api)
    do(api.ledger, "register_subject", code="S1", name="农村最低生活保障金", kind="project",
       fiscal_year=2022, unit_code="MZJ", funds="640.85", is_new=True)
    head = max_position(api.ledger)
    app: Any = api.client.app
    app.state.watch.seal_once()
    app.state.services.read_model.catch_up()
    operator_sql(database, "UPDATE subject_rows SET name = ? WHERE code = ?", ("篡改后", "S1"))
    app.state.watch.check_views_once()
    assert app.state.services.read_model.integrity.views.differ
    refused = api.mutate("closeFiscalYear", {"commandId": cid(), "fiscalYear": 2022})
    assert (refused["__typename"], refused["code"], refused["field"]) == (
        "RuleViolation", "VIEWS_DIFFER_FROM_LOG", "checkpoint"), refused
    assert "closing a fiscal year" in refused["rule"], refused
    assert "closing a fiscal year" in refused["message"], refused
    assert "disclosure" not in refused["rule"] + refused["message"], refused
    assert max_position(api.ledger) == head
    assert cycle(api)["closing"] is None
