"""Many ledgers in one deployment: one per administrative region, routed by a table.

Each region (e.g. 340603 相山区) is the authority for its own ledger: its own event log,
projections, Merkle log and signing key, in its own PostgreSQL schema (`region_340603`), on
whichever server the routing table names. The routing table `jixiao_regions` lives in the
home database (JIXIAO_DATABASE_URL); scaling out is PostgreSQL's own machinery (schemas,
servers, streaming replicas), not a home-made cluster.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

from ledger.application import Ledger
from ledger.errors import InvalidInput, NotFound, RuleViolation
from ledger.migrate import LOCK_KEY, migrate
from ledger.store import Database, fetchall, fetchone
from projections.views import ReadModel

TABLE = "jixiao_regions"
CODE = re.compile(r"[0-9]{6}(?:[0-9]{3}){0,2}")  # 行政区划代码: 6 digits, 9/12 below county
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class RegionDatabase(Database):
    """A region's storage with a small command pool: one process may open hundreds of regions,
    and the default pool (4 kept open per ledger) would exhaust max_connections."""

    pool_size: int = 1
    max_overflow: int = 4

    @classmethod
    def of(cls, db: Database, pool_size: int, max_overflow: int) -> RegionDatabase:
        base = {f.name: getattr(db, f.name) for f in fields(Database)}
        return cls(**base, pool_size=pool_size, max_overflow=max_overflow)

    def eventsourcing_env(self, *, create_table: bool = False) -> dict[str, str]:
        env = super().eventsourcing_env(create_table=create_table)
        if self.backend == "postgres":
            env.update(POSTGRES_POOL_SIZE=str(self.pool_size),
                       POSTGRES_MAX_OVERFLOW=str(self.max_overflow))
        return env


@dataclass(frozen=True)
class Region:
    """One row of the routing table."""

    code: str
    name: str
    url: str = field(repr=False)  # may carry a password
    added_at: str = ""

    def database(self) -> Database:
        return Database.from_url(self.url)

    @property
    def server(self) -> str:
        """Where it lives, never showing a password: host:port/db, or the SQLite file."""
        return server_of(self.database())

    @property
    def location(self) -> str:
        return location_of(self.database())


class OpenRegion(NamedTuple):
    """What the API layer needs for one region: (Database, Ledger, ReadModel)."""

    db: Database
    ledger: Ledger
    read: ReadModel


def server_of(db: Database) -> str:
    if db.backend == "sqlite":
        return db.sqlite_path
    return f"{db.host}:{db.port}/{db.dbname}"


def location_of(db: Database) -> str:
    """Server and schema: two regions may never share one (their logs would mix)."""
    if db.backend == "sqlite":
        return f"sqlite:{db.sqlite_path}"
    return f"postgresql://{db.host.lower()}:{db.port}/{db.dbname}#{db.schema}"


def check_code(code: str) -> str:
    if not CODE.fullmatch(code):
        raise InvalidInput(f"region code {code!r} is not an administrative division code "
                           "(6 digits, e.g. 340603)", field="code", rule="行政区划代码")
    return code


def default_url(home: Database, code: str) -> str:
    """The home server, in a schema of the region's own (or a file next to the home file)."""
    if home.backend == "sqlite":
        return f"sqlite:///{Path(home.sqlite_path).parent / f'region_{code}.db'}"
    return with_schema(home.url, f"region_{code}")


def with_schema(url: str, schema: str) -> str:
    parsed = urlparse(url)
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    query["schema"] = schema
    return urlunparse(parsed._replace(query=urlencode(query)))


def region_url(home: Database, code: str, url: str | None) -> str:
    """The URL a region is recorded under: PostgreSQL without a schema gets region_<code>."""
    if url is None:
        return default_url(home, code)
    db = Database.from_url(url)
    if db.backend == "postgres":
        if "schema" not in parse_qs(urlparse(url).query):
            url = with_schema(url, f"region_{code}")
        schema = Database.from_url(url).schema
        if not IDENTIFIER.fullmatch(schema):
            raise InvalidInput(f"schema {schema!r}: use lower-case letters, digits and _",
                               field="database", rule="PostgreSQL identifier")
    return url


class RegionRegistry:
    """The routing table and the regions' ledgers, opened lazily and shared between threads.
    The read side and the API see it as a projections.rollup.RegionSource."""

    def __init__(self, home: Database | None = None, *, pool_size: int = 1,
                 max_overflow: int = 4) -> None:
        self.home = home or Database.from_url()
        if self.home.backend == "postgres" and not IDENTIFIER.fullmatch(self.home.schema):
            raise InvalidInput(f"home schema {self.home.schema!r} is not a plain identifier",
                               field="database", rule="PostgreSQL identifier")
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self._lock = threading.Lock()
        self._opening: dict[str, threading.Lock] = {}
        self._open: dict[str, OpenRegion] = {}
        self._closed = False

    @property
    def table(self) -> str:
        if self.home.backend == "sqlite":
            return TABLE
        return f'"{self.home.schema}".{TABLE}'

    # -- the routing table -----------------------------------------------------------------

    def ensure_table(self) -> None:
        """Create the routing table: one idempotent step, serialised by the migration lock."""
        conn = self.home.connect()
        try:
            if self.home.backend == "postgres":
                conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            try:
                if self.home.schema != "public" and self.home.backend == "postgres":
                    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.home.schema}"')
                conn.execute(f"CREATE TABLE IF NOT EXISTS {self.table} ("
                             "code TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL, "
                             "location TEXT NOT NULL UNIQUE, added_at TEXT NOT NULL)")
            finally:
                if self.home.backend == "postgres":
                    conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        finally:
            conn.close()

    def _exists(self, conn: Any) -> bool:
        if self.home.backend == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
            return fetchone(self.home, conn, sql, (TABLE,)) is not None
        found = fetchone(self.home, conn, "SELECT to_regclass(?)", (self.table,))
        return found is not None and found[0] is not None

    def _select(self, where: str = "", params: tuple[Any, ...] = ()) -> list[Region]:
        conn = self.home.connect()
        try:
            if not self._exists(conn):
                return []
            rows = fetchall(self.home, conn, f"SELECT code, name, url, added_at FROM "
                            f"{self.table} {where} ORDER BY code", params)
        finally:
            conn.close()
        return [Region(code=str(r[0]), name=str(r[1]), url=str(r[2]), added_at=str(r[3]))
                for r in rows]

    def regions(self) -> list[Region]:
        return self._select()

    def region(self, code: str) -> Region:
        found = self._select("WHERE code = ?", (code,))
        if not found:
            raise NotFound("region", code, field="region")
        return found[0]

    def add(self, code: str, name: str, url: str | None = None) -> Region:
        """Migrate the region's schema, then route to it. Repeating the same add is a no-op
        (and re-applies pending migrations); a different name or place for a code is refused."""
        check_code(code)
        if not name.strip():
            raise InvalidInput("a region needs a name", field="name", rule="required")
        url = region_url(self.home, code, url)
        db = Database.from_url(url)
        self.ensure_table()
        for other in self.regions():
            if other.location == location_of(db) and other.code != code:
                raise RuleViolation("REGION_LOCATION_TAKEN", f"{location_of(db)} already holds "
                                    f"region {other.code} ({other.name})", field="database",
                                    rule="one ledger per schema")
        migrate(db)  # before routing to it: a routed region always has its tables
        added = datetime.now(UTC).isoformat(timespec="seconds")
        conn = self.home.connect()
        try:
            conn.execute(self.home.sql(f"INSERT INTO {self.table} (code, name, url, location, "
                                       "added_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                         (code, name, url, location_of(db), added))
        finally:
            conn.close()
        stored = self._select("WHERE code = ?", (code,))
        if not stored:
            raise RuleViolation("REGION_LOCATION_TAKEN", f"{location_of(db)} already holds "
                                "another region", field="database", rule="one ledger per schema")
        region = stored[0]
        if (region.name, region.location) != (name, location_of(db)):
            raise RuleViolation("REGION_EXISTS", f"region {code} is already {region.name} at "
                                f"{region.server} (schema {region.database().schema})",
                                field="code", rule="a region code names one ledger")
        return region

    def migrate_all(self) -> dict[str, list[str]]:
        """Apply pending migrations to every region (after an upgrade)."""
        return {r.code: migrate(r.database()) for r in self.regions()}

    def heads(self, regions: Iterable[Region] | None = None) -> dict[str, int | str]:
        """Each region's event log position, one connection per server; an error as text."""
        chosen = list(self.regions() if regions is None else regions)
        by_server: dict[str, list[Region]] = {}
        for r in chosen:
            db = r.database()
            by_server.setdefault(f"{db.user}@{server_of(db)}", []).append(r)
        out: dict[str, int | str] = {}
        for group in by_server.values():
            first = group[0].database()
            try:
                conn = first.connect()
            except Exception as exc:
                out.update({r.code: f"unreachable: {exc}".splitlines()[0] for r in group})
                continue
            try:
                for r in group:
                    db = r.database()
                    try:
                        row = fetchone(db, conn, f"SELECT MAX({db.position_column}) FROM "
                                       f"{db.events_table}")
                        out[r.code] = int(row[0] or 0)
                    except Exception as exc:
                        if db.backend == "postgres":
                            conn.rollback()
                        out[r.code] = f"error: {exc}".splitlines()[0]
            finally:
                conn.close()
        return out

    # -- open ledgers ------------------------------------------------------------------------

    def get(self, code: str) -> OpenRegion:
        """(Database, Ledger, ReadModel) of a region, built on first use and then shared."""
        found = self._open.get(code)
        if found is not None:
            return found
        with self._lock:
            if self._closed:
                raise RuntimeError("the region registry is closed")
            opening = self._opening.setdefault(code, threading.Lock())
        with opening:  # one region's slow server never holds up the others
            found = self._open.get(code)
            if found is not None:
                return found
            region = self.region(code)
            db = RegionDatabase.of(region.database(), self.pool_size, self.max_overflow)
            db.connect().close()  # fails fast; a Ledger would wait for its pool first
            ledger = Ledger(db)
            try:
                opened = OpenRegion(db, ledger, ReadModel(db, ledger))
            except BaseException:
                ledger.close()
                raise
            with self._lock:
                if self._closed:
                    opened.read.close()
                    opened.ledger.close()
                    raise RuntimeError("the region registry is closed")
                self._open[code] = opened
            return opened

    def evict(self, code: str) -> None:
        """Close a region's connections (its server failed or restarted); the next get()
        opens it afresh. Queries running on it at that moment fail."""
        with self._lock:
            found = self._open.pop(code, None)
        if found is not None:
            try:
                found.read.close()
            finally:
                found.ledger.close()

    def opened(self) -> list[str]:
        with self._lock:
            return sorted(self._open)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            opened, self._open = list(self._open.values()), {}
        for region in opened:
            region.read.close()
            region.ledger.close()
