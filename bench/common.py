"""Shared set-up for the benchmarks: fresh stores, timing, and a result table."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from ledger.migrate import migrate
from ledger.store import Database

PG_URL = os.environ.get("JIXIAO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh(backend: str) -> Iterator[Database]:
    """An empty, migrated store: a temp SQLite file or a throwaway PostgreSQL schema."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database.from_url(f"sqlite:///{tmp}/bench.db")
            migrate(db)
            yield db
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    db = Database.from_url(f"{PG_URL}?schema={schema}")
    migrate(db)
    try:
        yield db
    finally:
        conn = db.connect()
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def rate(count: int, action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return count / (time.perf_counter() - start)


def table(rows: Sequence[tuple[str, ...]], headers: tuple[str, ...]) -> str:
    """A Markdown table, ready to paste into BENCHMARKS.md."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(r: tuple[str, ...]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, rows)])
