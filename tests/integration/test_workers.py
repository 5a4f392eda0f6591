"""`jixiao serve --workers 2` on PostgreSQL: two processes behind one port, each keeping live
answers under the position it resolved "now" to. A write acknowledged by one worker is seen by
every read that asks for at least its position (`minPosition`, the API's read-your-writes),
whichever worker answers, and a plain live read shows it within the poll interval."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from jixiao.serve import workers_for
from jixiao.watch import Leadership
from ledger.migrate import migrate
from ledger.store import Database
from projections.views import POLL_SECONDS
from tests.e2e.conftest import bearer, cid, issue_token
from tests.pgcluster import free_port

pytestmark = pytest.mark.postgres

REGISTER = """mutation($input: RegisterUnitInput!) { registerUnit(input: $input) {
  __typename ... on CommandSuccess { position } } }"""
TRAIL = """query($min: Int) { ledger(minPosition: $min) { position
  auditTrail(first: 200) { edges { node { position } } } } }"""
NOW = "{ ledger { position auditTrail(first: 200) { edges { node { position } } } } }"


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in found.read_text().split()] if found.exists() else []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    from tests.conftest import drop_schema, fresh_postgres, postgres_available

    if not postgres_available():
        pytest.skip("PostgreSQL not reachable")
    db = fresh_postgres()
    migrate(db)
    headers = bearer(issue_token(db))
    proc, url = start_workers(db)
    try:
        yield url, headers
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        drop_schema(db)


def start_workers(db: Database) -> tuple[subprocess.Popen[bytes], str]:
    """`jixiao serve --workers 2`, once both workers answer."""
    port = free_port()
    env = {**os.environ, "JIXIAO_DATABASE_URL": db.url, "JIXIAO_RATE_LIMIT": "off"}
    proc = subprocess.Popen([sys.executable, "-m", "jixiao.cli", "serve", "--workers", "2",
                             "--port", str(port), "--checkpoint-every", "0",
                             "--check-views-every", "0"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/graphql"
    deadline = time.monotonic() + 120
    while len(children(proc.pid)) < 2 or not ready(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("server did not start")
        time.sleep(0.2)
    for _ in range(20):  # both workers up: a few answers from each before the test
        assert ready(url)
    return proc, url


def ready(url: str) -> bool:
    try:
        return httpx.get(url, params={"query": "{ __typename }"}, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def positions(body: dict[str, Any]) -> set[int]:
    """The positions of the events in an answer's audit trail (one per unit registered)."""
    assert "errors" not in body, body
    return {e["node"]["position"] for e in body["data"]["ledger"]["auditTrail"]["edges"]}


@pytest.mark.slow
def test_reads_through_the_port_never_miss_an_acknowledged_write(
        server: tuple[str, dict[str, str]]) -> None:
    url, headers = server
    with httpx.Client(headers=headers, timeout=30) as http:
        for n in range(12):
            result = http.post(url, json={"query": REGISTER, "variables": {"input": {
                "commandId": cid(), "code": f"W{n}", "name": f"工作进程单位{n}"}}}).json()
            written = result["data"]["registerUnit"]["position"]
            # new connections, so the reads spread over both workers
            for _ in range(6):
                body = httpx.post(url, json={"query": TRAIL, "variables": {"min": written}},
                                  headers=headers, timeout=30).json()
                assert body["data"]["ledger"]["position"] >= written
                assert len(positions(body)) == n + 1  # every unit registered so far
            # a plain live read (no minPosition) shows it within the poll interval
            shown_at = time.monotonic()
            while len(positions(httpx.post(url, json={"query": NOW}, headers=headers,
                                           timeout=30).json())) < n + 1:
                assert time.monotonic() - shown_at < POLL_SECONDS + 2
                time.sleep(0.02)


def test_sqlite_gets_one_worker_and_postgres_one_per_core(tmp_path: Path) -> None:
    sqlite = Database.from_url(f"sqlite:///{tmp_path}/one.db")
    assert workers_for(sqlite, None) == 1 and workers_for(sqlite, 1) == 1
    with pytest.raises(SystemExit, match="PostgreSQL"):
        workers_for(sqlite, 2)
    postgres = Database.from_url("postgresql://postgres@127.0.0.1:5432/test?schema=x")
    assert workers_for(postgres, None) == len(os.sched_getaffinity(0))
    assert workers_for(postgres, 3) == 3
    with pytest.raises(SystemExit):
        workers_for(postgres, 0)


def test_one_worker_at_a_time_leads_the_integrity_watch(postgres_database: Database) -> None:
    first, second = Leadership(postgres_database), Leadership(postgres_database)
    try:
        assert first.held() and first.held()
        assert not second.held()
        first.close()  # the leader's process ends: its connection, and the lock, go with it
        assert second.held()
    finally:
        first.close()
        second.close()


def test_workers_end_with_a_supervisor_killed_outright(postgres_database: Database) -> None:
    """SIGKILL (the OOM killer) runs no clean-up in the supervisor: its workers must notice
    and exit, not go on holding the port and their connections."""
    migrate(postgres_database)
    proc, url = start_workers(postgres_database)
    workers = children(proc.pid)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        deadline = time.monotonic() + 15
        while any(Path(f"/proc/{pid}").exists() and not zombie(pid) for pid in workers):
            assert time.monotonic() < deadline, f"workers {workers} outlived their supervisor"
            time.sleep(0.2)
        assert not ready(url)
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return False
