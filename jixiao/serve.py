"""`jixiao serve`: migrate, optionally load the sample, and run the assembled app (jixiao.app),
in one process or, with `--workers N`, in N processes sharing the port (uvicorn's supervisor
starts them after the parent migrated: migrations never race). docs/scaling.md: Workers.

It lives here rather than with the API because serving needs the whole assembly: the routing
table and the standbys as well as the GraphQL app.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.store import Database

if TYPE_CHECKING:
    from starlette.applications import Starlette

CHECKPOINT_EVERY_SETTING = "JIXIAO_CHECKPOINT_EVERY"
CHECK_VIEWS_EVERY_SETTING = "JIXIAO_CHECK_VIEWS_EVERY"
CHECKPOINT_EVERY = 60.0  # seconds an event may stay unsealed, at most (plus one seal)
CHECK_VIEWS_EVERY = 300.0  # seconds a changed view row may be served before it is noticed
WORKER_SETTING = "JIXIAO_SERVE_WORKER"  # what the parent tells the worker processes it starts
METRICS_DIR_SETTING = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's, read by schema.metrics
# How long a worker may take to answer the supervisor's first ping: a new process imports the
# whole service and catches its views up first; on a busy machine that is well past uvicorn's
# default 5 s, and a worker killed for it would be started again, and again.
WORKER_START_SECONDS = 60


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve the GraphQL API (and GraphiQL) at /graphql")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--sample", action="store_true",
                   help="load the 相山区 2022 sample first if the ledger is empty")
    p.add_argument("--dev", action="store_true",
                   help="development mode: unmasked errors and tracebacks, and print a "
                   "finance_bureau dev token")
    p.add_argument("--write-url", metavar="URL",
                   help="the primary that takes commands (default: --database / "
                        "JIXIAO_DATABASE_URL)")
    p.add_argument("--read-url", action="append", default=[], metavar="URL",
                   help="a PostgreSQL hot standby to answer queries from (repeatable); a "
                        "query is answered there only once it has replayed the position the "
                        "query asks for, else by the primary")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes sharing the port (default: the CPU count on "
                        "PostgreSQL, 1 on SQLite, which allows no more)")
    p.add_argument("--read-threads", type=int, default=2, metavar="N",
                   help="threads for storage reads (default 2; more mostly adds contention)")
    p.add_argument("--write-threads", type=int, default=2, metavar="N",
                   help="threads for commands (default 2)")
    p.add_argument("--checkpoint-every", type=float, metavar="SECONDS",
                   help="seal and sign a checkpoint this often, if a signing key is configured "
                        f"(default {CHECKPOINT_EVERY:g}, or {CHECKPOINT_EVERY_SETTING}; 0: never)")
    p.add_argument("--check-views-every", type=float, metavar="SECONDS",
                   help="compare the views with a replay of the sealed log this often "
                        f"(default {CHECK_VIEWS_EVERY:g}, or {CHECK_VIEWS_EVERY_SETTING}; 0: "
                        "never); a difference shows at /health and stops checkpoint citations")
    p.add_argument("--log-format", choices=["text", "json"],
                   help="log lines as text (default) or one JSON object each (default from "
                        "JIXIAO_LOG_FORMAT; jixiao.logs)")
    p.set_defaults(handler=cmd_serve)


def interval(given: float | None, setting: str, default: float) -> float:
    """An interval from the option, else the environment, else the default; a negative,
    infinite or malformed one is refused by name before anything starts."""
    raw = str(given) if given is not None else os.environ.get(setting, "").strip()
    name = "--" + setting.removeprefix("JIXIAO_").lower().replace("_", "-") \
        if given is not None else setting
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: give a number of seconds (0 turns it off)") from None
    if not 0 <= value < float("inf"):
        raise SystemExit(f"{name}={raw!r}: give a non-negative, finite number of seconds")
    return value


def workers_for(db: Database, given: int | None) -> int:
    """How many worker processes: the CPU count on PostgreSQL, one on SQLite.

    SQLite is refused more than one: it has no LISTEN, so every worker would poll the file
    for "now" on every query, and its single writer lock would be fought over by every
    worker's commands and catch-ups, costing more than a second core brings."""
    if given is not None and given < 1:
        raise SystemExit(f"--workers={given}: give at least 1")
    if db.backend != "postgres":
        if given is not None and given > 1:
            raise SystemExit(f"--workers={given}: a {db.backend} ledger is served by one "
                             "worker (no LISTEN for appends, one writer at a time); use "
                             "PostgreSQL for more")
        return 1
    if given is not None:
        return given
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1


def worker_app() -> Starlette:
    """One worker's app, built in each process uvicorn starts (`factory=True`) from the
    settings `cmd_serve` left in the environment: migrations and the sample already ran,
    once, in the parent."""
    from jixiao.app import create_app
    from ledger.orphans import exit_when_orphaned

    exit_when_orphaned()  # the supervisor killed outright must not leave workers serving
    settings = json.loads(os.environ[WORKER_SETTING])
    return create_app(Database.from_url(settings["url"]), dev=settings["dev"], warm_pdf=True,
                      read_threads=settings["read_threads"],
                      write_threads=settings["write_threads"],
                      replicas=[Database.from_url(url) for url in settings["read_urls"]],
                      checkpoint_every=settings["checkpoint_every"],
                      check_views_every=settings["check_views_every"], one_of_many=True,
                      export_dir=Path(settings["export_dir"]))


def prepare(db: Database, *, sample: bool) -> int:
    """Migrate, and load the sample into an empty ledger; returns the last position."""
    from ledger.application import Ledger
    from ledger.migrate import migrate
    from ledger.sample.loader import load_sample
    from ledger.sample.signing import prepare_sample_key, sign_sample

    migrate(db)
    ledger = Ledger(db)
    try:
        position = int(ledger.recorder.max_notification_id() or 0)
        if sample and position == 0:
            prepare_sample_key(db)
            position = load_sample(ledger, publish=True)
            print(sign_sample(db, ledger), file=sys.stderr)
        return position
    finally:
        ledger.close()


def cmd_serve(args: argparse.Namespace, db: Database) -> int:
    import uvicorn

    from jixiao.app import create_app
    from jixiao.logs import log_format, log_options
    from schema.app import MAX_BODY

    checkpoint_every = interval(args.checkpoint_every, CHECKPOINT_EVERY_SETTING, CHECKPOINT_EVERY)
    check_views_every = interval(args.check_views_every, CHECK_VIEWS_EVERY_SETTING,
                                 CHECK_VIEWS_EVERY)
    logs = log_format(args.log_format)
    if args.write_url:
        db = Database.from_url(args.write_url)

    position = prepare(db, sample=args.sample)
    if args.dev:  # the easy local path: never on by default
        from ledger.tokens import TokenStore

        info, secret = TokenStore(db).create("finance_bureau", "dev (jixiao serve --dev)")
        print(f"dev token {info.id} (finance_bureau); send it as\n"
              f"  Authorization: Bearer {secret}", file=sys.stderr)
    workers = workers_for(db, args.workers)
    print(f"ledger on {db.backend} at position {position}; GraphQL at "
          f"http://{args.host}:{args.port}/graphql ({workers} worker"
          f"{'s' if workers > 1 else ''})", file=sys.stderr)
    log_level = "info" if args.dev else "warning"
    if workers > 1:
        with tempfile.TemporaryDirectory(prefix="jixiao-exports-") as export_dir:  # 0700
            os.environ[WORKER_SETTING] = json.dumps({
                "url": db.url, "dev": args.dev, "read_threads": args.read_threads,
                "write_threads": args.write_threads, "read_urls": args.read_url,
                "checkpoint_every": checkpoint_every, "check_views_every": check_views_every,
                "export_dir": export_dir})
            if not os.environ.get(METRICS_DIR_SETTING):  # /metrics sums every worker's values
                metrics_dir = Path(export_dir) / "metrics"
                metrics_dir.mkdir()
                os.environ[METRICS_DIR_SETTING] = str(metrics_dir)
            uvicorn.run("jixiao.serve:worker_app", factory=True, host=args.host,
                        port=args.port, workers=workers, ws_max_size=MAX_BODY,
                        log_level=log_level, timeout_worker_healthcheck=WORKER_START_SECONDS,
                        **log_options(logs, log_level))
        return 0
    app = create_app(db, dev=args.dev, warm_pdf=True, read_threads=args.read_threads,
                     write_threads=args.write_threads,
                     replicas=[Database.from_url(url) for url in args.read_url],
                     checkpoint_every=checkpoint_every, check_views_every=check_views_every)
    uvicorn.run(app, host=args.host, port=args.port, workers=1, ws_max_size=MAX_BODY,
                log_level=log_level, **log_options(logs, log_level))
    return 0
