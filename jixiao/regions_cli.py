"""`jixiao regions add|list|migrate`: the routing table from the command line.

The routing table lives in the home database (`jixiao --database HOME` or
JIXIAO_DATABASE_URL); `regions add … --database URL` names where the region's own ledger lives.
"""

from __future__ import annotations

import argparse
from typing import Any

from ledger.errors import DomainError
from ledger.store import Database


def register(sub: Any) -> None:
    p = sub.add_parser("regions", help="regional ledgers: one per administrative region")
    actions = p.add_subparsers(dest="regions_action", required=True)

    add = actions.add_parser("add", help="create (migrate) a region's ledger and route to it")
    add.add_argument("code", help="administrative division code, e.g. 340603")
    add.add_argument("name", help="e.g. 相山区")
    # dest differs from the top-level --database (the home database), which it must not clobber
    add.add_argument("--database", dest="region_url", metavar="URL",
                     help="where the region's ledger lives, e.g. postgresql://u@host:5432/db"
                     "?schema=region_340603 (default: the home server, schema region_CODE)")
    add.set_defaults(handler=cmd_add)

    ls = actions.add_parser("list", help="code, name, server, schema and log position")
    ls.set_defaults(handler=cmd_list)

    mig = actions.add_parser("migrate", help="apply pending migrations to every region")
    mig.set_defaults(handler=cmd_migrate)


def cmd_add(args: argparse.Namespace, home: Database) -> int:
    from jixiao.regions import RegionRegistry

    try:
        region = RegionRegistry(home).add(args.code, args.name, args.region_url)
    except DomainError as exc:
        print(f"refused: {exc}")
        return 2
    db = region.database()
    where = f"schema {db.schema}" if db.backend == "postgres" else "file"
    print(f"region {region.code} {region.name}: {region.server} ({where}), migrated")
    return 0


def cmd_list(args: argparse.Namespace, home: Database) -> int:
    from jixiao.regions import RegionRegistry

    registry = RegionRegistry(home)
    regions = registry.regions()
    if not regions:
        print("no regions (add one: jixiao regions add CODE NAME --database URL)")
        return 0
    heads = registry.heads(regions)
    rows: list[tuple[str, ...]] = [("code", "name", "server", "schema", "position")]
    for r in regions:
        db = r.database()
        rows.append((r.code, r.name, r.server, db.schema if db.backend == "postgres" else "-",
                     str(heads.get(r.code, "?"))))
    print(columns(rows))
    return 0


def cmd_migrate(args: argparse.Namespace, home: Database) -> int:
    from jixiao.regions import RegionRegistry

    for code, applied in RegionRegistry(home).migrate_all().items():
        print(f"region {code}: {', '.join(applied) or 'nothing new'}")
    return 0


def columns(rows: list[tuple[str, ...]]) -> str:
    """Plain aligned columns (CJK names count double), easy to read and to grep."""
    def width(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)

    widths = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell + " " * (w - width(cell)) for cell, w in
                               zip(r, widths, strict=True)).rstrip() for r in rows)
