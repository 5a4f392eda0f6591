"""SIGKILL a projector process mid-catch-up; the restart converges exactly.

Ten of the projector's batches: the kill lands once a quarter of them have committed, with
the rest still to go, so the restart resumes from a mid-log position and does real work. A
bigger log (it was 100k events) proves nothing more and cost minutes per store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ledger.application import Ledger
from ledger.sample.synthetic import EVENTS_PER_SUBJECT, generate
from ledger.store import Database, fetchone
from projections.hashing import all_hashes
from projections.projector import BATCH, Runner

EVENTS = 10 * BATCH


def tracked(db: Database) -> int:
    conn = db.connect()
    try:
        row = fetchone(db, conn, "SELECT MIN(position) FROM projection_tracking")
        return int(row[0]) if row and row[0] is not None else 0
    finally:
        conn.close()


def catch_up_process(db: Database) -> subprocess.Popen[bytes]:
    env = {**os.environ, "JIXIAO_DATABASE_URL": db.url}
    return subprocess.Popen([sys.executable, "-m", "jixiao.cli", "projections", "catch-up"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_mid_catch_up_then_restart_matches_a_clean_rebuild(
        ledger: Ledger, database: Database) -> None:
    head = generate(ledger, districts=1, subjects=EVENTS // EVENTS_PER_SUBJECT + 1,
                    batch_subjects=250)
    assert head >= EVENTS

    proc = catch_up_process(database)
    deadline = time.monotonic() + 120
    while tracked(database) < head // 4:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the projector made no progress"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    killed_at = tracked(database)
    assert 0 < killed_at < head, "the kill must land mid-catch-up"

    restarted = catch_up_process(database)
    assert restarted.wait(300) == 0, restarted.stderr.read() if restarted.stderr else ""
    assert tracked(database) == head

    runner = Runner(database, ledger)
    try:
        resumed = all_hashes(database, runner.conn, head)
        runner.reset()
        assert runner.catch_up() == head
        assert all_hashes(database, runner.conn, head) == resumed
    finally:
        runner.close()
