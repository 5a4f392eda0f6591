"""SIGKILL `jixiao serve` while 8 clients send mutations; after a restart every command
that was acknowledged is in the log exactly once, and retries append nothing twice."""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.conftest import (
    Client,
    Server,
    bureau_headers,
    command_counts,
    run_clients,
    wait_for_acks,
)

CLIENTS = 8
PER_CLIENT = 20  # the kill finds at most CLIENTS commands in flight, however many follow


@pytest.mark.postgres
def test_sigkill_under_load_loses_and_duplicates_nothing(server: Server) -> None:
    headers = bureau_headers(server.db)
    server.start()
    clients = [Client(headers=headers) for _ in range(CLIENTS)]
    stop = threading.Event()
    threads = run_clients(server.url, clients, stop, PER_CLIENT)
    wait_for_acks(clients, CLIENTS * PER_CLIENT // 4)
    server.kill()
    acked_before_kill = {i for c in clients for i in c.acked}
    time.sleep(0.5)  # clients now see refused connections and keep their ids
    server.start()
    for t in threads:
        t.join(120)
    stop.set()
    assert all(not c.pending for c in clients), "some commands never got an answer"
    counts = command_counts(server.db)
    acked = {i for c in clients for i in c.acked}
    assert acked_before_kill < acked and len(acked) == CLIENTS * PER_CLIENT
    assert {i: n for i, n in counts.items() if n != 1} == {}, "a command appended twice"
    assert set(counts) == acked, "an acknowledged command is missing from the log"
    assert sum(c.server_errors for c in clients) == 0
