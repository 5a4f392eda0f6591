"""`jixiao projections follow`: views kept current in the background, woken by NOTIFY on
PostgreSQL and by polling on both stores."""

from __future__ import annotations

import time

import pytest

from ledger.application import Ledger
from ledger.store import Database
from projections.follow import Follower, Listener
from projections.projector import Runner
from tests.conftest import migrated_postgres
from tests.integration.helpers import do, eventually

pytestmark = pytest.mark.slow  # a follower thread, waited for


def test_the_follower_projects_what_another_writer_appends(ledger: Ledger,
                                                           database: Database) -> None:
    runner = Runner(database, ledger)
    follower = Follower(database, runner, poll_seconds=0.2)
    follower.start()
    try:
        writer = Ledger(database)
        position = do(writer, "register_unit", code="MZJ", name="相山区民政局").position
        writer.close()
        eventually(lambda: runner.position() >= position, within=10,
                   what="projecting the append")
    finally:
        follower.stop()
        runner.close()
    assert not any(t.is_alive() for t in follower.threads)


@pytest.mark.postgres
def test_a_listener_wakes_for_its_own_stores_appends_only() -> None:
    with migrated_postgres() as mine, migrated_postgres() as other:
        heard: list[bool] = []
        listener = Listener(mine, lambda: heard.append(True), poll_seconds=0.2)
        listener.start()
        try:
            eventually(lambda: listener.listening and len(heard) == 1, what="listening")
            for db, code in ((other, "QT"), (mine, "MZJ")):  # the same channel, in this order
                writer = Ledger(db)
                do(writer, "register_unit", code=code, name="相山区民政局")
                writer.close()
            # Notifications arrive in commit order: once our append is heard, the other
            # store's would have been heard before it.
            eventually(lambda: len(heard) >= 2, what="hearing our own append")
            time.sleep(0.3)
            assert len(heard) == 2
        finally:
            listener.stop()
