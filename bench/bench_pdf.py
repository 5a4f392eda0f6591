"""A PDF render of the 相山区 附件1 (key projects), first and repeated: in-process, or from a
running server.

    .venv/bin/python -m bench.bench_pdf [--repeats 5] [--reference]
    .venv/bin/python -m bench.bench_pdf --server [--runs 3] [--repeats 20]

In-process: "first" is the first render in a fresh process (it pays for reading the CJK font;
the common cut is prepared, untimed, as `jixiao serve` does at start: built once, then on
disk), "again" the median of the renders after it. `--reference` renders as before the
per-process font cache (every document parses the font itself), for a before/after in the
same run.

`--server` (the issue's target): a fresh PostgreSQL store with the sample, a signing key and a
checkpoint covering the pinned position, then per run two `jixiao serve --workers 2`, one
as shipped and one with JIXIAO_PDF_FONT_CACHE=off (the reference), each given 5 s after it
answers (the font work at start), then GET /exports/2022/key-projects.pdf?position=N: the
first render, repeats on one connection and on new ones (the export cites the checkpoint, so
it is settled), and repeats of a position no checkpoint covers yet (planned every time, as
every repeat was before). Medians over the runs, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.annex import AnnexKind, AnnexRow, AnnexTable, Provenance
from ledger.grades import Grade
from projections.exports import report_from_annex
from projections.exports.report import Report

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "ledger" / "sample" / "xiangshan_2022_annexes.json"


def sample_report() -> Report:
    raw = json.loads(SAMPLE.read_text(encoding="utf-8"))["key_projects"]
    rows = tuple(AnnexRow(seq=r["seq"], subject_id=f"k-{r['seq']}", subject_name=r["name"],
                          unit_name=r["unit"], funds=Decimal(r["funds"]),
                          assessment=r["assessment"], grade=Grade.from_label(r["grade"]))
                 for r in raw["rows"])
    table = AnnexTable(fiscal_year=2022, kind=AnnexKind.KEY_PROJECTS, rows=rows)
    provenance = Provenance(position=1234, recorded_at=datetime(2023, 5, 1, tzinfo=UTC),
                            checkpoint_origin=None, checkpoint_size=None, checkpoint_root=None)
    return report_from_annex(table, provenance)


def repeated(url: str, auth: dict[str, str], repeats: int, expected: bytes) -> float:
    """Median seconds of `repeats` GETs on one keep-alive connection."""
    import httpx2 as httpx

    times = []
    with httpx.Client(headers=auth, timeout=120) as http:
        for _ in range(repeats):
            started = time.perf_counter()
            again = http.get(url)
            times.append(time.perf_counter() - started)
            assert again.content == expected
    return statistics.median(times)


def server_run(db_url: str, pinned: int, uncovered: int, secret: str, repeats: int,
               reference: bool) -> dict[str, float]:
    """One server (two workers): first render, repeats settled and not, in seconds."""
    import httpx2 as httpx

    from bench.bench_workers import pdf_times
    from bench.common import served

    if reference:
        os.environ["JIXIAO_PDF_FONT_CACHE"] = "off"
    try:
        with served(db_url, 2) as (base, _pid):
            time.sleep(5)
            first, same, fresh = pdf_times(base, pinned, secret, repeats)
            url = base.removesuffix("/graphql") + "/exports/2022/key-projects.pdf"
            auth = {"Authorization": f"Bearer {secret}"}
            cited = httpx.get(f"{url}?position={pinned}", headers=auth, timeout=120)
            assert cited.headers["x-jixiao-checkpoint"] != "none", "the pin is not covered"
            open_url = f"{url}?position={uncovered}"
            body = httpx.get(open_url, headers=auth, timeout=120)
            assert body.headers["x-jixiao-checkpoint"] == "none"
            unsettled = repeated(open_url, auth, repeats, body.content)
    finally:
        os.environ.pop("JIXIAO_PDF_FONT_CACHE", None)
    return {"first": first, "same": same, "fresh": fresh, "unsettled": unsettled}


def server_main(runs: int, repeats: int) -> int:
    """The issue's measurement from running servers, as shipped and the reference."""
    import tempfile

    from bench.bench_api import prepare
    from bench.common import fresh
    from ledger.application import Ledger
    from ledger.integrity.checkpoint import init_key_file
    from ledger.integrity.service import checkpoint_now, load_key
    from ledger.runtime import Actor

    loads: list[float] = []
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as keys, fresh("postgres") as db:
        os.environ["JIXIAO_KEY_FILE"] = str(Path(keys) / "bench.key")
        init_key_file(Path(os.environ["JIXIAO_KEY_FILE"]), "bench.jixiao/pdf")
        pinned, _newest, secret = prepare(db)
        ledger = Ledger(db)
        try:
            checkpoint_now(db, ledger, load_key(db))  # covers the pin
            bureau = Actor(id="bench", role="finance_bureau")
            ledger.register_unit({"command_id": "bench-uncovered", "code": "BENCH-OPEN",
                                  "name": "检查点之后的单位"}, bureau)
            uncovered = int(ledger.recorder.max_notification_id() or 0)
        finally:
            ledger.close()
        for run in range(runs):
            for reference in (False, True) if run % 2 == 0 else (True, False):
                loads.append(os.getloadavg()[0])
                results[reference].append(server_run(db.url, pinned, uncovered, secret,
                                                      repeats, reference))
                print(f"run {run + 1}, {'reference' if reference else 'current'}: "
                      + ", ".join(f"{k} {v * 1000:,.1f} ms"
                                  for k, v in results[reference][-1].items()), flush=True)
    print(f"\nmedian of {runs} run(s) (load average at each start: "
          f"{', '.join(f'{x:.1f}' for x in loads)}):")
    for reference, found in results.items():
        median = {k: statistics.median(r[k] for r in found) for k in found[0]}
        print(f"  {'reference (font cache off)' if reference else 'current':27} first "
              f"{median['first'] * 1000:,.0f} ms; repeated, settled {median['same'] * 1000:.1f} "
              f"ms (same connection), {median['fresh'] * 1000:.1f} ms (new connections); "
              f"repeated, no checkpoint yet {median['unsettled'] * 1000:.1f} ms")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reference", action="store_true",
                        help="parse the font per document, as before the font cache")
    parser.add_argument("--server", action="store_true",
                        help="from running servers (PostgreSQL), as shipped and the reference")
    parser.add_argument("--runs", type=int, default=3, help="with --server")
    args = parser.parse_args()
    if args.server:
        return server_main(args.runs, args.repeats)
    from projections.exports import pdf_export

    if args.reference:
        os.environ["JIXIAO_PDF_FONT_CACHE"] = "off"
    else:  # as `jixiao serve` after its first start: the common cut is on disk (not timed)
        from projections.exports.pdf_fonts import prepare_common

        font = pdf_export.find_cjk_font()
        prepare_common(font.path, font.index)
        if font.bold_path is not None:
            prepare_common(font.bold_path, font.bold_index)
    report = sample_report()
    times = []
    for _ in range(args.repeats + 1):
        started = time.perf_counter()
        body = pdf_export.pdf_bytes(report)
        times.append(time.perf_counter() - started)
    one, _, _ = os.getloadavg()
    print(f"{'reference' if args.reference else 'current'}: first {times[0] * 1000:,.0f} ms, "
          f"again {statistics.median(times[1:]) * 1000:,.0f} ms (median of {args.repeats}); "
          f"{len(body):,} bytes; load average {one:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
