"""`jixiao tokens create|list|revoke`: the operator issues and withdraws API credentials."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ledger.errors import DomainError
from ledger.store import Database
from ledger.text import printable


def register(sub: Any) -> None:
    p = sub.add_parser("tokens", help="API tokens: create (shown once), list, revoke")
    actions = p.add_subparsers(dest="tokens_action", required=True)
    create = actions.add_parser("create", help="issue a token; its secret is printed once")
    create.add_argument("--role", required=True)
    create.add_argument("--unit", help="budget_unit: the unit code it acts for")
    create.add_argument("--agency", help="agency: the agency code it acts for")
    create.add_argument("--name", required=True, help="who holds it (kept in the actor id)")
    create.set_defaults(handler=cmd_create)
    listing = actions.add_parser("list", help="every token (never the secrets)")
    listing.set_defaults(handler=cmd_list)
    revoke = actions.add_parser("revoke", help="withdraw a token by its id")
    revoke.add_argument("id")
    revoke.set_defaults(handler=cmd_revoke)


def _store(db: Database) -> Any:
    from ledger.migrate import migrate
    from ledger.tokens import TokenStore

    migrate(db)
    return TokenStore(db)


def cmd_create(args: argparse.Namespace, db: Database) -> int:
    try:
        info, secret = _store(db).create(args.role, args.name, unit=args.unit,
                                         agency=args.agency)
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"token {info.id} for {info.name} ({info.role}); the secret is shown only now:",
          file=sys.stderr)
    print(secret)
    return 0


def cmd_list(args: argparse.Namespace, db: Database) -> int:
    for t in _store(db).list():
        scope = t.unit_code or t.agency_code or "-"
        state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
        print(f"{t.id}\t{t.role}\t{printable(scope)}\t{printable(t.name)}\t{t.created_at}\t"
              f"{state}")  # names stored before the name rule may hold escape sequences
    return 0


def cmd_revoke(args: argparse.Namespace, db: Database) -> int:
    try:
        info = _store(db).revoke(args.id)
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"revoked {info.id} ({printable(info.name)}, {info.role}) at {info.revoked_at}")
    return 0
