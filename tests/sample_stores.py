"""The sample, recorded once per test session and store, copied for every test that needs it.

Recording the sample through the application takes about 1.5 s on SQLite and 4 s on
PostgreSQL; a copy of a store that has it takes milliseconds: a file copy on SQLite,
`CREATE DATABASE … TEMPLATE` on PostgreSQL (PostgreSQL copies whole databases only, so each
copy is a database of its own, with the template's schema in it). A copy is the store as a
restarted service finds it after the sample was loaded, and each test still gets a store no
other test writes to. PostgreSQL 15 checkpoints on every DROP DATABASE (up to 2 s under load),
so copies are dropped by a thread of their own while the next tests run.

A test that needs the sample loaded while a signing key is configured (so its events carry
MACs) asks for a copy by the key's origin: that template was loaded under the session's key
for it, which `copy_key` puts where the test keeps its key.

Tests get copies through tests/conftest.py: `@pytest.mark.sample(publish=…, origin=…)` on a
test (its `database` is a copy) or the `published_sample` / `unpublished_sample` fixtures.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from ledger.application import Ledger
from ledger.integrity.checkpoint import NoteSigner, init_key_file, load_signer
from ledger.integrity.keys import KEY_SETTING
from ledger.integrity.service import ORIGIN_SETTING
from ledger.migrate import migrate
from ledger.sample.loader import load_sample
from ledger.store import Database

Variant = tuple[str, bool, str | None]  # backend, published, origin of the signing key


def postgres_url(base: str, dbname: str, schema: str) -> str:
    """`base` (a PostgreSQL URL) pointed at another database and schema."""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{dbname}", query=f"schema={schema}"))


class SampleStores:
    """Templates made on first use; `copy` hands out a store of a test's own."""

    def __init__(self, root: Path, postgres: str) -> None:
        self.root = root
        self.postgres = postgres  # a URL of a database to run CREATE/DROP DATABASE from
        self.session = uuid.uuid4().hex[:10]
        self.templates: dict[Variant, Database] = {}
        self.made: list[str] = []  # PostgreSQL templates, dropped at the end
        self.dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-copies")
        self.drops: list[Future[None]] = []

    def key_of(self, origin: str) -> Path:
        """The session's signing key for `origin` (made once)."""
        path = self.root / "keys" / f"{origin.replace('/', '_')}.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            init_key_file(path, origin)
        return path

    def template(self, variant: Variant) -> Database:
        found = self.templates.get(variant)
        if found is not None:
            return found
        backend, publish, origin = variant
        name = f"jxsample_{self.session}_{len(self.templates)}"
        if backend == "sqlite":
            db = Database.from_url(f"sqlite:///{self.root / name}.db")
        else:
            self.admin(f'CREATE DATABASE "{name}"')
            self.made.append(name)
            db = Database.from_url(postgres_url(self.postgres, name, "sample"))
        migrate(db)
        with configured_key(None if origin is None else self.key_of(origin), origin):
            ledger = Ledger(db)
            try:
                load_sample(ledger, publish=publish)
            finally:
                ledger.close()
        if backend == "sqlite":  # one self-contained file: the WAL folded in and removed
            conn = sqlite3.connect(db.sqlite_path)
            try:
                conn.execute("PRAGMA journal_mode=DELETE")
            finally:
                conn.close()
        self.templates[variant] = db
        return db

    def signer(self, origin: str) -> NoteSigner:
        """The session's key for `origin`, for a ledger to authenticate its appends with."""
        return load_signer(self.key_of(origin))

    def copy_key(self, origin: str, to: Path) -> None:
        """The session's key for `origin`, as a test's own key file."""
        to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.key_of(origin), to)
        to.chmod(0o600)

    @contextmanager
    def copy(self, backend: str, into: Path, *, publish: bool,
             origin: str | None = None) -> Iterator[Database]:
        """A store with the sample (`publish`: disclosed too), the test's own; dropped after.

        `origin`: loaded while the session's key for it was configured."""
        template = self.template((backend, publish, origin))
        if backend == "sqlite":
            path = into / "sample.db"
            assert not path.exists(), f"{path}: one copy per test"
            shutil.copyfile(template.sqlite_path, path)
            path.chmod(0o600)
            yield Database.from_url(f"sqlite:///{path}")
            return
        name = f"jxcopy_{uuid.uuid4().hex[:12]}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template.dbname}"')
        try:
            yield Database.from_url(postgres_url(self.postgres, name, template.schema))
        finally:
            self.drops.append(self.dropper.submit(
                self.admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def admin(self, statement: str) -> None:
        with psycopg.connect(self.postgres, autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]  # names made here, quoted

    def close(self) -> None:
        self.dropper.shutdown(wait=True)
        for drop in self.drops:
            drop.result()  # a copy left behind is an error, not a silent leak
        for name in self.made:
            self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()
        self.templates.clear()


@contextmanager
def configured_key(path: Path | None, origin: str | None) -> Iterator[None]:
    """JIXIAO_KEY_FILE and JIXIAO_ORIGIN set as given (or unset) for what runs inside."""
    settings = {KEY_SETTING: path, ORIGIN_SETTING: origin}
    before = {name: os.environ.pop(name, None) for name in settings}
    for name, value in settings.items():
        if value is not None:
            os.environ[name] = str(value)
    try:
        yield
    finally:
        for name, value in before.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
