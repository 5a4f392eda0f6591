"""API tokens: a 256-bit random secret shown once, stored only as its SHA-256.

A token carries the Actor (role, and the unit or agency it is scoped to); the API takes
the actor from the token and never from a request body. Lookups go by the hash (an index
probe) and the hash is then compared in constant time, so timing reveals nothing useful.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger import permissions
from ledger.errors import InvalidInput, NotFound, Unavailable
from ledger.runtime import Actor
from ledger.store import Database, fetchall, fetchone
from ledger.text import NAME_RULE, text_problem

PREFIX = "jx_"
API_ROLES = tuple(r for r in permissions.ROLES if r not in (permissions.SYSTEM,
                                                             permissions.PUBLIC))


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    role: str
    unit_code: str | None
    agency_code: str | None
    created_at: str
    revoked_at: str | None

    @property
    def actor(self) -> Actor:
        return Actor(id=f"token:{self.id}:{self.name}", role=self.role,
                     unit_code=self.unit_code, agency_code=self.agency_code)


def token_id_of(actor_id: str | None) -> str | None:
    """The token id in an actor id that TokenInfo.actor made (`token:<id>:<name>`), else None."""
    if actor_id is None or not actor_id.startswith("token:"):
        return None
    return actor_id.split(":", 2)[1] or None


def public_actor(role: str | None, unit: str | None, agency: str | None) -> str | None:
    """Who acted, as anyone may be told: the role and the unit or agency it acted for
    (`budget_unit@XS-U03`), never the person holding the token."""
    scope = unit or agency
    return role if scope is None or role is None else f"{role}@{scope}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


COLUMNS = "id, name, role, unit_code, agency_code, created_at, revoked_at"


def _info(row: Any) -> TokenInfo:
    return TokenInfo(*row)


def check_scope(role: str, unit: str | None, agency: str | None) -> None:
    """A role's scope must be given exactly when the role needs one."""
    if role not in API_ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(API_ROLES)}",
                           field="role", rule="known role")
    if (role == permissions.BUDGET_UNIT) != (unit is not None):
        raise InvalidInput("--unit is required for budget_unit and only for it", field="unit",
                           rule="budget_unit tokens are scoped to a unit")
    if (role == permissions.AGENCY) != (agency is not None):
        raise InvalidInput("--agency is required for agency and only for it", field="agency",
                           rule="agency tokens are scoped to an agency")


class TokenStore:
    """Tokens in the ledger's database, with in-process caches for lookups.

    The cache keeps the hot path off the database; `ttl` bounds how long a revoked token
    can still be honoured by a running server. A secret found unknown or revoked is
    remembered apart, without expiry (it can never become live: secrets are random and
    revocation is final), in an LRU of `unknown_size`, so presenting it again costs no
    store trip and a flood of made-up secrets cannot push live tokens out.
    """

    def __init__(self, db: Database, *, ttl: float = 2.0, cache_size: int = 10_000,
                 unknown_size: int = 20_000) -> None:
        self.db = db
        self.ttl = ttl
        self.cache_size = cache_size
        self.unknown_size = unknown_size
        self._cache: dict[str, tuple[float, TokenInfo]] = {}
        self._unknown: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._conn: Any = None

    def _query(self, sql: str, params: tuple[Any, ...] = (), *, one: bool = False) -> Any:
        """Run on one shared connection, reconnecting once if it was dropped."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None:
                        self._conn = self.db.connect()
                    if one:
                        return fetchone(self.db, self._conn, sql, params)
                    return fetchall(self.db, self._conn, sql, params)
                except Exception as exc:
                    if not _is_storage_error(exc):
                        raise
                    self._drop()
                    if attempt == 2:
                        raise Unavailable("STORAGE_UNAVAILABLE", "token store unavailable: "
                                          f"{exc}", rule="retry later") from None
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
        except Exception:
            pass
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()

    def create(self, role: str, name: str, *, unit: str | None = None,
               agency: str | None = None) -> tuple[TokenInfo, str]:
        """A new token; the secret is returned here and nowhere else, ever."""
        check_scope(role, unit, agency)
        if not name.strip():
            raise InvalidInput("name must not be empty", field="name", rule="non-empty")
        for field, value in (("name", name), ("unit", unit), ("agency", agency)):
            # The name goes into every event's actor id: the same rule as any name recorded.
            problem = None if value is None else text_problem(value, name=True)
            if problem is not None:
                raise InvalidInput(f"{field}: {problem}", field=field, rule=NAME_RULE)
        secret = PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        conn = self.db.connect()
        try:
            conn.execute(self.db.sql("INSERT INTO api_tokens (id, secret_hash, name, role, "
                                     "unit_code, agency_code, created_at) VALUES "
                                     "(?, ?, ?, ?, ?, ?, ?)"),
                         (token_id, digest(secret), name, role, unit, agency, now))
        finally:
            conn.close()
        return TokenInfo(token_id, name, role, unit, agency, now, None), secret

    def list(self) -> list[TokenInfo]:
        return [_info(r) for r in self._query(f"SELECT {COLUMNS} FROM api_tokens "
                                              "ORDER BY created_at, id")]

    def revoke(self, token_id: str) -> TokenInfo:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        conn = self.db.connect()
        try:
            conn.execute(self.db.sql("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND "
                                     "revoked_at IS NULL"), (now, token_id))
            row = fetchone(self.db, conn, f"SELECT {COLUMNS} FROM api_tokens WHERE id = ?",
                           (token_id,))
        finally:
            conn.close()
        if row is None:
            raise NotFound("token", token_id, field="id")
        with self._lock:
            self._cache.clear()
        return _info(row)

    def recall(self, secret: str) -> TokenInfo | None:
        """The live token for a secret if it is remembered as live, with no store trip."""
        with self._lock:
            cached = self._cache.get(digest(secret))
        return cached[1] if cached is not None and cached[0] > time.monotonic() else None

    def refused(self, secret: str) -> bool:
        """Whether a secret is remembered as unknown or revoked, with no store trip."""
        wanted = digest(secret)
        with self._lock:
            if wanted in self._unknown:
                self._unknown.move_to_end(wanted)
                return True
        return False

    def lookup(self, secret: str) -> TokenInfo | None:
        """The live token for a presented secret, or None (unknown or revoked)."""
        found = self.recall(secret)
        if found is not None or self.refused(secret):
            return found
        wanted = digest(secret)
        row = self._query(f"SELECT {COLUMNS}, secret_hash FROM api_tokens WHERE "
                          "secret_hash = ?", (wanted,), one=True)
        if row is not None and hmac.compare_digest(str(row[-1]), wanted) and row[6] is None:
            found = _info(row[:-1])
        with self._lock:
            if found is None:
                self._unknown[wanted] = None
                if len(self._unknown) > self.unknown_size:
                    self._unknown.popitem(last=False)
            else:
                if len(self._cache) >= self.cache_size:
                    self._cache.clear()
                self._cache[wanted] = (time.monotonic() + self.ttl, found)
        return found


def _is_storage_error(exc: Exception) -> bool:
    import sqlite3

    if isinstance(exc, sqlite3.OperationalError | sqlite3.InterfaceError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
