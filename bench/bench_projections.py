"""Read side at province scale: rebuild rate, and as-of annex latency at 10k vs 1M events.

The log grows district by district (about 10k events each). District 1 is fiscal year 2022;
the others are other years, so the 2022 annex table keeps its size while history grows —
what we measure is whether an as-of query's cost grows with history (a second store holding
district 1 alone is the 10k reference). The rebuild is `jixiao projections rebuild`'s
(projections.rebuild: two processes on PostgreSQL), and one process for comparison. The
reference is eventsourcing's bare decode of the same log, in the same run; it, like each
rebuild, runs in a fresh process, as the command line would.

    python bench/bench_projections.py [--districts 100] [--subjects 625] [--backend postgres]
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh, rate, table
from ledger.annex import AnnexKind
from ledger.application import Ledger
from ledger.sample.synthetic import ACTOR, district_setup, subject_commands
from ledger.store import Database
from projections.rebuild import rebuild
from projections.values import Moment
from projections.views import ReadModel


def add_district(app: Ledger, d: int, subjects: int) -> int:
    import random

    rng = random.Random(d)
    year = 2022 if d == 1 else 2030 + d % 60
    last = max(r.position for r in app.execute_batch(district_setup(d), ACTOR))
    for start in range(0, subjects, 125):
        calls = [call for s in range(start, min(subjects, start + 125))
                 for call in subject_commands(d, s, year, rng)]
        last = max(r.position for r in app.execute_batch(calls, ACTOR))
    return last


def latency(read: ReadModel, position: int, runs: int = 300) -> tuple[list[float], int]:
    """Milliseconds per annex query at `position`, and the rows it returned."""
    moment = Moment(position=position, recorded_at=None)
    samples = []
    rows = 0
    for _ in range(runs):
        start = time.perf_counter()
        rows = len(read.evaluation_table(moment, 2022, AnnexKind.KEY_PROJECTS).rows)
        samples.append((time.perf_counter() - start) * 1000)
    return samples, rows


def percentiles(samples: list[float]) -> tuple[str, str]:
    ordered = sorted(samples)
    return (f"{statistics.median(ordered):.2f}", f"{ordered[int(len(ordered) * 0.95) - 1]:.2f}")


def bare_decode(db: Database, head: int) -> int:
    """eventsourcing's own read of the whole log: select_notifications, to_domain_event."""
    app = Ledger(db)
    count, start = 0, 1
    while start <= head:
        notes = app.recorder.select_notifications(start=start, limit=5000)
        if not notes:
            break
        for n in notes:
            app.mapper.to_domain_event(n)
        count += len(notes)
        start = notes[-1].id + 1
    app.close()
    return count


def rebuild_with(db: Database, jobs: int) -> int:
    """`jixiao projections rebuild --jobs N`, as the command line runs it."""
    return rebuild(db, jobs=jobs)


def in_fresh_process(action: Callable[..., int], *args: object) -> int:
    """Like the rebuild's workers, on a heap of its own (this process holds the writer's)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(action, *args).result()


def spread(rates: list[float]) -> str:
    return f"{min(rates) / 1000:.1f}k – {max(rates) / 1000:.1f}k"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--districts", type=int, default=100)
    parser.add_argument("--subjects", type=int, default=625)
    parser.add_argument("--backend", default="postgres")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    args = parser.parse_args()
    with fresh(args.backend) as small_db, fresh(args.backend) as db:
        small_app, app = Ledger(small_db), Ledger(db)
        small = add_district(small_app, 1, args.subjects)
        t0 = time.perf_counter()
        head = 0
        for d in range(1, args.districts + 1):
            head = add_district(app, d, args.subjects)
            if d % 10 == 0:
                print(f"  {head:,} events after {time.perf_counter() - t0:.0f}s", flush=True)
        small_read, read = ReadModel(small_db, small_app), ReadModel(db, app)
        small_read.catch_up()
        read.catch_up()
        # The same 2022 annex on the 10k store and on the 1M store, sampled in turns, so a
        # noisy moment on the machine hits all three alike.
        queries = {f"annex as of head, {small:,} events": (small_read, small),
                   f"annex as of head, {head:,} events": (read, head),
                   f"annex as of position {small:,}, {head:,} events": (read, small)}
        samples: dict[str, list[float]] = {label: [] for label in queries}
        rows_seen: dict[str, int] = {}
        for _ in range(10):
            for label, (model, position) in queries.items():
                taken, rows_seen[label] = latency(model, position, runs=100)
                samples[label] += taken
        print(table([(label, f"{rows_seen[label]} rows", *percentiles(samples[label]))
                     for label in queries], ("query (in-process)", "size", "p50 ms", "p95 ms")))
        read.close()
        small_read.close()

        decodes: list[float] = []
        rebuilds: dict[int, list[float]] = {2: [], 1: []}
        for _ in range(args.rounds):  # interleaved, so a noisy moment hits each alike
            decodes.append(rate(head, lambda: in_fresh_process(bare_decode, db, head)))
            for jobs, rates in rebuilds.items():
                rates.append(rate(head, functools.partial(in_fresh_process, rebuild_with, db,
                                                          jobs)))
        decode = statistics.median(decodes)
        print(table([(f"{args.backend}, {jobs} process{'es' if jobs > 1 else ''}", f"{head:,}",
                      f"{statistics.median(r):,.0f}", spread(r), f"{decode:,.0f}",
                      spread(decodes), f"{statistics.median(r) / decode:.0%}")
                     for jobs, r in rebuilds.items()],
                    ("rebuild", "events", "events/s", "rounds", "bare decode events/s",
                     "rounds", "ratio")))
        small_app.close()
        app.close()


if __name__ == "__main__":
    main()
