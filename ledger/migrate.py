"""One explicit, idempotent step that creates every table, so processes never race to do it."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from ledger.store import Database, fetchall, transaction

LOCK_KEY = 0x4A49_5841  # "JIXA": one PostgreSQL advisory lock for schema changes


def migration_files(backend: str) -> list[tuple[str, str]]:
    """(version, sql) in order; NAME.sql is shared, NAME.<backend>.sql is backend-specific."""
    found: dict[str, str] = {}
    for entry in sorted(resources.files("migrations").iterdir(), key=lambda e: e.name):
        m = re.fullmatch(r"(\d{3}_[a-z0-9_]+)(?:\.(sqlite|postgres))?\.sql", entry.name)
        if m and m.group(2) in (None, backend):
            found[m.group(1)] = entry.read_text(encoding="utf-8")
    return sorted(found.items())


def split_statements(sql: str) -> list[str]:
    """Split on ';' at line ends, keeping $$-quoted function bodies whole."""
    parts, buf, in_dollar = [], [], False
    for line in sql.splitlines():
        if line.strip().startswith("--") and not in_dollar:
            continue
        buf.append(line)
        in_dollar ^= line.count("$$") % 2 == 1
        if not in_dollar and line.rstrip().endswith(";"):
            parts.append("\n".join(buf).strip())
            buf = []
    if "\n".join(buf).strip():
        parts.append("\n".join(buf).strip())
    return parts


def migrate(db: Database) -> list[str]:
    """Create the event store's tables and apply pending read-model migrations."""
    from ledger.application import Ledger

    conn = db.connect()
    try:
        if db.backend == "postgres":
            conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            if db.schema != "public":
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"')
        try:
            Ledger(db, create_table=True).close()
            return _apply(db, conn)
        finally:
            if db.backend == "postgres":
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    finally:
        conn.close()


def _apply(db: Database, conn: Any) -> list[str]:
    conn.execute("CREATE TABLE IF NOT EXISTS jixiao_migrations (version TEXT PRIMARY KEY, "
                 "applied_at TEXT NOT NULL)")
    done = {row[0] for row in fetchall(db, conn, "SELECT version FROM jixiao_migrations")}
    applied = []
    for version, sql in migration_files(db.backend):
        if version in done:
            continue
        with transaction(db, conn):
            for statement in split_statements(sql.replace("{events_table}", db.events_table)):
                conn.execute(statement)
            conn.execute(db.sql("INSERT INTO jixiao_migrations VALUES (?, CURRENT_TIMESTAMP)"),
                         (version,))
        applied.append(version)
    return applied
