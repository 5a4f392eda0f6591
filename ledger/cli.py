"""`jixiao migrate`, `log` and `sample`: the write side's own commands.

Like every layer's command group, they are registered by the entry point (jixiao.cli), which
is the only module that knows them all. `parse_time` is here, the lowest layer, so that every
layer's commands can share it.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.store import Database


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone; write e.g. "
                                         "2022-09-30T18:00:00+08:00")
    return moment


def cmd_migrate(args: argparse.Namespace, db: Database) -> int:
    from ledger.migrate import migrate

    applied = migrate(db)
    print(f"migrated {db.backend} ({', '.join(applied) or 'nothing new'})")
    return 0


def cmd_log(args: argparse.Namespace, db: Database) -> int:
    from ledger.application import Ledger
    from ledger.domain.base import stable_id
    from ledger.log import read_log
    from ledger.text import printable_json

    app = Ledger(db)
    wanted: UUID | None = None
    if args.subject:
        try:
            wanted = UUID(args.subject)
        except ValueError:
            wanted = stable_id("subject", args.subject)
    out = sys.stdout
    for record in read_log(app, start=args.from_position):
        if args.until is not None and record.recorded_at > args.until:
            break
        if wanted is not None and record.aggregate_id != wanted:
            continue
        # Stored text reaches a terminal: escape what JSON leaves raw (DEL, C1, bidi).
        out.write(printable_json(json.dumps(record.as_json(), ensure_ascii=False)) + "\n")
    return 0


def cmd_sample(args: argparse.Namespace, db: Database) -> int:
    from ledger.application import Ledger
    from ledger.migrate import migrate
    from ledger.sample.loader import load_sample
    from ledger.sample.signing import prepare_sample_key, sign_sample

    migrate(db)
    prepare_sample_key(db)
    app = Ledger(db)
    try:
        position = load_sample(app, publish=True)
        print(f"sample loaded: 16 subjects of 相山区 2022, published; ledger position {position}")
        print(sign_sample(db, app))
    finally:
        app.close()
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("migrate", help="create or upgrade every table (idempotent)")
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("log", help="print events in global order as JSON lines")
    p.add_argument("--from", dest="from_position", type=int, default=1, metavar="POSITION")
    p.add_argument("--until", type=parse_time, metavar="ISO-TIME")
    p.add_argument("--subject", metavar="CODE-OR-ID")
    p.set_defaults(handler=cmd_log)

    p = sub.add_parser("sample", help="sample data")
    p.add_argument("action", choices=["load"])
    p.set_defaults(handler=cmd_sample)
