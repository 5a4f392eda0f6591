"""Terminate the server's PostgreSQL connections under load: it answers Unavailable (a typed
refusal, never a 500) or succeeds after reconnecting, recovers by itself, and loses nothing
acknowledged. Only this server's connections are dropped (tagged by PGAPPNAME), never the
shared PostgreSQL server's other clients."""

from __future__ import annotations

import threading
import time

import httpx2 as httpx
import psycopg
import pytest

from tests.conftest import PG_URL
from tests.faults.conftest import (
    Client,
    Server,
    bureau_headers,
    command_counts,
    run_clients,
    wait_for_acks,
)

CLIENTS = 8
PER_CLIENT = 20
QUERY = "{ ledger { position subjects(first: 5) { edges { node { code } } } } }"


def terminate(app_name: str) -> int:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                            "datname = current_database() AND pid <> pg_backend_pid() AND "
                            "application_name = %s", (app_name,)).fetchall()
    return len(rows)


@pytest.mark.postgres
def test_dropped_connections_are_unavailable_then_recovered(server: Server) -> None:
    headers = bureau_headers(server.db)
    server.start()
    clients = [Client(headers=headers) for _ in range(CLIENTS)]
    stop = threading.Event()
    threads = run_clients(server.url, clients, stop, PER_CLIENT)
    reads: list[int] = []

    def reader() -> None:
        with httpx.Client() as http:
            while not stop.is_set():
                try:
                    response = http.post(server.url, json={"query": QUERY},
                                         headers=headers, timeout=10)
                except httpx.TimeoutException:
                    reads.append(0)  # slow while reconnecting: allowed, not a failure
                    continue
                reads.append(response.status_code)
                time.sleep(0.01)

    read_thread = threading.Thread(target=reader, daemon=True)
    read_thread.start()
    wait_for_acks(clients, CLIENTS)  # the load is flowing: drop from now on
    dropped = 0
    for _ in range(3):  # several drops while the clients are busy, close enough to overlap
        dropped += terminate(server.app_name)
        time.sleep(0.3)
    assert dropped > 0, "the server's connections were not found"
    assert sum(len(c.acked) for c in clients) < CLIENTS * PER_CLIENT, "the load ended first"
    for t in threads:
        t.join(120)
    # Recovered by itself: the read path answers again without errors.
    deadline = time.monotonic() + 20
    while True:
        body = httpx.post(server.url, json={"query": QUERY}, headers=headers, timeout=10)
        if body.status_code == 200 and "errors" not in body.json():
            break
        assert time.monotonic() < deadline, body.text
        time.sleep(0.2)
    stop.set()
    read_thread.join(30)
    assert all(not c.pending for c in clients), "some commands never succeeded"
    assert sum(c.server_errors for c in clients) == 0
    assert all(code < 500 for code in reads), sorted(set(reads))
    refusals = {k for c in clients for k in c.refusals}
    assert refusals <= {"STORAGE_UNAVAILABLE", "Unavailable"}, refusals
    counts = command_counts(server.db)
    acked = {i for c in clients for i in c.acked}
    assert {i: n for i, n in counts.items() if n != 1} == {}
    assert set(counts) == acked and len(acked) == CLIENTS * PER_CLIENT
