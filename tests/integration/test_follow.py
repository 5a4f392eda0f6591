"""`jixiao projections follow`: views kept current in the background, woken by NOTIFY on
PostgreSQL and by polling on both stores."""

from __future__ import annotations

import time

from ledger.application import Ledger
from ledger.store import Database
from projections.follow import Follower
from projections.projector import Runner
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
