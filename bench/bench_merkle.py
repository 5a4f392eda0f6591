"""Throughput of the verifiable log's hashing, measured against bare SHA-256.

Builds N synthetic ledger records (~300 bytes of canonical JSON each, Chinese text
inside), then times in one run:

* bare ``hashlib.sha256`` over the canonical bytes (the reference: the least any
  hashing scheme must cost),
* RFC 6962 leaf hashing plus a full ``root_of`` tree recomputation,
* ``CompactRange`` appends (what a sealer does per event), alone and with leaf hashing.

Canonicalization (RFC 8785 in pure Python) is timed separately, since it usually
dominates. Usage: ``python bench/bench_merkle.py [--events N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import platform
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.merkle import CompactRange, leaf_hash, root_of

T = TypeVar("T")

PROJECTS = [
    "相山区城市道路养护工程",
    "农村饮水安全巩固提升",
    "义务教育学校营养改善计划",
    "城乡居民基本医疗保险补助",
    "老旧小区改造及配套设施建设",
]
EVENTS = ["BudgetAllocated", "FundsDisbursed", "TargetSet", "SelfAssessed", "GradeAssigned"]
BASE_TIME = dt.datetime(2022, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def make_record(i: int) -> dict[str, Any]:
    """One synthetic event record; deterministic in i."""
    return {
        "event_id": uuid.UUID(int=i * 2654435761 % (1 << 128)),
        "position": i,
        "type": EVENTS[i % len(EVENTS)],
        "project": PROJECTS[i % len(PROJECTS)],
        "department": "淮北市相山区财政局",
        "amount": Decimal(i % 100_000) / 100,
        "recorded_at": BASE_TIME + dt.timedelta(seconds=i),
        "remark": "绩效目标完成情况良好",
        "year": 2022,
    }


def timed(label: str, fn: Callable[[], T], repeat: int) -> tuple[T, float]:
    """Best-of-`repeat` wall time of fn() with the garbage collector paused."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    print(f"  ... {label}: {best:.3f} s", file=sys.stderr)
    assert result is not None
    return result, best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000, help="number of records")
    parser.add_argument("--repeat", type=int, default=1, help="best of R runs per measurement")
    args = parser.parse_args(argv)
    n, repeat = args.events, max(1, args.repeat)
    if n < 1:
        parser.error("--events must be at least 1")

    data, t_canon = timed(
        "canonicalize", lambda: [canonical_bytes(make_record(i)) for i in range(n)], 1
    )
    sha = hashlib.sha256
    _, t_bare = timed("bare sha256", lambda: [sha(b).digest() for b in data], repeat)
    hashes, t_leaf = timed("leaf hashes", lambda: [leaf_hash(b) for b in data], repeat)
    root, t_root = timed("root_of", lambda: root_of(hashes), repeat)

    def appends() -> CompactRange:
        cr = CompactRange()
        for h in hashes:
            cr.append(h)
        return cr

    def sealer() -> CompactRange:
        cr = CompactRange()
        for b in data:
            cr.append(leaf_hash(b))
        return cr

    cr, t_append = timed("CompactRange appends", appends, repeat)
    cr2, t_sealer = timed("leaf hash + append", sealer, repeat)
    if not root == cr.root() == cr2.root():
        raise SystemExit("root mismatch between root_of and CompactRange")

    sizes = [len(b) for b in data]
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    print(
        f"{n:,} records, canonical size avg {sum(sizes) / n:.0f} B "
        f"(min {min(sizes)}, max {max(sizes)}), root {root.hex()[:16]}..."
    )
    rows = [
        ("bare hashlib.sha256 (reference)", t_bare),
        ("leaf hash + root_of recomputation", t_leaf + t_root),
        ("  of which leaf hashes", t_leaf),
        ("  of which root_of", t_root),
        ("CompactRange.append (leaf hashes given)", t_append),
        ("leaf hash + CompactRange.append", t_sealer),
        ("canonical_bytes (RFC 8785), for scale", t_canon),
    ]
    print(f"{'measurement':<42}{'seconds':>9}{'events/s':>14}{'x bare':>9}")
    for label, seconds in rows:
        print(f"{label:<42}{seconds:>9.3f}{n / seconds:>14,.0f}{seconds / t_bare:>9.2f}")


if __name__ == "__main__":
    main()
