"""Proofs over the API: `ledger { checkpoint inclusionProof consistencyProof }` and the tlog-tiles
routes, as the public and as tokens of each kind get them."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.integrity.checkpoint import init_key_file
from ledger.integrity.merkle import verify_consistency, verify_inclusion
from ledger.integrity.service import checkpoint_now, load_key
from ledger.sample.loader import load_sample
from ledger.store import Database
from tests.e2e.conftest import bearer, cid, issue_token

PROOF = """query($at: Int, $position: Int!, $size: Int) { ledger(position: $at) {
    position checkpoint(size: $size) { size root lastPosition note }
    inclusionProof(position: $position, checkpoint: $size) {
        leafIndex leafHash treeSize root hashes checkpoint } } }"""
CONSISTENCY = """query($from: Int!, $to: Int) { ledger { consistencyProof(from: $from, to: $to) {
    fromSize toSize fromRoot toRoot hashes } } }"""


@pytest.fixture
def http(database: Database, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The sample under a key the app holds from the start, and no checkpoint yet (so not
    published: its disclosures would cite one); anonymous unless told otherwise."""
    key = tmp_path / "signing.key"
    init_key_file(key, "jixiao.test/proofs")
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key))
    app = create_app(database, rate_limit=None)
    load_sample(app.state.services.ledger)
    with TestClient(app) as client:
        yield client


def ask(http: TestClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = http.post("/graphql", json={"query": query,
                                                       "variables": variables}).json()
    return body


def sign(http: TestClient, database: Database) -> int:
    services = http.app.state.services  # type: ignore[attr-defined]
    return checkpoint_now(database, services.ledger, load_key(database)).size


def test_proofs_verify_and_name_their_checkpoint(http: TestClient, database: Database) -> None:
    before = ask(http, PROOF, {"position": 5})
    assert before["data"] is None or before["data"]["ledger"] is None
    assert before["errors"][0]["extensions"]["reason"] == "CHECKPOINT_NOT_FOUND"
    assert ask(http, "{ ledger { checkpoint { size } } }", {})["data"]["ledger"] == {
        "checkpoint": None}
    assert http.get("/checkpoint").status_code == 404

    old = sign(http, database)
    answer = ask(http, PROOF, {"position": 5})["data"]["ledger"]
    checkpoint, proof = answer["checkpoint"], answer["inclusionProof"]
    assert checkpoint["size"] == old == proof["treeSize"]
    assert proof["checkpoint"] == checkpoint["note"] == http.get("/checkpoint").text
    root = base64.b64decode(checkpoint["root"])
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    verify_inclusion(base64.b64decode(proof["leafHash"]), proof["leafIndex"], old, hashes, root)

    services = http.app.state.services  # type: ignore[attr-defined]
    services.ledger.register_unit({"command_id": cid(), "code": "XS-P-1", "name": "证明测试",
                                   "kind": "department"})
    head = int(services.ledger.recorder.max_notification_id())
    unsealed = ask(http, PROOF, {"position": head})["errors"][0]["extensions"]["reason"]
    assert unsealed == "SEALED_EVENT_NOT_FOUND"
    beyond = ask(http, PROOF, {"at": 10, "position": 11})["errors"][0]["extensions"]["reason"]
    assert beyond == "BAD_ARGUMENT"
    assert ask(http, PROOF, {"position": 5, "size": 999})["errors"][0]["extensions"][
        "reason"] == "CHECKPOINT_NOT_FOUND"

    new = sign(http, database)
    later = ask(http, PROOF, {"position": head, "size": old})["errors"][0]["extensions"]
    assert later["reason"] == "NOT_IN_CHECKPOINT"
    found = ask(http, CONSISTENCY, {"from": old})["data"]["ledger"]["consistencyProof"]
    assert (found["fromSize"], found["toSize"]) == (old, new)
    verify_consistency(old, new, base64.b64decode(found["fromRoot"]),
                       base64.b64decode(found["toRoot"]),
                       [base64.b64decode(h) for h in found["hashes"]])
    reversed_ = ask(http, CONSISTENCY, {"from": new, "to": old})
    assert reversed_["errors"][0]["extensions"]["reason"] == "SIZES_REVERSED"


@pytest.mark.parametrize("backend", ["sqlite"])  # HTTP only: one store
def test_only_named_sizes_are_pinned_and_entries_need_a_reader_of_everything(
        http: TestClient, database: Database) -> None:
    size = sign(http, database)
    pinned = http.get("/graphql", params={"query": PROOF.replace("$at: Int", "$at: Int = 100"),
                                          "variables": f'{{"position": 5, "size": {size}}}'})
    assert pinned.status_code == 200 and "immutable" in pinned.headers["cache-control"]
    moving = http.get("/graphql", params={"query": PROOF.replace("$at: Int", "$at: Int = 100"),
                                          "variables": '{"position": 5}'})
    assert moving.status_code == 200 and moving.headers["cache-control"] == "no-store"

    assert http.get("/tile/0/000").status_code == 200  # hashes: anyone
    assert http.get("/tile/entries/000").status_code == 403
    unit = bearer(issue_token(database, "budget_unit", unit="XS-U03"))
    assert http.get("/tile/entries/000", headers=unit).status_code == 403
    auditor = bearer(issue_token(database, "auditor"))
    bundle = http.get("/tile/entries/000", headers=auditor)
    assert bundle.status_code == 200 and bundle.headers["vary"] == "Authorization"
    assert len(bundle.content) > 256 * 2
