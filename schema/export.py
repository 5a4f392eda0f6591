"""`python -m schema.export [--check] [-o FILE]`: the same as `jixiao schema export`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from schema.cli import export_schema


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schema.export")
    parser.add_argument("--output", "-o", help="target file ('-' for stdout)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    return export_schema(args.output, check=args.check)


if __name__ == "__main__":
    raise SystemExit(main())
