"""Operations endpoints through the real HTTP app: /healthz, /readyz, /metrics; JSON logs."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from jixiao.app import create_app
from jixiao.logs import JsonFormatter, log_format, uvicorn_log_config
from ledger.integrity.checkpoint import init_key_file
from ledger.integrity.service import checkpoint_now, origin_setting
from ledger.migrate import migrate
from ledger.store import Database
from tests.e2e.conftest import Api, cid

REGISTER = ('mutation($input: RegisterUnitInput!) { registerUnit(input: $input) { __typename '
            '... on Refusal { code } } }')


def metric(client: TestClient, name: str, **labels: str) -> float:
    """One sample's value from /metrics (0 when it has not been counted yet)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_healthz_and_readyz_report_the_checkpoint_lag_and_view_check(
        api: Api, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client = api.client
    assert client.get("/healthz").json() == {"status": "ok"}
    before = client.get("/readyz").json()
    assert before["store"] == {"reachable": True} and before["checkpoint"] is None
    assert before["viewCheck"] == {"checkedAt": None, "differ": False, "failed": False}
    assert api.mutate("registerUnit", {"commandId": cid(), "code": "OPS-U1",
                                       "name": "运维单位"})["__typename"] == "RegisterUnitResult"
    key = tmp_path / "signing.key"
    init_key_file(key, origin_setting())
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key))
    from ledger.integrity.keys import load_key

    signed = checkpoint_now(database, api.ledger, load_key(database))
    after = client.get("/readyz")
    assert after.status_code == 200 and after.headers["cache-control"] == "no-store"
    report = after.json()
    assert report["status"] == "ok" and report["lag"] == 0
    assert report["checkpoint"]["size"] == signed.size
    assert 0 <= report["checkpoint"]["ageSeconds"] < 60
    assert {v["name"] for v in report["views"]} and report["position"] >= 1  # kept as before


def test_readyz_is_503_when_the_store_is_unreachable_and_healthz_still_answers(
        tmp_path: Path) -> None:
    where = tmp_path / "store"
    where.mkdir()
    db = Database.from_url(f"sqlite:///{where}/ledger.db")
    migrate(db)
    with TestClient(create_app(db, rate_limit=None)) as client:
        assert client.get("/readyz").status_code == 200
        client.app.state.services.reconnect()  # type: ignore[attr-defined]
        shutil.rmtree(where)
        (where / "ledger.db").mkdir(parents=True)  # a directory where the database was
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json() == {"status": "unavailable", "store": {"reachable": False}}
        assert client.get("/healthz").status_code == 200


def test_metrics_count_queries_commands_and_cache_hits(api: Api) -> None:
    client = api.client
    asked = {"operation": "ledger", "type": "query", "outcome": "ok"}
    queries = metric(client, "jixiao_graphql_requests_total", **asked)
    timed = metric(client, "jixiao_graphql_request_seconds_count", operation="ledger",
                   type="query")
    api.data("query ClientChosenName { ledger { position } }")
    assert metric(client, "jixiao_graphql_requests_total", **asked) == queries + 1
    assert metric(client, "jixiao_graphql_request_seconds_count", operation="ledger",
                  type="query") == timed + 1
    assert "ClientChosenName" not in client.get("/metrics").text  # never a label

    invalid = metric(client, "jixiao_graphql_requests_total", operation="other",
                     outcome="invalid")
    api.post("{ noSuchField }")
    assert metric(client, "jixiao_graphql_requests_total", operation="other",
                  outcome="invalid") == invalid + 1

    accepted = metric(client, "jixiao_commands_total", command="register_unit",
                      outcome="accepted")
    unit = {"code": "OPS-U2", "name": "运维单位二"}
    api.data(REGISTER, {"input": {"commandId": cid(), **unit}})
    refused = api.data(REGISTER, {"input": {"commandId": cid(), **unit}})["registerUnit"]
    assert metric(client, "jixiao_commands_total", command="register_unit",
                  outcome="accepted") == accepted + 1
    assert metric(client, "jixiao_commands_total", command="register_unit",
                  outcome=refused["code"]) >= 1

    hits = metric(client, "jixiao_answer_cache_total", result="hit")
    for _ in range(2):
        assert api.get("{ ledger(position: 1) { position } }").status_code == 200
    assert metric(client, "jixiao_answer_cache_total", result="hit") == hits + 1
    text = client.get("/metrics").text
    assert "jixiao_projection_lag_events 0.0" in text
    assert "jixiao_checkpoint_age_seconds" in text


@pytest.mark.parametrize(("mode", "public_status"), [("", 403), ("public", 200), ("off", 404)])
def test_metrics_are_for_the_operator_unless_configured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str,
        public_status: int) -> None:
    monkeypatch.setenv("JIXIAO_METRICS", mode)
    db = Database.from_url(f"sqlite:///{tmp_path}/ledger.db")
    migrate(db)
    with TestClient(create_app(db, rate_limit=None)) as client:
        assert client.get("/metrics").status_code == public_status


def test_json_log_lines_cannot_be_forged_by_client_input() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("jixiao.test-json")
    logger.addHandler(handler)
    logger.propagate = False
    forged = 'GET /x\n{"level": "CRITICAL", "message": "forged"}\r\x1b[2J\u202e\x85 路径'
    try:
        logger.warning("request %s", forged)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "WARNING" and entry["message"] == f"request {forged}"
    assert all(c not in lines[0] for c in "\x1b\u202e\x85\r")
    assert log_format("JSON") == "json" and uvicorn_log_config("text", "warning") is None
    with pytest.raises(SystemExit):
        log_format("xml")


@pytest.mark.slow
def test_metrics_of_several_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR (several `jixiao serve` workers), any process's /metrics
    answers the sum over every process that counted."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "import schema.metrics as m; m.record_command('register_unit', 'accepted')"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=120)
    shown = subprocess.run([sys.executable, "-c", "import schema.metrics as m; "
                            "print(m.exposition().decode())"], env=env, check=True,
                           timeout=120, capture_output=True, text=True).stdout
    assert 'jixiao_commands_total{command="register_unit",outcome="accepted"} 2.0' in shown
