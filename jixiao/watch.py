"""The server's integrity watch: sign checkpoints, and check the views, on intervals.

Without it, an event appended by SQL stays unsealed (and unnoticed) until someone runs
`jixiao checkpoint`, and a view row changed by SQL is served, with a checkpoint cited for it,
until someone runs `jixiao verify`. The watch seals and signs every `checkpoint_every` seconds
(only events the application authenticated: ledger.integrity.event_macs), then compares the
views with a replay of the sealed log every `check_views_every` seconds. What it finds goes to
the read model's IntegrityStatus (GET /health, and no checkpoint cited while the views differ)
and to the log. `jixiao serve` turns it on (jixiao.serve: every 60 s and 300 s by default).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from ledger.application import Ledger
from ledger.integrity.sealer import UnauthenticatedEvent
from ledger.integrity.service import checkpoint_now, load_key
from ledger.store import Database
from projections.view_check import ViewCheck, ViewStatus, describe
from projections.views import ReadModel

log = logging.getLogger("jixiao.integrity")


class Leadership:
    """Whether this process is the one of a server's workers that runs the watch: whoever
    holds a PostgreSQL session advisory lock (per schema) on a connection of its own. A
    worker that dies releases it with its connection, and another takes it on its next try."""

    def __init__(self, db: Database) -> None:
        self.db = db
        digest = hashlib.sha256(f"jixiao-watch|{db.schema}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.conn: Any = None

    def held(self) -> bool:
        if self.conn is not None:
            try:
                self.conn.execute("SELECT 1")
                return True
            except Exception:  # the connection, and so the lock, is gone: try again
                self.close()
        try:
            conn = self.db.connect()
        except Exception:
            return False
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if row and row[0]:
            self.conn = conn
            return True
        conn.close()
        return False

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


class IntegrityWatch:
    """One thread running both jobs in turn; an interval of None or 0 turns a job off.

    With `leadership` (a server with several workers), the jobs run only in the worker that
    holds it: checkpoints are signed once, not once per worker."""

    def __init__(self, db: Database, ledger: Ledger, read: ReadModel, *,
                 checkpoint_every: float | None = None,
                 check_views_every: float | None = None,
                 leadership: Leadership | None = None) -> None:
        self.db = db
        self.leadership = leadership
        self.ledger = ledger
        self.read = read
        self.every = {"seal": checkpoint_every or 0.0, "views": check_views_every or 0.0}
        self.views = ViewCheck(db, ledger)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self._no_key_said = False

    def start(self) -> None:
        if self.thread is None and any(self.every.values()):
            self.thread = threading.Thread(target=self._run, name="integrity-watch",
                                           daemon=True)
            self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        if self.leadership is not None:
            self.leadership.close()
        self.views.close()

    def _run(self) -> None:
        due = {job: time.monotonic() for job, every in self.every.items() if every > 0}
        jobs = {"seal": self.seal_once, "views": self.check_views_once}
        while not self.stopping.is_set():
            leading = self.leadership is None or self.leadership.held()
            for job in sorted(due):  # "seal" first: the views are compared where it sealed
                if due[job] <= time.monotonic():
                    if leading:
                        jobs[job]()
                    due[job] = time.monotonic() + self.every[job]
            self.stopping.wait(max(0.0, min(due.values()) - time.monotonic()))

    def seal_once(self) -> None:
        """Seal what the application authenticated and sign a checkpoint of it."""
        status = self.read.integrity
        try:
            signer = load_key(self.db)
        except FileNotFoundError as exc:
            if not self._no_key_said:
                log.warning("no checkpoints are signed: %s", exc)
                self._no_key_said = True
            return
        try:
            checkpoint_now(self.db, self.ledger, signer)
        except UnauthenticatedEvent as exc:
            if status.sealing_error != str(exc):
                log.error("sealing stopped: %s", exc)
            status.sealing_error = str(exc)
            return
        except Exception as exc:  # storage trouble: say so, try again next time
            log.exception("signing a checkpoint failed")
            status.sealing_error = f"{type(exc).__name__}: {exc}"
            return
        status.sealing_error = None
        status.sealed_at = datetime.now(UTC)

    def check_views_once(self) -> None:
        """Compare the views with a replay of the sealed log; a failed check keeps what the
        last one found (a difference is not forgotten because the check broke)."""
        status = self.read.integrity
        try:
            found = self.views.run(self.read.catch_up())
        except Exception as exc:
            log.exception("checking the views failed")
            before = status.views
            status.views = ViewStatus(position=before.position, sealed=before.sealed,
                                      differences=before.differences,
                                      checked_at=datetime.now(UTC),
                                      error=f"{type(exc).__name__}: {exc}")
            return
        if found.differ and found.differences != status.views.differences:  # once, not
            log.error("%s", "\n".join(describe(found)))  # every round
        elif status.views.differ:
            log.warning("%s (they differed before)", describe(found)[0])
        if found.differ:
            status.views_found_differing += 1
        status.views = found
