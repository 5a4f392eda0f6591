"""Offline verification rate of a large audit bundle, against bare SHA-256 over the same bytes.

Builds a synthetic bundle of N realistic records (default 1,000,000): the canonical records
of the sample ledger (the 16 subjects of 相山区 2022 with their whole lifecycles, ~600 bytes
of canonical JSON each) repeated with fresh aggregate ids, codes, positions and times, with
a signed checkpoint every 100,000 records. Then times, in one run over the same lines:

* bare ``hashlib.sha256`` of each line (the reference: the least any hashing costs),
* the verifier's leaf hashing plus incremental tree recomputation (``LogTree.add``) and the
  roots at every checkpoint,
* the whole ``verify_bundle`` (read, hash, tree, parse and canonical check of the records
  the replay reads, replay of the annex tables, signatures, consistency proofs), and the
  same with ``strict=True`` (every line parsed and checked canonical).

Usage: ``python bench/bench_verify.py [--events N] [--every K] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table
from ledger.application import Ledger
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.checkpoint import Checkpoint, NoteSigner, sign_note
from ledger.integrity.merkle import CompactRange, leaf_hash
from ledger.integrity.verifier import LogTree, verify_bundle
from ledger.log import read_log
from ledger.migrate import migrate
from ledger.sample.loader import load_sample
from ledger.store import Database

T = TypeVar("T")
ORIGIN = "bench.jixiao.local/ledger"
BASE = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)


def templates() -> list[dict[str, object]]:
    """The sample ledger's records (as_json), the shapes the synthetic records copy."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite:///{tmp}/sample.db")
        migrate(db)
        ledger = Ledger(db)
        try:
            load_sample(ledger)
            return [r.as_json() for r in read_log(ledger)]
        finally:
            ledger.close()


def pieces(record: dict[str, object]) -> tuple[bytes, bytes, str, bytes, str, bytes]:
    """Canonical bytes split around the fields that vary per copy (keys sort as written)."""
    fixed = {**record, "aggregate_id": "@A@", "command_id": "@C@", "position": 0,
             "recorded_at": "@T@"}
    text = canonical_bytes(fixed).decode()
    head, rest = text.split('"@A@"', 1)
    middle, rest = rest.split('"@C@"', 1)
    payload, rest = rest.split('"position":0', 1)
    between, tail = rest.split('"@T@"', 1)
    return (head.encode(), middle.encode(), payload, between.encode(), str(
        record["aggregate_id"]), tail.encode())


def write_bundle(out: Path, events: int, every: int) -> tuple[int, float]:
    """Write events.jsonl, leaf-hashes.txt, checkpoints/ and public.key; returns bytes, secs."""
    started = time.perf_counter()
    signer = NoteSigner.generate(ORIGIN)
    shapes = [pieces(r) for r in templates()]
    (out / "checkpoints").mkdir(parents=True)
    frontier, written, position = CompactRange(), 0, 0
    with open(out / "events.jsonl", "wb") as f, open(out / "leaf-hashes.txt", "w") as hashes:
        copy = 0
        while position < events:
            ids: dict[str, str] = {}
            for head, middle, payload, between, aggregate, tail in shapes:
                if position >= events:
                    break
                position += 1
                new_id = ids.get(aggregate) or ids.setdefault(
                    aggregate, str(uuid.uuid5(uuid.NAMESPACE_OID, f"{copy}:{aggregate}")))
                moment = BASE + dt.timedelta(microseconds=position * 1234)
                line = b"".join((
                    head, b'"', new_id.encode(), b'"', middle, f'"bench-{position}"'.encode(),
                    payload.replace('"XS-2022-', f'"XS{copy}-2022-').encode(),
                    b'"position":', str(position).encode(), between, b'"',
                    moment.isoformat().encode(), b'"', tail))
                f.write(line + b"\n")
                digest = leaf_hash(line)
                hashes.write(digest.hex() + "\n")
                frontier.append(digest)
                written += len(line) + 1
                if position % every == 0 or position == events:
                    note = sign_note(Checkpoint.create(
                        ORIGIN, frontier.size, frontier.root(), position=position,
                        made_at=BASE + dt.timedelta(days=position // every)).body(), signer)
                    (out / "checkpoints" / f"{frontier.size:012d}.note").write_text(note)
            copy += 1
    (out / "public.key").write_text(signer.verifier().text() + "\n")
    return written, time.perf_counter() - started


def timed(action: Callable[[], T]) -> tuple[T, float]:
    gc.collect()
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000, help="checkpoint interval")
    parser.add_argument("--dir", type=Path, help="keep the bundle here (default: temp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.dir or Path(tmp) / "bundle"
        size, secs = write_bundle(out, args.events, args.every)
        print(f"bundle: {args.events:,} records, {size / 1e6:.0f} MB "
              f"({size / args.events:.0f} B/record) written in {secs:.1f} s")
        lines = (out / "events.jsonl").read_bytes().split(b"\n")[:-1]
        n = len(lines)

        def bare() -> None:
            sha = hashlib.sha256
            for line in lines:
                sha(line).digest()

        def tree() -> bytes:
            t = LogTree()
            add = t.add
            for line in lines:
                add(line)
            return t.root()

        _, bare_s = timed(bare)
        _, tree_s = timed(tree)
        report, full_s = timed(lambda: verify_bundle(out))
        _, strict_s = timed(lambda: verify_bundle(out, strict=True))
        rows = [
            ("bare hashlib.sha256 per line", f"{n / bare_s:,.0f}", f"{bare_s:.2f}", "1.00"),
            ("leaf hash + tree (LogTree)", f"{n / tree_s:,.0f}", f"{tree_s:.2f}",
             f"{tree_s / bare_s:.2f}"),
            ("verify_bundle (everything)", f"{n / full_s:,.0f}", f"{full_s:.2f}",
             f"{full_s / bare_s:.2f}"),
            ("verify_bundle strict (parse all)", f"{n / strict_s:,.0f}", f"{strict_s:.2f}",
             f"{strict_s / bare_s:.2f}"),
        ]
        print(f"python {platform.python_version()} on {platform.machine()}, "
              f"{len(report.checkpoints)} checkpoints, {len(report.tables)} tables, "
              f"{sum(len(t.rows) for t in report.tables):,} annex rows")
        print(table(rows, ("step", "records/s", "seconds", "x bare")))


if __name__ == "__main__":
    main()
