"""Load bench (issue 7): 16 concurrent clients mixing mutations and as-of queries against a
real `jixiao serve` on PostgreSQL (loopback only), for a bounded time; then every
acknowledged command id is reconciled against the log (none lost, none twice).

    .venv/bin/python -m bench.bench_load [--seconds 60] [--clients 16] [--backend postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx2 as httpx

from bench.common import fresh, served
from ledger.application import Ledger
from ledger.domain.base import type_name
from ledger.domain.registry import Unit
from ledger.log import read_log
from ledger.sample.loader import load_sample
from ledger.store import Database
from ledger.tokens import TokenStore

MUTATION = """mutation($input: RegisterUnitInput!) { registerUnit(input: $input) {
  __typename ... on CommandSuccess { position } ... on Refusal { code } } }"""
AS_OF = """query($p: Int!) { ledger(position: $p) { position
  evaluationTable(fiscalYear: 2022, table: KEY_PROJECTS) { rows { seq subjectName grade } }
  coverage(fiscalYear: 2022) { subjects } } }"""


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"mutation": [],
                                                                       "query": []})
    acked: set[str] = field(default_factory=set)
    errors: Counter[str] = field(default_factory=Counter)


def client(url: str, headers: dict[str, str], stop: threading.Event, stats: Stats,
           lock: threading.Lock, head: int, seed: int) -> None:
    """Half mutations (a retry keeps its command id), half queries pinned to a past position."""
    rnd = random.Random(seed)
    pending: str | None = None
    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            if rnd.random() < 0.5:
                command_id = pending or f"load-{uuid.uuid4().hex}"
                body = {"query": MUTATION, "variables": {"input": {
                    "commandId": command_id, "code": command_id[-16:], "name": "负载单位"}}}
                kind = "mutation"
            else:
                body = {"query": AS_OF, "variables": {"p": rnd.randint(1, head)}}
                kind, command_id = "query", ""
            start = time.perf_counter()
            try:
                response = http.post(url, json=body, headers=headers)
                ok = response.status_code == 200 and "errors" not in response.json()
                reason = str(response.status_code)
                if ok and kind == "mutation":
                    payload = response.json()["data"]["registerUnit"]
                    ok = "position" in payload
                    reason = payload.get("code", reason)
            except httpx.HTTPError as exc:
                ok, reason = False, type(exc).__name__
            elapsed = time.perf_counter() - start
            with lock:
                stats.latencies[kind].append(elapsed)
                if ok and kind == "mutation":
                    stats.acked.add(command_id)
                elif not ok:
                    stats.errors[f"{kind}:{reason}"] += 1
            pending = command_id if (kind == "mutation" and not ok) else (
                None if kind == "mutation" else pending)


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


@dataclass
class Outcome:
    """What one load run measured (bench_workers compares them)."""

    rate: float
    query_p95_ms: float
    mutation_p95_ms: float
    errors: int
    lost: int
    duplicated: int


def run(db: Database, seconds: float, clients: int, workers: int | None = None) -> int:
    outcome = measure(db, seconds, clients, workers)
    return 1 if outcome.lost or outcome.duplicated else 0


def measure(db: Database, seconds: float, clients: int, workers: int | None = None) -> Outcome:
    """One run against `jixiao serve` (with `--workers N` when given, else its default)."""
    ledger = Ledger(db)
    head = load_sample(ledger)
    ledger.close()
    store = TokenStore(db)
    headers = {"Authorization": f"Bearer {store.create('finance_bureau', 'bench')[1]}"}
    store.close()
    with served(db.url, workers) as (url, _pid):
        stats, lock, stop = Stats(), threading.Lock(), threading.Event()
        threads = [threading.Thread(target=client, args=(url, headers, stop, stats, lock, head,
                                                         i)) for i in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join(60)
        wall = time.perf_counter() - started
    ledger = Ledger(db)
    counts = Counter(r.meta.command_id for r in read_log(ledger)
                     if r.type == type_name(Unit.Registered) and r.meta is not None
                     and r.meta.command_id.startswith("load-"))
    ledger.close()
    lost = stats.acked - set(counts)
    twice = {k for k, n in counts.items() if n > 1}
    total = sum(len(v) for v in stats.latencies.values())
    print(f"backend {db.backend}, {clients} clients, {wall:.1f} s: {total} requests, "
          f"{total / wall:.0f} req/s")
    for kind, values in stats.latencies.items():
        ms = [v * 1000 for v in values]
        print(f"  {kind:8s} n={len(ms):6d} {len(ms) / wall:7.1f}/s  p50 {percentile(ms, 50):7.1f} "
              f"ms  p95 {percentile(ms, 95):7.1f} ms  p99 {percentile(ms, 99):7.1f} ms")
    print(f"  errors: {dict(stats.errors) or 'none'}")
    print(f"  acknowledged {len(stats.acked)}, in log {len(counts)}, lost {len(lost)}, "
          f"duplicated {len(twice)}")
    return Outcome(rate=total / wall,
                   query_p95_ms=percentile([v * 1000 for v in stats.latencies["query"]], 95),
                   mutation_p95_ms=percentile([v * 1000 for v in stats.latencies["mutation"]],
                                              95),
                   errors=sum(stats.errors.values()), lost=len(lost), duplicated=len(twice))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", type=int, help="passed to jixiao serve (default: its own)")
    args = parser.parse_args()
    with fresh(args.backend) as db:
        return run(db, args.seconds, args.clients, args.workers)


if __name__ == "__main__":
    raise SystemExit(main())
