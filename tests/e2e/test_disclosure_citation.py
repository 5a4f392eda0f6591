"""recordDisclosure over HTTP, on both stores, as an insider with a real bureau token uses it:
the checkpoint a disclosure cites must be one of this log's, signed by its key, stated as
its note states it and covering the package's content position; anything else is refused
with a typed error and nothing is appended (ledger/integrity/citation.py)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.application import Ledger
from ledger.integrity.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    init_key_file,
    open_note,
    sign_note,
)
from ledger.integrity.service import CheckpointInfo, checkpoint_now, load_key
from ledger.migrate import migrate
from ledger.store import Database
from tests.e2e.conftest import Api, bearer, cid, issue_token
from tests.integration.helpers import do, max_position, setup_units

KEY_NAME = "jixiao.test/disclosure"
PACKAGE = """query($m: Int) { ledger(minPosition: $m) {
  disclosure(fiscalYear: 2022, audience: PUBLIC) { disclosures { contentPosition checkpoint } }
} }"""


@contextmanager
def serve(database: Database, key: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The bureau's API (a real token) over the ledger, with the key file `key`."""
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key))
    headers = bearer(issue_token(database))
    with TestClient(create_app(database, rate_limit=None), headers=headers) as client:
        api = Api(client)
        registered(api.ledger)
        yield api


@pytest.fixture
def signed(database: Database, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, NoteVerifier]]:
    """The server holds a signing key."""
    verifier = init_key_file(tmp_path / "signing.key", KEY_NAME)
    with serve(database, tmp_path / "signing.key", monkeypatch) as api:
        yield api, verifier


@pytest.fixture
def unsigned(database: Database, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with serve(database, tmp_path / "no-such.key", monkeypatch) as api:
        yield api


def disclosures(api: Api) -> list[dict[str, Any]]:
    """The year's public disclosures, as of the log's head."""
    found: list[dict[str, Any]] = api.data(PACKAGE, {"m": max_position(api.ledger)})[
        "ledger"]["disclosure"]["disclosures"]
    return found


def registered(ledger: Ledger) -> None:
    setup_units(ledger)
    do(ledger, "register_subject", code="S1", name="农村最低生活保障金", kind="project",
       fiscal_year=2022, unit_code="MZJ", funds="640.85", is_new=True)


def cited(info: CheckpointInfo, **changed: Any) -> dict[str, Any]:
    """A checkpoint as the API input states it."""
    return {"origin": info.origin, "size": info.size, "root": info.root,
            "lastPosition": info.last_position, "note": info.note, **changed}


def disclose(api: Api, checkpoint: dict[str, Any] | None,
             content_position: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "commandId": cid(), "fiscalYear": 2022, "audience": "PUBLIC", "title": "预算绩效信息公开",
        "subjectCodes": ["S1"], "contentHash": "ab" * 32,
        "contentPosition": max_position(api.ledger) if content_position is None
        else content_position}
    if checkpoint is not None:
        data["checkpoint"] = checkpoint
    return api.mutate("recordDisclosure", data)


def refused(api: Api, checkpoint: dict[str, Any] | None,
            content_position: int | None = None) -> tuple[str, str]:
    """The refusal's code and field; asserts it is a typed rule refusal and nothing was
    appended."""
    head = max_position(api.ledger)
    answer = disclose(api, checkpoint, content_position)
    assert answer["__typename"] == "RuleViolation", answer
    assert answer["rule"] and answer["message"], answer
    assert max_position(api.ledger) == head
    assert disclosures(api) == []
    return answer["code"], answer["field"]


def forged_note(real: CheckpointInfo) -> dict[str, Any]:
    """The real note rewritten to name another size: its signature no longer holds."""
    note = real.note.replace(f"\n{real.size}\n", f"\n{real.size + 1}\n", 1)
    return cited(real, size=real.size + 1, note=note)


def strangers_note(real: CheckpointInfo) -> dict[str, Any]:
    """A note made up from scratch, signed by another key of the same name."""
    body = Checkpoint.create(real.origin, real.size, b"\x01" * 32,
                             position=real.last_position).body()
    return cited(real, root=base64.b64encode(b"\x01" * 32).decode(),
                 note=sign_note(body, NoteSigner.generate(KEY_NAME)))


# What an insider might cite, made from a real checkpoint of the log: the refusal and field.
FORGERIES: dict[str, tuple[Callable[[CheckpointInfo], dict[str, Any]], str, str]] = {
    "forged note": (forged_note, "CHECKPOINT_NOT_SIGNED", "checkpoint.note"),
    "another key's note": (strangers_note, "CHECKPOINT_NOT_SIGNED", "checkpoint.note"),
    # the real note beside a root, size or position it does not state
    "edited root": (lambda real: cited(real, root="A" * 43 + "="), "CHECKPOINT_MISMATCH",
                    "checkpoint"),
    "edited size": (lambda real: cited(real, size=real.size - 1), "CHECKPOINT_MISMATCH",
                    "checkpoint"),
    "edited position": (lambda real: cited(real, lastPosition=real.last_position - 1),
                        "CHECKPOINT_MISMATCH", "checkpoint"),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_or_edited_checkpoint_is_refused(signed: tuple[Api, NoteVerifier],
                                                  database: Database, forgery: str) -> None:
    api, _ = signed
    real = checkpoint_now(database, api.ledger, load_key(database))
    make, code, field = FORGERIES[forgery]
    assert refused(api, make(real)) == (code, field)


def test_a_checkpoint_must_cover_the_package_and_be_this_logs(
        signed: tuple[Api, NoteVerifier], database: Database, tmp_path: Path) -> None:
    api, _ = signed
    real = checkpoint_now(database, api.ledger, load_key(database))
    do(api.ledger, "register_unit", code="JYJ", name="相山区教育局")  # after the checkpoint
    head = max_position(api.ledger)
    assert real.last_position < head
    assert refused(api, cited(real), content_position=head) == ("CHECKPOINT_BEHIND_CONTENT",
                                                                "checkpoint")
    assert refused(api, None) == ("CHECKPOINT_REQUIRED", "checkpoint")  # a key is configured
    assert refused(api, cited(real), content_position=head + 1000) == (
        "CONTENT_POSITION_AHEAD", "contentPosition")

    # Signed by this key, but another database's checkpoint (a key file shared by two).
    other_db = Database.from_url(f"sqlite:///{tmp_path}/other.db")
    migrate(other_db)
    other = Ledger(other_db)
    try:
        registered(other)
        do(other, "register_unit", code="X1", name="另一个账本的单位")
        theirs = checkpoint_now(other_db, other, load_key(database))
    finally:
        other.close()
    assert theirs.last_position <= head
    assert refused(api, cited(theirs), content_position=theirs.last_position) == (
        "CHECKPOINT_NOT_OF_THIS_LOG", "checkpoint")



def test_a_checkpoint_the_store_holds_covering_the_package_is_recorded(
        signed: tuple[Api, NoteVerifier], database: Database) -> None:
    """What a remote caller who built a package elsewhere can honestly cite."""
    api, verifier = signed
    head = max_position(api.ledger)
    fresh = checkpoint_now(database, api.ledger, load_key(database))
    done = disclose(api, cited(fresh), content_position=head)
    assert done["__typename"] == "RecordDisclosureResult", done
    [record] = disclosures(api)
    assert record["contentPosition"] == head
    note = record["checkpoint"]["note"]
    assert open_note(note, verifier, origin=fresh.origin).size == fresh.size
    assert record["checkpoint"] == {"origin": fresh.origin, "size": fresh.size,
                                    "root": fresh.root, "last_position": fresh.last_position,
                                    "note": fresh.note}


def test_without_a_key_nothing_can_be_cited(unsigned: Api) -> None:
    """No key: no citation can be checked, so none is taken; a disclosure says there is none."""
    signer = NoteSigner.generate(KEY_NAME)
    body = Checkpoint.create(KEY_NAME, 3, b"\x02" * 32, position=3).body()
    crafted = {"origin": KEY_NAME, "size": 3, "root": base64.b64encode(b"\x02" * 32).decode(),
               "lastPosition": 3, "note": sign_note(body, signer)}
    assert refused(unsigned, crafted) == ("CHECKPOINT_UNVERIFIABLE", "checkpoint")
    done = disclose(unsigned, None)
    assert done["__typename"] == "RecordDisclosureResult", done
    [record] = disclosures(unsigned)
    assert record["checkpoint"] is None


def test_a_checkpoint_without_its_note_is_not_an_input(signed: tuple[Api, NoteVerifier],
                                                       database: Database) -> None:
    """What the API took before (any JSON object) is a GraphQL validation error now."""
    api, _ = signed
    real = checkpoint_now(database, api.ledger, load_key(database))
    head = max_position(api.ledger)
    body = api.post("""mutation($input: RecordDisclosureInput!) {
        recordDisclosure(input: $input) { __typename } }""", {"input": {
        "commandId": cid(), "fiscalYear": 2022, "audience": "PUBLIC", "title": "公开",
        "subjectCodes": ["S1"], "contentHash": "ab" * 32, "contentPosition": head,
        "checkpoint": {"origin": real.origin, "size": real.size, "root": real.root,
                       "lastPosition": real.last_position}}})
    assert body.get("data") is None
    [error] = body["errors"]
    assert "note" in error["message"], error
    assert max_position(api.ledger) == head
