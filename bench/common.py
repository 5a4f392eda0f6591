"""Shared set-up for the benchmarks: fresh stores, timing, and a result table."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def worker_pids(pid: int) -> list[int]:
    """The worker processes of a `jixiao serve` (itself, when it has no children)."""
    found = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(p) for p in found.read_text().split()] if found.exists() else []
    return children or [pid]


@contextmanager
def served(url: str, workers: int | None = None, *extra: str) -> Iterator[tuple[str, int]]:
    """`jixiao serve` over `url` on a free loopback port, rate limit and watch off, until every
    worker answers; yields (the /graphql URL, the serve process's pid). Always stopped."""
    import httpx2 as httpx

    port = free_port()
    env = {**os.environ, "JIXIAO_DATABASE_URL": url, "JIXIAO_RATE_LIMIT": "off"}
    more = ["--workers", str(workers)] if workers is not None else []
    proc = subprocess.Popen([sys.executable, "-m", "jixiao.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--checkpoint-every", "0",
                             "--check-views-every", "0", *more, *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("jixiao serve did not start")
            try:
                up = httpx.get(base, params={"query": "{ __typename }"}, timeout=5)
                if up.status_code == 200 and (workers is None or workers == 1
                                              or len(worker_pids(proc.pid)) >= workers):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        for _ in range(50):  # every worker has answered (and caught up) before measuring
            httpx.get(base, params={"query": "{ ledger { position } }"}, timeout=60)
        yield base, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
