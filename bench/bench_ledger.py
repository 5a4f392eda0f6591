"""Command path vs bare eventsourcing: single-command appends and batched imports.

The bare side saves exactly the same aggregates and events (the domain event plus the
command record) through eventsourcing's Application.save, with no validation, no
idempotency look-up and no rule checks: the ratio is what our command path costs.

    python bench/bench_ledger.py [--commands 2000] [--batch 500] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path

from eventsourcing.domain import Aggregate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh, rate, table
from ledger.application import Ledger
from ledger.domain.base import Meta
from ledger.domain.registry import CommandRecord, Unit
from ledger.domain.subject import Subject
from ledger.runtime import Actor

ACTOR = Actor(id="bench", role="finance_bureau")


def command(n: int, tag: str) -> dict[str, object]:
    return {"command_id": f"{tag}-{n:08d}", "code": f"{tag}-S{n:07d}",
            "name": f"基准项目{n}", "kind": "project", "fiscal_year": 2022,
            "unit_code": "BENCH-U", "funds": "123.45"}


def bare_aggregates(n: int, tag: str) -> list[Aggregate]:
    meta = Meta(actor_id="bench", actor_role="finance_bureau", command_id=f"{tag}-{n:08d}")
    subject = Subject(code=f"{tag}-S{n:07d}", name=f"基准项目{n}", kind="project",
                      fiscal_year=2022, unit_code="BENCH-U", funds=Decimal("123.45"),
                      is_new=False, is_key=False, tags=[], meta=meta)
    record = CommandRecord(command_id=meta.command_id, command="register_subject",
                           request_hash="0" * 64, result={"aggregate_id": str(subject.id)})
    return [subject, record]


def measure(backend: str, commands: int, batch: int) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    with fresh(backend) as db:
        app = Ledger(db)
        app.register_unit({"command_id": "bench-unit-0001", "code": "BENCH-U", "name": "基准单位"},
                          ACTOR)
        bare = Ledger(db)  # the same store and transcoder, used as a bare Application
        bare.save(Unit(code="BARE-U", name="x", kind="department", parent_code=None,
                       meta=Meta("b", "b", "b")))

        ours = rate(commands, lambda: [app.register_subject(command(i, "one"), ACTOR)
                                       for i in range(commands)])
        base = rate(commands, lambda: [bare.save(*bare_aggregates(i, "bareone"))
                                       for i in range(commands)])
        rows.append((backend, "single command", f"{ours:,.0f}", f"{base:,.0f}",
                     f"{ours / base:.0%}"))

        def ours_batches() -> None:
            for start in range(0, commands, batch):
                app.execute_batch([("register_subject", command(i, "imp"))
                                   for i in range(start, min(commands, start + batch))], ACTOR)

        def bare_batches() -> None:
            for start in range(0, commands, batch):
                aggregates = [a for i in range(start, min(commands, start + batch))
                              for a in bare_aggregates(i, "bareimp")]
                bare.save(*aggregates)

        ours = rate(commands, ours_batches)
        base = rate(commands, bare_batches)
        rows.append((backend, f"batched import ({batch}/tx)", f"{ours:,.0f}", f"{base:,.0f}",
                     f"{ours / base:.0%}"))
        app.close()
        bare.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    rows = []
    for backend in args.backends.split(","):
        rows.extend(measure(backend, args.commands, args.batch))
    print(table(rows, ("store", "workload", "ledger commands/s", "bare eventsourcing saves/s",
                       "ratio")))


if __name__ == "__main__":
    main()
