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
from jixiao.regions import RegionRegistry
from ledger.annex import AnnexKind
from ledger.application import Ledger
from ledger.sample.synthetic import ACTOR, district_setup, generate, subject_commands
from ledger.store import Database
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


def rollup_latency(registry: RegionRegistry, workers: int, repeat: int,
                   lookup: bool | None = None) -> tuple[float, float, int]:
    """(median ms, p95 ms, rows) of warm provincial roll-ups with `workers` threads
    (lookup=False: without asking the integrity module for each region's checkpoint)."""
    query = RollupQuery(registry, workers=workers,
                        checkpoint=(lambda db: None) if lookup is False else None)
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


def cpu_times() -> tuple[float, float]:
    """(idle, total) CPU time of the whole machine so far, from /proc/stat."""
    values = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return values[3] + values[4], sum(values)


def wait_for_quiet(threshold: float = 0.85, patience: float = 120.0) -> float:
    """Wait (at most `patience` s) until the machine is mostly idle — other people's test
    suites share these two cores — and return the idle fraction of the last second."""
    if not Path("/proc/stat").exists():
        return float("nan")
    deadline = time.monotonic() + patience
    while True:
        idle0, total0 = cpu_times()
        time.sleep(1.0)
        idle1, total1 = cpu_times()
        idle = (idle1 - idle0) / max(1e-9, total1 - total0)
        if idle >= threshold or time.monotonic() >= deadline:
            return idle


QUIET: list[float] = []  # idle fraction of the machine just before each timed append run


def append_rounds(servers: list[Server], subjects: int,
                  rounds: int) -> dict[int, list[tuple[list[float], float]]]:
    """Interleaved rounds of 1, 2 and 4 concurrent regions (fresh schemas each time), after a
    discarded warm-up round, so that noise from elsewhere on the machine hits all alike;
    each run starts once the machine is quiet (or after two minutes of waiting)."""
    from ledger.migrate import migrate

    a, b = servers
    layouts = {1: [a], 2: [a, b], 4: [a, b, a, b]}
    found: dict[int, list[tuple[list[float], float]]] = {n: [] for n in layouts}
    for r in range(rounds + 1):
        for n, layout in layouts.items():
            urls = [s.url(schema=f"append_{r}_{n}_{i}") for i, s in enumerate(layout)]
            for url in urls:
                migrate(Database.from_url(url))
            idle = wait_for_quiet() if r > 0 else 1.0
            measured = concurrent_appends(urls, subjects)
            if r > 0:
                found[n].append(measured)
                QUIET.append(idle)
    return found


GROUPS = {"event log": ("ledger_events",),
          "read models": ("event_index", "subject_rows", "unit_rows", "disclosure_rows",
                          "projection_tracking"),
          "verifiable log": ("integrity_leaves", "integrity_state", "integrity_checkpoints")}


def district_year_upkeep(server: Server, schema: str) -> list[tuple[str, ...]]:
    """On a region holding one district-year: project it, seal and sign it, weigh it."""
    from ledger.integrity.checkpoint import NoteSigner
    from ledger.integrity.service import checkpoint_now
    from projections.views import ReadModel

    db = Database.from_url(server.url(schema=schema))
    ledger = Ledger(db)
    read = ReadModel(db, ledger)
    try:
        events = int(ledger.recorder.max_notification_id() or 0)
        start = time.perf_counter()
        read.catch_up()
        projected = time.perf_counter() - start
        start = time.perf_counter()
        checkpoint_now(db, ledger, NoteSigner.generate(f"bench/{schema}"))
        sealed = time.perf_counter() - start
    finally:
        read.close()
        ledger.close()
    sizes = dict(server.query(
        "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'", (schema,)))
    rows: list[tuple[str, ...]] = [("stored events in the region", f"{events:,}", ""),
            ("project from scratch (all views)", f"{events / projected:,.0f} events/s",
             f"{projected:.2f} s"),
            ("seal every event and sign a checkpoint", f"{events / sealed:,.0f} events/s",
             f"{sealed:.2f} s")]
    for group, tables in GROUPS.items():
        size = sum(int(sizes.get(t, 0)) for t in tables)
        rows.append((f"storage: {group}", f"{size / events:,.0f} bytes/event",
                     f"{size / 2**20:.1f} MiB"))
    return rows


def checkpoint_round(registry: RegionRegistry, codes: list[str]) -> float:
    """Seconds to seal and sign a checkpoint in every region, one after another."""
    from ledger.integrity.checkpoint import NoteSigner
    from ledger.integrity.service import checkpoint_now

    start = time.perf_counter()
    for code in codes:
        db, ledger, _ = registry.get(code)
        checkpoint_now(db, ledger, NoteSigner.generate(f"bench/region/{code}"))
    return time.perf_counter() - start


def report_appends(appends: dict[int, list[tuple[list[float], float]]],
                   subjects: int) -> None:
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
    print(f"machine idle just before each timed run: {min(QUIET):.0%}–{max(QUIET):.0%} "
          "(other people's work on the machine shows up here)")
    print(f"(each region: one district-year of {subjects} subjects, {subjects * 16:,} stored "
          "events, batched imports of 50 subjects per transaction)\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--region-subjects", type=int, default=100)
    parser.add_argument("--append-subjects", type=int, default=1000,
                        help="subjects per region in the append runs (1000 ≈ a district-year)")
    parser.add_argument("--repeat", type=int, default=30, help="roll-ups timed")
    parser.add_argument("--rounds", type=int, default=5, help="append rounds (1, 2, 4 "
                        "regions each) after one warm-up round; 0 skips the append runs")
    args = parser.parse_args()

    with Cluster(fsync=True, max_connections=300) as cluster:
        a, b = cluster.primary("server-a"), cluster.primary("server-b")
        registry = RegionRegistry(Database.from_url(a.url(schema="home")))
        try:
            start = time.perf_counter()
            codes = load_regions(registry, [a, b], args.regions, args.region_subjects)
            loaded = time.perf_counter() - start
            sealing = checkpoint_round(registry, codes)
            idle_round = checkpoint_round(registry, codes)  # nothing new: the steady state
            rollups = []
            for workers, lookup in ((8, None), (1, None), (8, False)):
                wait_for_quiet()
                rollups.append((workers, lookup, *rollup_latency(registry, workers, args.repeat,
                                                                 lookup)))
        finally:
            registry.close()
        if args.rounds > 0:
            appends = append_rounds([a, b], args.append_subjects, args.rounds)
            upkeep = district_year_upkeep(a, "append_1_1_0")

    print(f"\n{os.cpu_count()} CPUs; PostgreSQL servers started by the bench, fsync on; "
          f"{args.regions} regions of {args.region_subjects} subjects "
          f"({args.region_subjects * 16:,} events each) loaded in {loaded:.1f}s\n")
    print(table([(f"roll-up, {args.regions} regions on 2 servers, {w} thread{'s' * (w > 1)}"
                  + (", no checkpoint look-ups" if lookup is False else ""),
                  f"{med:.1f}", f"{p95:.1f}", str(rows))
                 for w, lookup, med, p95, rows in rollups],
                ("query (annex 1 table + coverage per region)", "median ms", "p95 ms",
                 "annex rows")))
    print(f"\ncheckpoint round over the {args.regions} regions: {sealing:.2f} s sealing and "
          f"signing every event; {idle_round:.2f} s when nothing new was appended\n")
    if args.rounds > 0:
        report_appends(appends, args.append_subjects)
        print(table(upkeep, ("one district-year region (server A)", "rate / size", "total")))


if __name__ == "__main__":
    main()
