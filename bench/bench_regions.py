"""Regions on PostgreSQL: roll-up latency over 20 regions, and append rates across regions.

Starts two PostgreSQL servers of its own (fsync on, like production; tests/pgcluster.py) and
removes them afterwards. In one run it measures:

* the provincial roll-up (annex table + coverage of every region, in parallel) over 20
  small synthetic regions spread over the two servers, warm, median and p95;
* the per-region append rate with 4 regions written concurrently by 4 processes;
* the aggregate append rate of 1 region alone, then of 2 regions on two different servers
  written concurrently, and their ratio.

Appends go through the batched command path (ledger/sample/synthetic.py: 8 commands and 16
stored events per subject, half of them command records). Rates count stored events.

    python bench/bench_regions.py [--regions 20] [--region-subjects 100]
                                  [--append-subjects 1000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table
from ledger.application import Ledger
from ledger.regions import RegionRegistry
from ledger.sample.synthetic import ACTOR, district_setup, generate, subject_commands
from ledger.store import Database
from projections.annex import AnnexKind
from projections.rollup import RollupQuery
from tests.pgcluster import Cluster, Server


def load_regions(registry: RegionRegistry, servers: list[Server], count: int,
                 subjects: int) -> list[str]:
    """`count` regions, alternately on each server, each with `subjects` synthetic subjects,
    projected, so the roll-up measures queries, not catching up."""
    codes = []
    for i in range(count):
        code = f"34{i // 20 + 6:02d}{i % 20 + 1:02d}"
        server = servers[i % len(servers)]
        registry.add(code, f"第{i + 1}区", server.url(schema=f"region_{code}"))
        _, ledger, read = registry.get(code)
        generate(ledger, districts=1, subjects=subjects, seed=i)
        read.catch_up()
        codes.append(code)
    return codes


def rollup_latency(registry: RegionRegistry, workers: int, repeat: int) -> tuple[float, float,
                                                                                   int]:
    """(median ms, p95 ms, rows) of warm provincial roll-ups with `workers` threads."""
    query = RollupQuery(registry, workers=workers)
    try:
        query.run(2022, AnnexKind.KEY_PROJECTS)  # opens every region (connections, caches)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            rollup = query.run(2022, AnnexKind.KEY_PROJECTS)
            times.append((time.perf_counter() - start) * 1000)
            assert rollup.complete, rollup.failures
        times.sort()
        return (statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))],
                rollup.rows)
    finally:
        query.close()


def append_worker(url: str, subjects: int, ready: Any, go: EventType, out: Any) -> None:
    """One process writing one region: warm up, wait for the start, time a district-year."""
    app = Ledger(Database.from_url(url))
    import random

    rng = random.Random(99)
    warm = [*district_setup(999), *(c for s in range(20)
                                    for c in subject_commands(999, s, 2021, rng))]
    before = max(r.position for r in app.execute_batch(warm, ACTOR))
    ready.put(os.getpid())
    go.wait(120)
    start = time.perf_counter()
    last = generate(app, districts=1, subjects=subjects)
    end = time.perf_counter()
    app.close()
    out.put((url, last - before, start, end))


def concurrent_appends(urls: list[str], subjects: int) -> tuple[list[float], float]:
    """Per-region events/s and aggregate events/s of one process per region, started
    together."""
    ctx = multiprocessing.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=append_worker, args=(url, subjects, ready, go, out))
             for url in urls]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=120)
        go.set()
        results = [out.get(timeout=600) for _ in procs]
    finally:
        for p in procs:
            p.join(60)
            if p.is_alive():
                p.terminate()
    rates = [events / (end - start) for _, events, start, end in results]
    wall = max(r[3] for r in results) - min(r[2] for r in results)
    return rates, sum(r[1] for r in results) / wall


def append_rounds(servers: list[Server], subjects: int,
                  rounds: int) -> dict[int, list[tuple[list[float], float]]]:
    """Interleaved rounds of 1, 2 and 4 concurrent regions (fresh schemas each time), after a
    discarded warm-up round, so that noise from elsewhere on the machine hits all alike."""
    from ledger.migrate import migrate

    a, b = servers
    layouts = {1: [a], 2: [a, b], 4: [a, b, a, b]}
    found: dict[int, list[tuple[list[float], float]]] = {n: [] for n in layouts}
    for r in range(rounds + 1):
        for n, layout in layouts.items():
            urls = [s.url(schema=f"append_{r}_{n}_{i}") for i, s in enumerate(layout)]
            for url in urls:
                migrate(Database.from_url(url))
            measured = concurrent_appends(urls, subjects)
            if r > 0:
                found[n].append(measured)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--region-subjects", type=int, default=100)
    parser.add_argument("--append-subjects", type=int, default=1000,
                        help="subjects per region in the append runs (1000 ≈ a district-year)")
    parser.add_argument("--repeat", type=int, default=30, help="roll-ups timed")
    parser.add_argument("--rounds", type=int, default=5,
                        help="append rounds (1, 2, 4 regions each), after one warm-up round")
    args = parser.parse_args()

    load_before = f"{os.getloadavg()[0]:.2f}"
    with Cluster(fsync=True, max_connections=300) as cluster:
        a, b = cluster.primary("server-a"), cluster.primary("server-b")
        registry = RegionRegistry(Database.from_url(a.url(schema="home")))
        try:
            start = time.perf_counter()
            load_regions(registry, [a, b], args.regions, args.region_subjects)
            loaded = time.perf_counter() - start
            med8, p95_8, rows = rollup_latency(registry, 8, args.repeat)
            med1, p95_1, _ = rollup_latency(registry, 1, args.repeat)
        finally:
            registry.close()

        appends = append_rounds([a, b], args.append_subjects, args.rounds)

    events = args.append_subjects * 16
    print(f"\n{os.cpu_count()} CPUs; PostgreSQL servers started by the bench, fsync on; "
          f"{args.regions} regions of {args.region_subjects} subjects loaded in {loaded:.1f}s\n")
    print(table([
        (f"roll-up, {args.regions} regions on 2 servers, 8 threads", f"{med8:.1f}",
         f"{p95_8:.1f}", str(rows)),
        (f"roll-up, {args.regions} regions on 2 servers, 1 thread", f"{med1:.1f}",
         f"{p95_1:.1f}", str(rows)),
    ], ("query (annex 1 table + coverage per region)", "median ms", "p95 ms", "annex rows")))
    print()
    one, two, four = (appends[n] for n in (1, 2, 4))
    ratios = [t[1] / o[1] for o, t in zip(one, two, strict=True)]

    def per_region(runs: list[tuple[list[float], float]], pick: Any) -> str:
        return f"{pick([statistics.median(rates) for rates, _ in runs]):,.0f}"

    def aggregate(runs: list[tuple[list[float], float]], pick: Any) -> float:
        return float(pick([agg for _, agg in runs]))

    lines: list[tuple[str, ...]] = []
    for label, n, runs in (("1 region alone (server A)", 1, one),
                           ("2 regions, servers A and B", 2, two),
                           ("4 regions, 2 per server", 4, four)):
        for how, pick in (("best", max), ("median", statistics.median)):
            lines.append((label, str(n), how, per_region(runs, pick),
                         f"{aggregate(runs, pick):,.0f}",
                         f"{aggregate(runs, pick) / aggregate(one, pick):.2f}×"))
    print(table(lines, ("append workload", "processes", f"of {len(one)} rounds",
                       "per-region events/s", "aggregate events/s", "vs 1 region")))
    print(f"\n1 → 2 regions on two servers, round by round: "
          f"{', '.join(f'{r:.2f}×' for r in ratios)} (median {statistics.median(ratios):.2f}×)")
    print(f"load average before / after: {load_before} / {os.getloadavg()[0]:.2f} "
          "(other work on the machine shows up here)")
    print(f"\n(each region: one district-year of {args.append_subjects} subjects, "
          f"{events:,} stored events, batched imports of 50 subjects per transaction)")


if __name__ == "__main__":
    main()
