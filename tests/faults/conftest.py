"""Fault-test helpers: a real `jixiao serve` subprocess on a free port, clients that keep
their command ids, and the reconciliation of acknowledgements against the log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from ledger.application import Ledger
from ledger.log import read_log
from ledger.store import Database
from ledger.tokens import TokenStore

REGISTER = """mutation($input: RegisterUnitInput!) { registerUnit(input: $input) {
  __typename ... on CommandSuccess { position replayed } ... on Refusal { code message } } }"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.faults)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """`jixiao serve` as a child process; `app_name` tags its PostgreSQL connections."""

    db: Database
    port: int = field(default_factory=free_port)
    app_name: str = field(default_factory=lambda: f"jixiao-fault-{uuid.uuid4().hex[:8]}")
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def start(self, timeout: float = 30) -> None:
        env = {**os.environ, "JIXIAO_DATABASE_URL": self.db.url, "JIXIAO_RATE_LIMIT": "off",
               "PGAPPNAME": self.app_name}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jixiao.cli", "serve", "--port", str(self.port)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
            try:
                if httpx.get(self.url, params={"query": "{ ledger { position } }"},
                             timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not come up")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Client:
    """One client thread's memory: its command ids and which of them were acknowledged."""

    headers: dict[str, str]
    pending: list[str] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    refusals: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0

    def send(self, http: httpx.Client, url: str, command_id: str) -> bool:
        """True when the outcome is known (success or a final refusal)."""
        variables = {"input": {"commandId": command_id, "code": command_id[-20:],
                               "name": "故障测试单位"}}
        try:
            response = http.post(url, json={"query": REGISTER, "variables": variables},
                                 headers=self.headers, timeout=10)
        except httpx.HTTPError:
            return False
        if response.status_code >= 500:
            self.server_errors += 1
            return False
        payload: dict[str, Any] = (response.json().get("data") or {}).get("registerUnit") or {}
        kind = payload.get("__typename", "")
        if "position" in payload:
            self.acked.add(command_id)
            return True
        self.refusals[payload.get("code") or kind or str(response.status_code)] += 1
        return False  # Unavailable and friends: retry later with the same id


def run_clients(url: str, clients: list[Client], stop: threading.Event,
                per_client: int) -> list[threading.Thread]:
    """Start one thread per client sending `per_client` commands, retrying each in turn."""

    def work(client: Client) -> None:
        with httpx.Client() as http:
            for _ in range(per_client):
                client.pending.append(f"fault-{uuid.uuid4().hex}")
            while client.pending and not stop.is_set():
                command_id = client.pending[0]
                if client.send(http, url, command_id):
                    client.pending.pop(0)
                else:
                    time.sleep(0.05)

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    return threads


def wait_for_acks(clients: list[Client], count: int, within: float = 30) -> None:
    """Until the clients hold `count` acknowledgements between them: faults are injected at
    a point of the load's progress, not of the clock, so they land while it runs."""
    deadline = time.monotonic() + within
    while sum(len(c.acked) for c in clients) < count:
        assert time.monotonic() < deadline, f"fewer than {count} commands acknowledged"
        time.sleep(0.01)


def command_counts(db: Database) -> Counter[str]:
    """How many Unit.Registered events each command id has in the log."""
    ledger = Ledger(db)
    try:
        return Counter(r.meta.command_id for r in read_log(ledger)
                       if r.type == "Unit.Registered" and r.meta is not None)
    finally:
        ledger.close()


def bureau_headers(db: Database) -> dict[str, str]:
    store = TokenStore(db)
    try:
        return {"Authorization": f"Bearer {store.create('finance_bureau', 'faults')[1]}"}
    finally:
        store.close()


@pytest.fixture
def pg_database(postgres_database: Database) -> Database:
    return postgres_database


@pytest.fixture
def server(pg_database: Database) -> Iterator[Server]:
    found = Server(pg_database)
    try:
        yield found
    finally:
        found.stop()


def sqlite_at(path: Path) -> Database:
    return Database.from_url(f"sqlite:///{path}")
