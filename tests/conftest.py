"""Fixtures: a real SQLite file and a real PostgreSQL schema for every storage test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.migrate import migrate
from ledger.store import Database
from tests.sample_stores import SampleStores

PG_URL = os.environ.get("JIXIAO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sample(publish=False, origin=None): the test's "
                            "`database` starts with the sample loaded (and disclosed, with "
                            "publish=True; its events authenticated by the session's key for "
                            "origin, see SampleStores.signer)")


@pytest.fixture(autouse=True, scope="session")
def user_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The per-user data directory (default home of signing keys) is the session's own, so
    no test writes a key under the real home and the processes tests start inherit it."""
    before = os.environ.get("XDG_DATA_HOME")
    path = str(tmp_path_factory.mktemp("xdg-data"))
    os.environ["XDG_DATA_HOME"] = path
    yield path
    if before is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = before


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


_PG_OK: bool | None = None


def require_postgres() -> None:
    global _PG_OK
    if _PG_OK is None:
        _PG_OK = postgres_available()
    if not _PG_OK:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be reachable under CI=true ({PG_URL})")
        pytest.skip("PostgreSQL not reachable; set JIXIAO_TEST_POSTGRES_URL")


def fresh_postgres() -> Database:
    """A new schema per test, so tests never see each other's events."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    return Database.from_url(f"{PG_URL}?schema={schema}")


def drop_schema(db: Database) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE')


@contextmanager
def migrated_postgres() -> Iterator[Database]:
    """A fresh, migrated PostgreSQL schema, dropped afterwards."""
    db = fresh_postgres()
    migrate(db)
    try:
        yield db
    finally:
        drop_schema(db)


@pytest.fixture
def postgres_database() -> Iterator[Database]:
    with migrated_postgres() as db:
        yield db


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The store a test runs on; `@pytest.mark.parametrize("backend", ["sqlite"])` picks one."""
    name: str = request.param
    if name == "postgres":
        require_postgres()
    return name


@pytest.fixture
def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated store of the test's own: empty, or under `@pytest.mark.sample(publish=…,
    origin=…)` holding the sample (a copy, tests/sample_stores.py)."""
    sample = request.node.get_closest_marker("sample")
    if sample is not None:
        stores: SampleStores = request.getfixturevalue("sample_stores")
        with stores.copy(backend, tmp_path, publish=sample.kwargs.get("publish", False),
                         origin=sample.kwargs.get("origin")) as db:
            yield db
    elif backend == "sqlite":
        db = Database.from_url(f"sqlite:///{tmp_path}/ledger.db")
        migrate(db)
        yield db
    else:
        with migrated_postgres() as db:
            yield db


@pytest.fixture
def ledger(database: Database) -> Iterator[Ledger]:
    app = Ledger(database)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="session")
def sample_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleStores]:
    stores = SampleStores(tmp_path_factory.mktemp("samples"), PG_URL)
    try:
        yield stores
    finally:
        stores.close()


def only_store(request: pytest.FixtureRequest) -> None:
    """A copy of the sample is the test's store: a `database` beside it would be another,
    empty one, and whatever the test put there the app would never see."""
    assert "database" not in request.fixturenames, (
        f"{request.node.nodeid}: use the sample copy's store (its fixture's db), or "
        "@pytest.mark.sample on `database`, not both")


@pytest.fixture
def published_sample(backend: str, tmp_path: Path, sample_stores: SampleStores,
                     request: pytest.FixtureRequest) -> Iterator[Database]:
    """A store of the test's own with the sample loaded and disclosed (a template's copy)."""
    only_store(request)
    with sample_stores.copy(backend, tmp_path, publish=True) as db:
        yield db


@pytest.fixture
def unpublished_sample(backend: str, tmp_path: Path, sample_stores: SampleStores,
                       request: pytest.FixtureRequest) -> Iterator[Database]:
    """Likewise, the sample loaded without its disclosure."""
    only_store(request)
    with sample_stores.copy(backend, tmp_path, publish=False) as db:
        yield db
