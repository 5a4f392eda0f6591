"""Every core: one command for every comparison the issue asks for, in the same run.

    .venv/bin/python -m bench.bench_workers [--seconds 5] [--rounds 3] [--load-seconds 30]

On PostgreSQL (loopback), over one store with the 相山区 sample, servers started by the script:

* the bare strawberry ceiling (bench_api's 10-row app, one uvicorn worker);
* the live annex (附件1 "now", authenticated POST, no appends meanwhile) from `jixiao serve
  --workers 1` and `--workers 2`: wrk, rate limit off, only successful answers counted
  (a 200 without GraphQL errors; wrk's failures are reported, not counted);
* the mixed load test (bench_load: 16 clients, half mutations, half as-of queries) against
  `--workers 1` and `--workers 2`, each over a fresh store;
* a PDF export of a pinned position from the running two-worker server: the first render,
  then repeated on one keep-alive connection and on new connections (either worker).

Targets (the issue): two workers ≥ 1.6× one on the live annex; bench_load ≥ 1.5× 321 req/s with
query p95 ≤ 100 ms; live annex ≥ 3× the ceiling; PDF first ≤ 1 s, repeated ≤ 10 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2 as httpx

from bench import bench_load
from bench.bench_api import Measured, load_wrk, median_of, prepare, server
from bench.common import fresh, served, table, worker_pids

TODAY_LOAD_RATE = 321.0  # req/s, bench_load in BENCHMARKS.md before workers


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def pdf_times(base: str, pinned: int, secret: str, repeats: int) -> tuple[float, float, float]:
    """(first render, median repeated on one connection, median repeated on new
    connections), seconds."""
    url = base.removesuffix("/graphql") + f"/exports/2022/key-projects.pdf?position={pinned}"
    auth = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(headers=auth, timeout=120) as http:
        started = time.perf_counter()
        first = http.get(url)
        first_s = time.perf_counter() - started
        assert first.status_code == 200 and first.content.startswith(b"%PDF"), first.text[:200]
        same = []
        for _ in range(repeats):
            started = time.perf_counter()
            again = http.get(url)
            same.append(time.perf_counter() - started)
            assert again.content == first.content
    fresh_connections = []
    for _ in range(repeats):
        with httpx.Client(headers=auth, timeout=120) as http:
            started = time.perf_counter()
            again = http.get(url)
            fresh_connections.append(time.perf_counter() - started)
            assert again.content == first.content
    return first_s, statistics.median(same), statistics.median(fresh_connections)


def successful(measured: Measured, seconds: int) -> Measured:
    """The rate of successful answers only (wrk counts every response it got)."""
    return Measured(rps=max(0.0, measured.rps - measured.failed / seconds), p50=measured.p50,
                    p99=measured.p99, failed=measured.failed, cpu_us=measured.cpu_us)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved; median shown")
    parser.add_argument("--concurrency", type=int, default=32, help=(
        "wrk connections (few keep-alive connections split unevenly between workers that "
        "share one listening socket)"))
    parser.add_argument("--load-seconds", type=float, default=30.0,
                        help="each bench_load run (the issue's runs: 60)")
    parser.add_argument("--clients", type=int, default=16, help="bench_load clients")
    parser.add_argument("--pdf-repeats", type=int, default=20)
    parser.add_argument("--pdf-only", action="store_true",
                        help="only the PDF export from a two-worker server (~1 min)")
    args = parser.parse_args()
    began = datetime.now(UTC)
    print(f"{began:%Y-%m-%d %H:%M} UTC, commit {commit()}, {os.cpu_count()} CPUs, "
          f"{load_average()}", flush=True)
    if args.pdf_only:
        return pdf_only(args.pdf_repeats)

    runs: dict[str, list[Measured]] = {"bare": [], "live 1 worker": [], "live 2 workers": []}
    with fresh("postgres") as db:
        pinned, _newest, secret = prepare(db)
        with server("bare") as (bare, bare_pid), served(db.url, 1) as (one, one_pid), \
                served(db.url, 2) as (two, two_pid):
            targets = {"bare": (bare, bare_pid), "live 1 worker": (one, one_pid),
                       "live 2 workers": (two, worker_pids(two_pid)[0])}
            for _ in range(args.rounds):  # interleaved, so a noisy moment hits each alike
                for name, (base, pid) in targets.items():
                    scenario = "bare" if name == "bare" else "live"
                    runs[name].append(load_wrk(scenario, base, pid, args.seconds,
                                               args.concurrency, pinned, secret))
            pdf = pdf_times(two, pinned, secret, args.pdf_repeats)
    results = {name: successful(median_of(measured), args.seconds)
               for name, measured in runs.items()}
    loads = {}
    for workers in (1, 2):
        with fresh("postgres") as db:
            print(f"\nbench_load, --workers {workers}:", flush=True)
            loads[workers] = bench_load.measure(db, args.load_seconds, args.clients, workers)
    report(args, results, loads, pdf, began)
    return 0


def pdf_only(repeats: int) -> int:
    """The PDF targets alone: first render and repeats from `--workers 2` (font warmed at
    start: the server is given a few seconds after it answers, as a running server has)."""
    with fresh("postgres") as db:
        pinned, _newest, secret = prepare(db)
        with served(db.url, 2) as (two, _pid):
            time.sleep(5)
            first, same, other = pdf_times(two, pinned, secret, repeats)
    print(f"PDF of a pinned position (2 workers): first {first * 1000:,.0f} ms; repeated "
          f"{same * 1000:.1f} ms (same connection), {other * 1000:.1f} ms (new connections); "
          f"{load_average()} at the end")
    print(f"  {'met    ' if first <= 1.0 else 'NOT MET'}  PDF first render ≤ 1 s")
    print(f"  {'met    ' if max(same, other) <= 0.010 else 'NOT MET'}  PDF repeated ≤ 10 ms")
    return 0


def report(args: argparse.Namespace, results: dict[str, Measured],
           loads: dict[int, bench_load.Outcome], pdf: tuple[float, float, float],
           began: datetime) -> None:
    ceiling = results["bare"].rps
    one, two = results["live 1 worker"].rps, results["live 2 workers"].rps
    print(f"\n{began:%Y-%m-%d %H:%M} UTC, commit {commit()}; wrk 1 thread, "
          f"{args.concurrency} connections, median of {args.rounds} interleaved "
          f"{args.seconds}s rounds; {load_average()} at the end\n")
    print(table([(name, f"{m.rps:,.0f}", f"{m.rps / ceiling:.1f}×", f"{m.p50:.1f}",
                  f"{m.p99:.1f}", str(m.failed)) for name, m in results.items()],
                ("scenario (PostgreSQL)", "successful req/s", "vs ceiling", "p50 ms", "p99 ms",
                 "failed")))
    print()
    print(table([(f"--workers {w}", f"{o.rate:,.0f}", f"{o.rate / TODAY_LOAD_RATE:.2f}×",
                  f"{o.query_p95_ms:.0f}", f"{o.mutation_p95_ms:.0f}", str(o.errors),
                  f"{o.lost}/{o.duplicated}") for w, o in loads.items()],
                ("bench_load, 16 clients", "req/s", f"vs {TODAY_LOAD_RATE:.0f}",
                 "query p95 ms", "mutation p95 ms", "errors", "lost/duplicated")))
    first, same, other = pdf
    print(f"\nPDF of a pinned position (2 workers): first {first * 1000:,.0f} ms; repeated "
          f"{same * 1000:.1f} ms (same connection), {other * 1000:.1f} ms (new connections)")
    load2 = loads[2]
    checks = [
        ("live annex, 2 workers ≥ 1.6× 1 worker", two / one >= 1.6, f"{two / one:.2f}×"),
        ("live annex ≥ 3× the ceiling", max(one, two) / ceiling >= 3,
         f"{one / ceiling:.1f}× (1 worker), {two / ceiling:.1f}× (2)"),
        ("bench_load, 2 workers ≥ 1.5× 321 req/s", load2.rate >= 1.5 * TODAY_LOAD_RATE,
         f"{load2.rate:,.0f} req/s"),
        ("bench_load query p95 ≤ 100 ms", load2.query_p95_ms <= 100,
         f"{load2.query_p95_ms:.0f} ms"),
        ("PDF first render ≤ 1 s", first <= 1.0, f"{first:.2f} s"),
        ("PDF repeated ≤ 10 ms", max(same, other) <= 0.010,
         f"{same * 1000:.1f} / {other * 1000:.1f} ms"),
    ]
    print()
    for name, met, value in checks:
        print(f"  {'met    ' if met else 'NOT MET'}  {name}: {value}")


if __name__ == "__main__":
    raise SystemExit(main())
