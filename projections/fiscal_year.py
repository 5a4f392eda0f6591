"""A fiscal year's cycle (绩效管理年度) as read, and its closing, which signs its own proof.

Closing a year is recorded as a disclosure is (projections.exports.disclosure): a checkpoint
covering the log's head is signed just before, and the closing cites it — origin, size,
root, last position and the signed note — or says in words why there is none (no signing
key configured). Callers never supply the checkpoint: the API's input has no such field,
and the ledger checks what the service cites (ledger.integrity.citation).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ledger.annex import Provenance
from ledger.commands import CloseFiscalYear
from ledger.domain.fiscal_year import FiscalYear, year_id
from ledger.errors import InvalidInput
from ledger.runtime import SYSTEM, Actor, CommandResult
from ledger.store import Database
from projections.values import Moment
from projections.views import ReadModel

CLI_ACTOR = Actor(id="cli-close-year", role="finance_bureau")


@dataclass(frozen=True, slots=True)
class ClosingCheckpoint:
    """The signed checkpoint a closing cites: verify `note` with the log's public key."""

    origin: str
    size: int
    root: str  # base64, as in the note
    last_position: int  # the last event position the checkpoint covers
    note: str  # the signed note, verbatim (C2SP signed note)


@dataclass(frozen=True, slots=True)
class YearClosing:
    """When and at which position a year was closed, and the checkpoint it cites, if any."""

    closed_on: date | None
    position: int | None  # the Closed event's log position
    checkpoint: ClosingCheckpoint | None
    checkpoint_summary: str  # which checkpoint, or why there is none, in words


@dataclass(frozen=True, slots=True)
class FiscalYearCycle:
    """A fiscal year's cycle: opened, and closed with its proof (null while open)."""

    fiscal_year: int
    opened_on: date | None
    closing: YearClosing | None


def fiscal_year_cycle(read: ReadModel, moment: Moment, fiscal_year: int) -> FiscalYearCycle | None:
    """The year's cycle as of the moment; None if it was not opened by then."""
    year = read.aggregate_at(year_id(fiscal_year), moment)
    if not isinstance(year, FiscalYear):
        return None
    closing = None
    if year.closed_version is not None:
        found = read.rows("SELECT position FROM event_index WHERE aggregate_id = ? AND "
                          "version = ?", (str(year.id), year.closed_version))
        cited = year.checkpoint
        closing = YearClosing(
            closed_on=year.closed_on, position=int(found[0][0]) if found else None,
            checkpoint=None if cited is None else ClosingCheckpoint(
                origin=cited["origin"], size=int(cited["size"]), root=cited["root"],
                last_position=int(cited["last_position"]), note=cited["note"]),
            checkpoint_summary=year.checkpoint_summary)
    return FiscalYearCycle(fiscal_year=year.fiscal_year, opened_on=year.opened_on,
                           closing=closing)


def close_fiscal_year(read: ReadModel, data: Mapping[str, Any],
                      actor: Actor = SYSTEM) -> CommandResult:
    """Sign a checkpoint covering the head, then record close_fiscal_year citing it.

    Without a signing key the closing says "no checkpoint" in words; while the views differ
    from the sealed log it is refused (VIEWS_DIFFER_FROM_LOG), as a disclosure is.
    """
    from projections.exports.coverage_report import make_checkpoint

    supplied = sorted(CloseFiscalYear.SERVER_FIELDS & set(data))
    if supplied:
        raise InvalidInput(f"{supplied[0]}: the server signs the checkpoint a closing cites",
                           field=supplied[0], rule="server_signed")
    head = int(read.ledger.recorder.max_notification_id() or 0)
    checkpoint, status = make_checkpoint(read, Provenance(position=head, recorded_at=None),
                                         signed_for=f"this closing; it covers position {head}",
                                         refused="closing a fiscal year")
    cited = None if checkpoint is None else {**checkpoint, "note": status.signed}
    return read.ledger.close_fiscal_year(
        {**data, "checkpoint": cited, "checkpoint_summary": status.note}, actor)


# -- `jixiao close-year` -------------------------------------------------------------------

CLOSE_DESCRIPTION = """\
Close a fiscal year's performance cycle: it then takes no more budget requests or
transfers. With a signing key (JIXIAO_KEY_FILE, or the database's key in the per-user data
directory) a checkpoint covering the whole log is signed just before and the closing cites
it (origin, size, root and the signed note); without one, the closing says so. Running it
again for the same year answers with the recorded closing."""


def register(sub: Any) -> None:
    p = sub.add_parser("close-year", help="close a fiscal year, citing a signed checkpoint",
                       description=CLOSE_DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--year", type=int, required=True, help="fiscal year")
    p.add_argument("--effective-on", type=date.fromisoformat, metavar="YYYY-MM-DD",
                   help="the business date of the closing (default: none stated)")
    p.set_defaults(handler=cmd_close_year)


def cmd_close_year(args: argparse.Namespace, db: Database) -> int:
    from ledger.application import Ledger
    from ledger.errors import DomainError
    from ledger.migrate import migrate

    migrate(db)
    ledger = Ledger(db)
    read = ReadModel(db, ledger)
    data: dict[str, Any] = {"command_id": f"close-fiscal-year-{args.year}",
                            "fiscal_year": args.year}
    if args.effective_on is not None:
        data["effective_on"] = args.effective_on
    try:
        result = close_fiscal_year(read, data, CLI_ACTOR)
        year = ledger.load(year_id(args.year))
    except DomainError as exc:
        print(f"closing refused: {exc}", file=sys.stderr)
        return 2
    finally:
        read.close()
        ledger.close()
    assert isinstance(year, FiscalYear)
    again = " (already recorded)" if result.replayed else ""
    print(f"fiscal year {args.year} closed at ledger position {result.position}{again}")
    print(year.checkpoint_summary)
    return 0
