"""Read replicas for real: a primary and a streaming hot standby started for these tests.

Commands go to the primary, reads to the standby; a position token is honoured (read your
writes) even while the standby lags or has replay paused.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from jixiao.replicas import ReplicaRouter, StandbyReadModel
from ledger.annex import AnnexKind
from ledger.application import Ledger
from ledger.migrate import migrate
from ledger.sample.loader import load_sample
from ledger.store import Database
from projections.views import ReadModel
from tests.integration.helpers import do
from tests.pgcluster import Cluster, Server, caught_up, free_port, started_or_skip, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server]]:
    cluster = started_or_skip(Cluster)
    try:
        primary = started_or_skip(cluster.primary)
        standby = started_or_skip(lambda: cluster.standby(primary))
        yield primary, standby
    finally:
        cluster.close()


@pytest.fixture
def setup(servers: tuple[Server, Server]) -> Iterator[tuple[Ledger, ReplicaRouter, Server,
                                                             Server]]:
    """A fresh schema on the primary (replicated to the standby) with the seed loaded."""
    primary, standby = servers
    schema = f"r_{uuid.uuid4().hex[:10]}"
    primary_db, standby_db = primary.database(schema), standby.database(schema)
    migrate(primary_db)
    ledger = Ledger(primary_db)
    load_sample(ledger)
    router = ReplicaRouter(primary_db, [standby_db], ledger=ledger)
    try:
        yield ledger, router, primary, standby
    finally:
        router.close()
        ledger.close()
        standby.query("SELECT pg_wal_replay_resume()")
        primary.query(f'DROP SCHEMA "{schema}" CASCADE')


def new_subject(ledger: Ledger, code: str) -> int:
    return do(ledger, "register_subject", code=code, name=f"{code}项目", kind="project",
              fiscal_year=2022, unit_code="XS-U01", funds="12.34").position


def test_commands_on_the_primary_reads_on_the_standby(
        setup: tuple[Ledger, ReplicaRouter, Server, Server]) -> None:
    ledger, router, _, standby = setup
    head = router.primary_read_model().catch_up()  # the projector runs on the primary only
    db = router.for_read(head, wait=10)
    assert db.port == standby.port
    read = router.read_model_for(db)
    assert isinstance(read, StandbyReadModel)
    with read.conn() as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    moment = read.resolve()
    assert moment.position >= head
    on_primary = router.primary_read_model()
    for kind in AnnexKind:
        assert (read.evaluation_table(moment, 2022, kind)
                == on_primary.evaluation_table(on_primary.resolve(position=moment.position),
                                               2022, kind))
    assert read.coverage(moment, 2022).subjects == 16
    # A standby read model never projects: its views are the primary's, replayed.
    assert read.catch_up() == moment.position
    # Commands still go to the primary.
    assert router.ledger is ledger


def test_a_token_is_honoured_only_once_the_standby_has_projected_it(
        setup: tuple[Ledger, ReplicaRouter, Server, Server]) -> None:
    ledger, router, primary, standby = setup
    router.primary_read_model().catch_up()
    token = new_subject(ledger, "RYW-1")
    # The standby replays the event itself, but nobody projected it yet: not good enough.
    caught_up(primary, standby)
    assert router.status()[0].logged == token
    assert router.status()[0].projected < token  # type: ignore[operator]
    assert router.for_read(token, wait=0.3).port == primary.port
    fallback = router.read_model(token, wait=0)
    assert fallback is router.primary_read_model()
    assert fallback.subject(fallback.resolve(), "RYW-1") is not None  # projected on demand
    # Now projected on the primary, it replicates, and the standby may answer.
    db = router.for_read(token, wait=10)
    assert db.port == standby.port
    read = router.read_model_for(db)
    found = read.subject(read.resolve(), "RYW-1")
    assert found is not None and found.summary.code == "RYW-1"


def test_a_lagging_standby_is_waited_for_or_bypassed(
        setup: tuple[Ledger, ReplicaRouter, Server, Server]) -> None:
    ledger, router, primary, standby = setup
    router.primary_read_model().catch_up()
    caught_up(primary, standby)
    standby.query("SELECT pg_wal_replay_pause()")
    wait_until(lambda: standby.query("SELECT pg_get_wal_replay_pause_state()")[0][0]
               == "paused", 10, "replay to pause")
    token = new_subject(ledger, "LAG-1")
    assert router.primary_read_model().catch_up() >= token
    assert router.status()[0].replay_paused is True

    # Bounded wait, then the primary answers.
    started = time.monotonic()
    assert router.for_read(token, wait=0.5).port == primary.port
    assert 0.45 <= time.monotonic() - started < 3
    # Reads without a token may still be served, stale, by the paused standby.
    assert router.for_read(None).port == standby.port

    # Replay resumes while a read waits: the standby answers as soon as it has caught up.
    resume = threading.Timer(0.3, lambda: standby.query("SELECT pg_wal_replay_resume()"))
    resume.start()
    try:
        started = time.monotonic()
        db = router.for_read(token, wait=15)
        waited = time.monotonic() - started
    finally:
        resume.join()
    assert db.port == standby.port and 0.25 <= waited < 15
    read = router.read_model_for(db)
    assert read.subject(read.resolve(), "LAG-1") is not None


def test_an_unreachable_standby_is_skipped(
        setup: tuple[Ledger, ReplicaRouter, Server, Server]) -> None:
    ledger, router, _, standby = setup
    dead = Database.from_url(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
                             f"?schema={router.primary.schema}")
    flaky = ReplicaRouter(router.primary, [dead, router.standbys[0].db], ledger=ledger,
                          read_model=router.primary_read_model())
    try:
        token = router.primary_read_model().catch_up()
        for _ in range(3):  # round robin, but never to the dead one
            assert flaky.for_read(token, wait=10).port == standby.port
        assert [s.reachable for s in flaky.status()] == [False, True]
        assert ReplicaRouter(router.primary, []).for_read(token, 1) is router.primary
    finally:
        flaky.close()


def test_the_router_reads_from_the_primary_read_model_it_was_given(
        setup: tuple[Ledger, ReplicaRouter, Server, Server]) -> None:
    ledger, router, _, _ = setup
    mine = ReadModel(router.primary, ledger)
    try:
        shared = ReplicaRouter(router.primary, [], ledger=ledger, read_model=mine)
        assert shared.read_model(10**9, wait=0) is mine
        shared.close()
        assert mine.resolve().position > 0  # not closed by the router: it was lent
    finally:
        mine.close()
