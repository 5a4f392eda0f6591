"""`jixiao projections follow`: views kept current in the background, woken by NOTIFY on
PostgreSQL and by polling on both stores."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ledger.application import Ledger
from ledger.store import Database
from projections.follow import Follower, Listener
from projections.projector import Runner
from tests.conftest import migrated_postgres
from tests.integration.helpers import do


def test_the_follower_projects_what_another_writer_appends(ledger: Ledger,
                                                           database: Database) -> None:
    runner = Runner(database, ledger)
    follower = Follower(database, runner, poll_seconds=0.2)
    follower.start()
    try:
        writer = Ledger(database)
        position = do(writer, "register_unit", code="MZJ", name="相山区民政局").position
        writer.close()
        deadline = time.monotonic() + 10
        while runner.position() < position:
            assert time.monotonic() < deadline, "the follower never projected the append"
            time.sleep(0.05)
    finally:
        follower.stop()
        runner.close()
    assert not any(t.is_alive() for t in follower.threads)


@pytest.mark.postgres
def test_a_listener_wakes_for_its_own_stores_appends_only() -> None:
    with migrated_postgres() as mine, migrated_postgres() as other:
        heard: list[float] = []
        listener = Listener(mine, lambda: heard.append(time.monotonic()), poll_seconds=0.2)
        listener.start()
        try:
            wait_for(lambda: listener.listening and len(heard) == 1, "listening")
            for db, code in ((other, "QT"), (mine, "MZJ")):  # the same channel, in this order
                writer = Ledger(db)
                do(writer, "register_unit", code=code, name="相山区民政局")
                writer.close()
            # Notifications arrive in commit order: once our append is heard, the other
            # store's would have been heard before it.
            wait_for(lambda: len(heard) >= 2, "our own append")
            time.sleep(0.3)
            assert len(heard) == 2
        finally:
            listener.stop()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)
