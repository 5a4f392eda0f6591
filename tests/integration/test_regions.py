"""Regional ledgers for real: two regions on two PostgreSQL servers, routed from a home table.

One region lives on the system server (127.0.0.1:5432), the other on a server these tests
start; the provincial roll-up reads both, each part stating its own position.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jixiao import cli
from jixiao.regions import Region, RegionRegistry, region_url
from ledger.annex import AnnexKind
from ledger.errors import InvalidInput, NotFound, RuleViolation
from ledger.integrity.checkpoint import NoteSigner
from ledger.integrity.service import checkpoint_now
from ledger.sample.loader import load_sample
from ledger.sample.synthetic import generate
from ledger.store import Database
from projections.rollup import RollupQuery
from tests.conftest import PG_URL, require_postgres
from tests.pgcluster import Cluster, Server, started_or_skip


def scratch(tag: str) -> str:
    return f"t_{uuid.uuid4().hex[:10]}_{tag}"


def drop(url: str, *schemas: str) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def system_schemas() -> Iterator[Callable[[str], str]]:
    """Schema names on the system server, dropped afterwards."""
    require_postgres()
    made: list[str] = []

    def make(tag: str) -> str:
        made.append(scratch(tag))
        return made[-1]

    yield make
    drop(PG_URL, *made)


@pytest.fixture
def server() -> Iterator[Server]:
    """A second PostgreSQL server of our own, stopped (and removed) afterwards."""
    cluster = started_or_skip(lambda: Cluster(max_connections=100))
    try:
        yield started_or_skip(lambda: cluster.primary("region-server"))
    finally:
        cluster.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_two_regions_on_two_servers_and_the_provincial_rollup(
        system_schemas: Callable[[str], str], server: Server) -> None:
    home = Database.from_url(f"{PG_URL}?schema={system_schemas('home')}")
    registry = RegionRegistry(home)
    here = registry.add("340603", "相山区", f"{PG_URL}?schema={system_schemas('340603')}")
    there = registry.add("340602", "杜集区", server.url(schema="region_340602"))
    assert {here.server, there.server} == {"127.0.0.1:5432/test",
                                           f"127.0.0.1:{server.port}/postgres"}
    assert [r.code for r in registry.regions()] == ["340602", "340603"]

    # Each region is its own ledger: its own log, positions and views.
    _, ledger_here, _ = registry.get("340603")
    _, ledger_there, _ = registry.get("340602")
    position_here = load_sample(ledger_here)
    position_there = generate(ledger_there, districts=1, subjects=100)
    assert registry.heads() == {"340603": position_here, "340602": position_there}
    assert server.query("SELECT count(*) FROM region_340602.ledger_events")[0][0] \
        == position_there

    # Each region seals and signs its own log, under its own origin and key.
    signed = checkpoint_now(registry.get("340603").db, ledger_here,
                            NoteSigner.generate("jixiao.test/region/340603"),
                            origin="jixiao.test/region/340603")

    rollups = RollupQuery(registry, workers=2)
    try:
        rollup = rollups.run(2022, AnnexKind.KEY_PROJECTS)
        assert rollup.complete and rollup.positions == {"340602": position_there,
                                                        "340603": position_here}
        parts = {p.code: p for p in rollup.parts}
        assert parts["340603"].table.total_funds == Decimal("6441.47")  # the seed's annex 1
        assert len(parts["340602"].table.rows) == 2  # every 50th synthetic subject is key
        assert rollup.total_funds == sum(p.table.total_funds for p in rollup.parts)
        assert rollup.coverage.subjects == 16 + 100
        assert rollup.coverage.units == parts["340603"].coverage.units + 1
        assert parts["340603"].server == "127.0.0.1:5432/test"
        assert parts["340603"].checkpoint == signed
        assert signed.last_position == position_here
        assert parts["340602"].checkpoint is None  # never sealed

        # A region whose server is gone is reported, and the rest still answers.
        server.stop()
        partial = rollups.run(2022, AnnexKind.KEY_PROJECTS, timeout=30)
        assert not partial.complete
        assert [f.code for f in partial.failures] == ["340602"]
        assert partial.positions == {"340603": position_here}
        assert isinstance(registry.heads()["340602"], str)
        assert registry.opened() == ["340603"]  # the failed region was let go
        # The server comes back: the next roll-up reconnects and is complete again.
        server.start()
        assert rollups.run(2022, AnnexKind.KEY_PROJECTS).complete
    finally:
        rollups.close()
        registry.close()


@pytest.mark.postgres
def test_adding_is_idempotent_and_a_place_holds_one_region(
        system_schemas: Callable[[str], str]) -> None:
    home = Database.from_url(f"{PG_URL}?schema={system_schemas('home')}")
    registry = RegionRegistry(home)
    url = f"{PG_URL}?schema={system_schemas('a')}"
    first = registry.add("340603", "相山区", url)
    assert registry.add("340603", "相山区", url) == first
    with pytest.raises(RuleViolation) as exists:
        registry.add("340603", "杜集区", url)
    assert exists.value.code == "REGION_EXISTS"
    with pytest.raises(RuleViolation) as taken:
        registry.add("340602", "杜集区", url)
    assert taken.value.code == "REGION_LOCATION_TAKEN"
    with pytest.raises(InvalidInput):
        registry.add("34060", "相山区", url)
    with pytest.raises(NotFound):
        registry.get("340699")
    registry.close()


def test_a_region_gets_a_schema_of_its_own_by_default() -> None:
    home = Database.from_url("postgresql://u:secret@db.example:5433/jixiao?schema=home")
    url = region_url(home, "340604", None)
    assert Database.from_url(url).schema == "region_340604"
    assert (Database.from_url(url).host, Database.from_url(url).dbname) == ("db.example",
                                                                              "jixiao")
    other = region_url(home, "340604", "postgresql://u@db2.example/jixiao")
    assert Database.from_url(other).schema == "region_340604"
    assert Region("340604", "烈山区", url, "").server == "db.example:5433/jixiao"  # no password
    with pytest.raises(InvalidInput):
        region_url(home, "340604", "postgresql://u@db2.example/jixiao?schema=Bad-Name")


@pytest.mark.postgres
def test_get_opens_a_region_once_for_every_thread(system_schemas: Callable[[str], str]) -> None:
    registry = RegionRegistry(Database.from_url(f"{PG_URL}?schema={system_schemas('home')}"))
    registry.add("340603", "相山区", f"{PG_URL}?schema={system_schemas('a')}")
    got: list[Any] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        got.append(registry.get("340603"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert len(got) == 8 and all(g is got[0] for g in got)
        db, ledger, read = got[0]
        assert db.schema.endswith("_a") and ledger.database is db and read.db is db
        assert registry.opened() == ["340603"]
    finally:
        registry.close()
    with pytest.raises(RuntimeError):
        registry.get("340603")


def test_regions_on_sqlite_files(tmp_path: Path) -> None:
    registry = RegionRegistry(Database.from_url(f"sqlite:///{tmp_path}/home.db"))
    region = registry.add("340603", "相山区")
    assert region.server == str(tmp_path / "region_340603.db")
    _, ledger, _ = registry.get("340603")
    position = load_sample(ledger)
    rollups = RollupQuery(registry, workers=1)
    try:
        rollup = rollups.run(2022, AnnexKind.DEPARTMENT_OVERALL)
        assert rollup.positions == {"340603": position}
        assert rollup.total_funds == Decimal("24589.14")  # the seed's annex 2
    finally:
        rollups.close()
        registry.close()


@pytest.mark.postgres
def test_cli_adds_and_lists_regions(system_schemas: Callable[[str], str],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    home = f"{PG_URL}?schema={system_schemas('home')}"
    schema = system_schemas("cli")
    assert cli.main(["--database", home, "regions", "list"]) == 0
    assert "no regions" in capsys.readouterr().out
    assert cli.main(["--database", home, "regions", "add", "340603", "相山区", "--database",
                     f"{PG_URL}?schema={schema}"]) == 0
    assert f"schema {schema}" in capsys.readouterr().out
    assert cli.main(["--database", home, "regions", "add", "340603", "杜集区", "--database",
                     f"{PG_URL}?schema={schema}"]) == 2
    assert "REGION_EXISTS" in capsys.readouterr().out
    assert cli.main(["--database", home, "regions", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["code", "name", "server", "schema", "position"]
    assert out[1].split() == ["340603", "相山区", "127.0.0.1:5432/test", schema, "0"]
    assert cli.main(["--database", home, "regions", "migrate"]) == 0
    assert "region 340603: nothing new" in capsys.readouterr().out
