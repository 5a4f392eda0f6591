"""Where the ledger lives: one URL selects SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlparse

DEFAULT_URL = "sqlite:///./jixiao.db"
URL_SETTING = "JIXIAO_DATABASE_URL"
APPLICATION_NAME = "Ledger"  # eventsourcing names the PostgreSQL table ledger_events


class DatabaseURLError(ValueError):
    pass


@dataclass(frozen=True)
class Database:
    """Connection facts for one ledger's storage."""

    url: str
    backend: Literal["sqlite", "postgres", "memory"]
    sqlite_path: str = ""
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = field(default="", repr=False)
    dbname: str = ""
    schema: str = "public"

    @classmethod
    def from_url(cls, url: str | None = None) -> Database:
        url = url or os.environ.get(URL_SETTING) or DEFAULT_URL
        parsed = urlparse(url)
        if parsed.scheme == "sqlite":
            # sqlite:///relative.db, sqlite:////abs/path.db
            path = unquote(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
            if not path:
                raise DatabaseURLError(f"{URL_SETTING}: sqlite URL needs a file path: {url}")
            return cls(url=url, backend="sqlite", sqlite_path=str(Path(path).resolve()))
        if parsed.scheme in ("postgresql", "postgres"):
            query = parse_qs(parsed.query)
            if not parsed.path.strip("/"):
                raise DatabaseURLError(f"{URL_SETTING}: postgresql URL needs a database: {url}")
            return cls(
                url=url, backend="postgres", host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 5432, user=unquote(parsed.username or "postgres"),
                password=unquote(parsed.password or ""), dbname=parsed.path.strip("/"),
                schema=query.get("schema", ["public"])[0],
            )
        raise DatabaseURLError(
            f"{URL_SETTING} must start with sqlite:/// or postgresql:// (got {parsed.scheme!r})")

    @classmethod
    def memory(cls) -> Database:
        """eventsourcing's in-memory recorder: commands only, no SQL, no read side (tests)."""
        return cls(url="memory:", backend="memory")

    def sql(self, statement: str) -> str:
        """Write SQL once with '?' placeholders; PostgreSQL gets '%s'."""
        return statement if self.backend == "sqlite" else statement.replace("?", "%s")

    @property
    def events_table(self) -> str:
        if self.backend == "sqlite":
            return "stored_events"
        return f"{self.schema}.{APPLICATION_NAME.lower()}_events"

    @property
    def position_column(self) -> str:
        return "rowid" if self.backend == "sqlite" else "notification_id"

    def eventsourcing_env(self, *, create_table: bool = False) -> dict[str, str]:
        env = {"CREATE_TABLE": "y" if create_table else "n"}
        recorders = "ledger.integrity.recorders:Authenticating"  # they MAC what is appended
        if self.backend == "memory":
            env.update(PERSISTENCE_MODULE="eventsourcing.popo")
        elif self.backend == "sqlite":
            env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=self.sqlite_path,
                       SQLITE_LOCK_TIMEOUT="30",
                       APPLICATION_RECORDER_TOPIC=recorders + "SQLiteRecorder")
        else:
            env.update(
                APPLICATION_RECORDER_TOPIC=recorders + "PostgresRecorder",
                PERSISTENCE_MODULE="eventsourcing.postgres", POSTGRES_DBNAME=self.dbname,
                POSTGRES_HOST=self.host, POSTGRES_PORT=str(self.port), POSTGRES_USER=self.user,
                POSTGRES_PASSWORD=self.password, POSTGRES_SCHEMA=self.schema,
                POSTGRES_CONNECT_TIMEOUT="5", POSTGRES_POOL_SIZE="4", POSTGRES_MAX_OVERFLOW="8",
                POSTGRES_PRE_PING="y", POSTGRES_LOCK_TIMEOUT="10",
            )
        return env

    def create_sqlite_file(self) -> None:
        """Create the SQLite file owner-only (0600) before SQLite would create it 0644.

        SQLite gives the -wal and -shm files it makes the database file's mode, so they are
        private too. An existing file keeps the mode it has: that is the operator's choice.
        """
        path = Path(self.sqlite_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        os.close(fd)

    def connect(self) -> Any:
        """A plain DB-API connection (autocommit off) for read models and integrity tables."""
        if self.backend == "memory":
            raise DatabaseURLError("an in-memory ledger has no SQL connection")
        if self.backend == "sqlite":
            self.create_sqlite_file()
            conn = sqlite3.connect(self.sqlite_path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            return conn
        import psycopg

        pg = psycopg.connect(host=self.host, port=self.port, user=self.user,
                             password=self.password or None, dbname=self.dbname,
                             connect_timeout=5, autocommit=True)
        if self.schema != "public":
            pg.execute(f'SET search_path TO "{self.schema}", public')
        return pg


@contextmanager
def transaction(db: Database, conn: Any) -> Iterator[Any]:
    """One explicit transaction on a connection from Database.connect()."""
    if db.backend == "sqlite":
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    else:
        with conn.transaction():
            yield conn


def fetchall(db: Database, conn: Any, statement: str, params: Sequence[Any] = (), *,
             binary: bool = False) -> list[Any]:
    """`binary`: on PostgreSQL, results in binary form; bytea then comes as it is stored,
    not hex-encoded (half the work on both sides when reading the log)."""
    if binary and db.backend == "postgres":
        cur = conn.cursor(binary=True).execute(db.sql(statement), tuple(params))
    else:
        cur = conn.execute(db.sql(statement), tuple(params))
    rows: list[Any] = cur.fetchall()
    return rows


def fetchone(db: Database, conn: Any, statement: str, params: Sequence[Any] = ()) -> Any:
    cur = conn.execute(db.sql(statement), tuple(params))
    return cur.fetchone()


def bulk_insert(db: Database, conn: Any, table: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Many rows at once: COPY on PostgreSQL (an order of magnitude faster), executemany on
    SQLite."""
    if not rows:
        return
    if db.backend == "postgres":
        types = _column_types(db, conn, table, tuple(columns))
        with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN "
                                "(FORMAT BINARY)") as copy:
            copy.set_types(types)  # binary: no text to format here nor to parse there
            for row in rows:
                copy.write_row(row)
        return
    marks = ",".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


_types: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}


def _column_types(db: Database, conn: Any, table: str, columns: tuple[str, ...]) -> list[str]:
    key = (db.schema, table, columns)
    if key not in _types:
        found = dict(conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
            "attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (f'"{db.schema}"."{table}"',)).fetchall())
        _types[key] = [found[c] for c in columns]
    return _types[key]


def storage_unavailable(error: BaseException) -> bool:
    """The store could not be reached or gave up for now (a retry may succeed), as opposed to
    refusing what was asked of it (which a retry would meet again)."""
    import sqlite3

    from eventsourcing.persistence import InterfaceError, OperationalError

    kinds: tuple[type[BaseException], ...] = (sqlite3.OperationalError, sqlite3.InterfaceError,
                                              OperationalError, InterfaceError)
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return isinstance(error, kinds)
    return isinstance(error, (*kinds, psycopg.OperationalError, psycopg.InterfaceError))
