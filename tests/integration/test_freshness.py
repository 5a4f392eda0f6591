"""What "now" means on PostgreSQL: silence is trusted only while LISTEN is up, never for
longer than the poll interval, and never for this process's own writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from ledger.application import Ledger
from ledger.store import Database
from projections.follow import CHANNEL
from projections.views import POLL_SECONDS, ReadModel
from tests.conftest import PG_URL
from tests.integration.helpers import do, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # waits on LISTEN and poll intervals


@pytest.fixture(params=[POLL_SECONDS])
def listening(postgres_database: Database,
              request: pytest.FixtureRequest) -> Iterator[tuple[Ledger, ReadModel]]:
    ledger = Ledger(postgres_database)
    do(ledger, "register_unit", code="FB", name="相山区财政局", kind="finance_bureau")
    read = ReadModel(postgres_database, ledger)
    read.listen(poll_seconds=request.param)
    eventually(lambda: read.listener is not None and read.listener.listening)
    read.catch_up()
    yield ledger, read
    read.close()
    ledger.close()


def append_unheard(db: Database, code: str) -> int:
    """Another writer's append whose NOTIFY never comes (its trigger is off meanwhile)."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        table = f'"{db.schema}".ledger_events'
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER jixiao_events_appended")
        other = Ledger(db)
        try:
            return do(other, "register_unit", code=code, name="静默写入的单位").position
        finally:
            other.close()
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER jixiao_events_appended")


def test_own_writes_are_seen_at_once(listening: tuple[Ledger, ReadModel]) -> None:
    ledger, read = listening
    position = do(ledger, "register_unit", code="MZJ", name="相山区民政局").position
    assert read.current() >= position


def test_another_writers_append_is_heard(listening: tuple[Ledger, ReadModel],
                                         postgres_database: Database) -> None:
    _, read = listening
    other = Ledger(postgres_database)
    position = do(other, "register_unit", code="JYJ", name="相山区教育局").position
    other.close()
    eventually(lambda: read.current() >= position)


@pytest.mark.parametrize("listening", [60.0], indirect=True)
def test_silence_is_trusted(listening: tuple[Ledger, ReadModel],
                            postgres_database: Database) -> None:
    _, read = listening
    before = read.current()
    position = append_unheard(postgres_database, "WJW")
    assert read.current() == before < position  # nothing was heard, so nothing is new
    assert read.position() == before  # nor was it projected behind our back


@pytest.mark.parametrize("listening", [0.3], indirect=True)
def test_silence_is_trusted_no_longer_than_the_poll(listening: tuple[Ledger, ReadModel],
                                                    postgres_database: Database) -> None:
    _, read = listening
    position = append_unheard(postgres_database, "WJW")
    eventually(lambda: read.current() >= position, within=3)


def test_a_lost_listen_connection_is_not_trusted_and_comes_back(
        listening: tuple[Ledger, ReadModel], postgres_database: Database) -> None:
    _, read = listening
    assert read.listener is not None
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE query = %s", (f"LISTEN {CHANNEL}",))
    eventually(lambda: not read.listener.listening)  # type: ignore[union-attr]
    other = Ledger(postgres_database)
    position = do(other, "register_unit", code="CZJ", name="相山区城管局").position
    other.close()
    assert read.current() >= position  # not listening: "now" goes to the store
    eventually(lambda: read.listener.listening)  # type: ignore[union-attr]


def test_a_catch_up_under_way_does_not_vouch_for_a_later_write(
        listening: tuple[Ledger, ReadModel]) -> None:
    ledger, read = listening
    answers: list[int] = []
    with read.runner.lock:  # a catch-up is under way (it will have begun before the write)
        behind = threading.Thread(target=read.catch_up)
        behind.start()
        time.sleep(0.1)
        position = do(ledger, "register_unit", code="SJJ", name="相山区审计局").position
        asking = threading.Thread(target=lambda: answers.append(read.current()))
        asking.start()
        time.sleep(0.1)
    asking.join(5)
    behind.join(5)
    assert answers and answers[0] >= position
