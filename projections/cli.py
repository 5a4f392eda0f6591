"""`jixiao projections …`, `jixiao replay` and `jixiao verify`: rebuild, status, follow, views as
they stood, and views (with the log) checked against a replay of the sealed log."""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from ledger.store import Database
from ledger.text import printable
from projections.stops import QuarantineRefused, ViewState, quarantine, view_states

VIEWS = ("event_index", "subjects", "disclosures")


def register(sub: Any) -> None:
    p = sub.add_parser("projections", help="rebuild and inspect the read models")
    p.add_argument("action", choices=["rebuild", "status", "catch-up", "follow", "hash",
                                      "quarantine"])
    p.add_argument("--view", choices=VIEWS, help="only this view (rebuild); the stopped view "
                   "(quarantine)")
    p.add_argument("--position", type=int, help="hash: the position to hash the views at; "
                   "quarantine: the event the view is stopped on")
    p.add_argument("--reason", help="quarantine: why the view may skip that event (recorded)")
    p.add_argument("--jobs", type=int, help="rebuild: processes side by side (default: 2 on "
                   "PostgreSQL, 1 on SQLite)")
    p.set_defaults(handler=cmd_projections)

    p = sub.add_parser("verify", help="re-check the event store against the sealed log, and "
                       "every view against a replay of it")
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser("replay", help="print the views as they stood at a moment")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--until", metavar="ISO-TIME", help="recorded time, with timezone")
    group.add_argument("--position", type=int)
    p.add_argument("--year", type=int, help="fiscal year (default: every year found)")
    p.set_defaults(handler=cmd_replay)


def cmd_projections(args: argparse.Namespace, db: Database) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from ledger.application import Ledger
    from ledger.migrate import migrate
    from projections.follow import Follower
    from projections.hashing import all_hashes
    from projections.projector import Runner
    from projections.rebuild import rebuild

    migrate(db)
    ledger = Ledger(db)
    runner = Runner(db, ledger)
    console = Console()
    head = int(ledger.recorder.max_notification_id() or 0)
    if args.action == "status":
        print_states(console, view_states(db, runner.conn, [v.name for v in runner.views]))
        return 0
    if args.action == "quarantine":
        return cmd_quarantine(args, db, console)
    if args.action == "hash":
        position = args.position if args.position is not None else runner.position()
        for view, digest in all_hashes(db, runner.conn, position).items():
            console.print(f"{view:12} {position:>10} {digest}")
        return 0
    if args.action == "follow":
        console.print(f"following the log of {db.backend} (Ctrl-C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            Follower(db, runner).run_forever()
        return 0
    start = 0 if args.action == "rebuild" else runner.position()
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task(f"{args.action} {args.view or 'all views'}",
                                 total=max(1, head - start))
        if args.action == "rebuild":
            runner.close()
            final = rebuild(db, [args.view] if args.view else None, jobs=args.jobs,
                            progress=lambda n: progress.advance(task, n))
        else:
            final = runner.catch_up(progress=lambda n: progress.advance(task, n))
        progress.update(task, completed=max(1, head - start))
    console.print(f"views at position {final}")
    conn = db.connect()
    try:
        states = view_states(db, conn, [v.name for v in runner.views])
    finally:
        conn.close()
    if any(state.stop is not None for state in states):
        print_states(console, states)  # the views stand before it; serving still works
    return 0


def print_states(console: Any, states: list[ViewState]) -> None:
    """One line per view; a stopped view says where, why and what to do (stored text is
    escaped: it is shown on a terminal)."""
    from rich.text import Text

    for state in states:
        console.print(Text(f"{state.name:12} position {state.position:>10}  lag {state.lag}"))
        if state.stop is not None and state.stop_quarantined:
            console.print(Text(f"  stopped before position {state.stop.position}, which is "
                               "quarantined: the next catch-up skips it"))
        elif state.stop is not None:
            console.print(Text(
                f"  STOPPED before position {state.stop.position} since "
                f"{state.stop.stopped_at}: {printable(state.stop.error)}\n"
                f"  reads answer as of position {state.stop.position - 1}; see README "
                "\"When a view stops\" (jixiao projections quarantine --view "
                f"{state.name} --position {state.stop.position} --reason …)", style="bold red"))
        for skipped in state.skipped:
            console.print(Text(
                f"  skips position {skipped.position} (quarantined {skipped.recorded_at} by "
                f"{printable(skipped.recorded_by)}: {printable(skipped.reason)})"))


def cmd_quarantine(args: argparse.Namespace, db: Database, console: Any) -> int:
    """Record that a stopped view skip the event it stopped on; the next catch-up goes on."""
    import getpass

    from rich.text import Text

    if args.view is None or args.position is None or args.reason is None:
        console.print("quarantine needs --view, --position and --reason")
        return 2
    try:
        entry = quarantine(db, args.view, args.position, args.reason,
                           recorded_by=f"cli:{getpass.getuser()}")
    except QuarantineRefused as exc:
        console.print(Text(f"refused: {printable(str(exc))}"))
        return 1
    console.print(Text(f"view {entry.view} will skip position {entry.position} (event sha256 "
                       f"{entry.event_sha256[:16]}…); recorded by {entry.recorded_by}"))
    return 0


def cmd_replay(args: argparse.Namespace, db: Database) -> int:
    from rich.console import Console

    from ledger.application import Ledger
    from ledger.cli import parse_time
    from projections.render import print_moment
    from projections.views import ReadModel

    read = ReadModel(db, Ledger(db))
    moment = read.resolve(position=args.position,
                          as_of=parse_time(args.until) if args.until else None)
    print_moment(Console(), read, moment, args.year)
    return 0


def cmd_verify(args: argparse.Namespace, db: Database) -> int:
    """The log (ledger.integrity.cli.verify_log), then each view against a replay of the
    sealed log at the sealed position (or as far as the views have come), read-only."""
    import sys

    from ledger.application import Ledger
    from ledger.integrity.cli import verify_log
    from projections.projector import Runner
    from projections.view_check import ViewCheck, describe

    log_ok = verify_log(db) == 0
    ledger = Ledger(db)
    runner = Runner(db, ledger)
    check = ViewCheck(db, ledger)
    try:
        status = check.run(runner.position())
    except Exception as exc:  # e.g. a view table dropped: that fails too
        print(f"FAILED: cannot compare the views with a replay of the log "
              f"({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    finally:
        check.close()
        runner.close()
        ledger.close()
    lines = describe(status)
    if status.differ:
        print(f"FAILED: {lines[0].removeprefix('views: ')}", file=sys.stderr)
        for line in lines[1:]:
            print(line, file=sys.stderr)
        return 1
    print(f"ok: {lines[0].removeprefix('views: ')}")
    return 0 if log_ok else 1
