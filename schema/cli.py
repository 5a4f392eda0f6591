"""`jixiao schema export`: the GraphQL schema as an artifact, registered by jixiao.cli."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ledger.store import Database

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="the GraphQL schema as an artifact")
    p.add_argument("action", choices=["export"])
    p.add_argument("--output", "-o", help="write to this file ('-' for stdout; default "
                   "schema/schema.graphql)")
    p.add_argument("--check", action="store_true",
                   help="exit 1 if the committed schema differs from the code")
    p.set_defaults(handler=cmd_schema)


def cmd_schema(args: argparse.Namespace, db: Database) -> int:
    return export_schema(args.output, check=args.check)


def export_schema(output: str | None, *, check: bool = False) -> int:
    """Write the SDL generated from the code (or, with check, compare it to the file)."""
    from schema import schema_sdl

    sdl = schema_sdl()
    if check:
        current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
        if current != sdl:
            print(f"{SCHEMA_FILE} is out of date; run `jixiao schema export`", file=sys.stderr)
            return 1
        return 0
    if output == "-":
        sys.stdout.write(sdl)
        return 0
    target = Path(output) if output else SCHEMA_FILE
    target.write_text(sdl, encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    return 0
