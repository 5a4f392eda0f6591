"""The `jixiao` command: every layer's command group under one entry point.

Each layer registers its own sub-commands (`register(subparsers)`) where they live; this is
the only module that knows them all, so no layer has to import upwards to be listed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import jixiao.regions_cli
import jixiao.serve
import ledger.cli
import ledger.importing.cli
import ledger.integrity.cli
import ledger.tokens_cli
import projections.cli
import projections.exports.cli
import projections.exports.monitoring_report
import projections.fiscal_year
import schema.cli
from ledger.errors import DomainError
from ledger.store import Database

Handler = Callable[[argparse.Namespace, Database], int]

# In the order `jixiao --help` lists them.
COMMAND_GROUPS: tuple[Callable[[Any], None], ...] = (
    ledger.cli.register,  # migrate, log, sample
    projections.cli.register,  # projections, replay
    projections.exports.cli.register,  # export, disclose
    projections.exports.monitoring_report.register,  # export-round
    projections.fiscal_year.register,  # close-year
    ledger.importing.cli.register,  # import-table
    jixiao.regions_cli.register,  # regions
    ledger.tokens_cli.register,  # tokens
    jixiao.serve.register,  # serve
    schema.cli.register,  # schema
    ledger.integrity.cli.register,  # keys, checkpoint, proof, audit, verify
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jixiao", description="绩效 budget performance ledger")
    parser.add_argument("--database", help="overrides JIXIAO_DATABASE_URL "
                        "(default sqlite:///./jixiao.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    for register in COMMAND_GROUPS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    db = Database.from_url(args.database)
    handler: Handler = args.handler
    try:
        return handler(args, db)
    except BrokenPipeError:
        return 0
    except DomainError as refusal:  # a refusal or an unavailable store: say it, no traceback
        print(f"jixiao: {refusal}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
