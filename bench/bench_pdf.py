"""An in-process PDF render of the 相山区 附件1 (key projects), first and repeated.

    .venv/bin/python -m bench.bench_pdf [--repeats 5] [--reference]

"first" is the first render in a fresh process (it pays for reading the CJK font; the common
cut is prepared, untimed, as `jixiao serve` does at start: built once, then on disk), "again"
the median of the renders after it. `--reference` renders as before the per-process font
cache (every document parses the font itself), for a before/after in the same run.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reference", action="store_true",
                        help="parse the font per document, as before the font cache")
    args = parser.parse_args()
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
