"""Read side at province scale: rebuild rate, and as-of annex latency at 10k vs 1M events.

The log grows district by district (about 10k events each). District 1 is fiscal year 2022;
the others are other years, so the 2022 annex table keeps its size while history grows —
what we measure is whether an as-of query's cost grows with history.

    python bench/bench_projections.py [--districts 100] [--subjects 625] [--backend postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh, rate, table
from ledger.application import Ledger
from ledger.sample.synthetic import ACTOR, district_setup, subject_commands
from projections.annex import AnnexKind
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


def latency(read: ReadModel, position: int, runs: int = 300) -> tuple[float, float, int]:
    moment = Moment(position=position, recorded_at=None)
    samples = []
    rows = 0
    for _ in range(runs):
        start = time.perf_counter()
        rows = len(read.evaluation_table(moment, 2022, AnnexKind.KEY_PROJECTS).rows)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], rows


def bare_decode(app: Ledger, head: int) -> int:
    count, start = 0, 1
    while start <= head:
        notes = app.recorder.select_notifications(start=start, limit=5000)
        if not notes:
            break
        for n in notes:
            app.mapper.to_domain_event(n)
        count += len(notes)
        start = notes[-1].id + 1
    return count


def spread(rates: list[float]) -> str:
    return f"{min(rates) / 1000:.1f}k – {max(rates) / 1000:.1f}k"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--districts", type=int, default=100)
    parser.add_argument("--subjects", type=int, default=625)
    parser.add_argument("--backend", default="postgres")
    parser.add_argument("--rounds", type=int, default=3, help="rebuilds (the median is shown)")
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    with fresh(args.backend) as db:
        app = Ledger(db)
        read = ReadModel(db, app)
        t0 = time.perf_counter()
        small = add_district(app, 1, args.subjects)
        read.catch_up()
        p50, p95, n = latency(read, small)
        rows.append((f"annex as of head, {small:,} events", f"{n} rows", f"{p50:.2f}",
                     f"{p95:.2f}"))
        head = small
        for d in range(2, args.districts + 1):
            head = add_district(app, d, args.subjects)
            if d % 10 == 0:
                read.catch_up()
                print(f"  {head:,} events after {time.perf_counter() - t0:.0f}s", flush=True)
        read.catch_up()
        for label, pos in ((f"annex as of head, {head:,} events", head),
                           (f"annex as of position {small:,}, {head:,} events", small)):
            p50, p95, n = latency(read, pos)
            rows.append((label, f"{n} rows", f"{p50:.2f}", f"{p95:.2f}"))
        print(table(rows, ("query (in-process)", "size", "p50 ms", "p95 ms")))

        decodes, rebuilds = [], []
        for _ in range(args.rounds):  # interleaved, so a noisy moment hits both
            decodes.append(rate(head, lambda: bare_decode(app, head)))
            read.runner.reset()
            rebuilds.append(rate(head, read.runner.catch_up))
        decode, rebuild = statistics.median(decodes), statistics.median(rebuilds)
        print(table([(args.backend, f"{head:,}", f"{rebuild:,.0f}", spread(rebuilds),
                      f"{decode:,.0f}", spread(decodes), f"{rebuild / decode:.0%}")],
                    ("store", "events", "rebuild events/s", "rounds", "bare decode events/s",
                     "rounds", "ratio")))
        read.close()
        app.close()


if __name__ == "__main__":
    main()
