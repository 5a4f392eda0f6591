"""Keep views caught up in the background: woken by LISTEN/NOTIFY on PostgreSQL, and polling
always (notifications can be lost; SQLite has none)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ledger.store import Database
from projections.projector import ConcurrentProjector, Runner

log = logging.getLogger("jixiao.projections")
CHANNEL = "jixiao_events"  # every append notifies it, naming its schema (migrations 004, 008)
STOP_CHECK_SECONDS = 0.1  # how long stop() may wait for the listening thread


class Listener:
    """LISTENs for appends to its store on a connection of its own and calls `heard` for each.

    `listening` is true only while the LISTEN connection is up: whoever trusts the silence
    must check it, and is told (`heard` again) when a lost connection is back, since
    notifications sent meanwhile are gone.
    """

    def __init__(self, db: Database, heard: Callable[[], None], poll_seconds: float = 1.0) -> None:
        self.db = db
        self.heard = heard
        self.poll_seconds = poll_seconds
        self.listening = False
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._listen, name="jixiao-listen", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=self.poll_seconds + 5)

    def _listen(self) -> None:
        while not self.stopping.is_set():
            conn: Any = None
            try:
                conn = self.db.connect()
                conn.execute(f"LISTEN {CHANNEL}")
                self.listening = True
                self.heard()  # anything appended while we were not listening
                while not self.stopping.is_set():
                    for note in conn.notifies(timeout=STOP_CHECK_SECONDS, stop_after=1):
                        if note.payload == self.db.schema:  # not another store's append
                            self.heard()
            except Exception:
                self.listening = False
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                self.stopping.wait(self.poll_seconds)
            finally:
                self.listening = False
                if conn is not None:
                    conn.close()


class Follower:
    """Catches a runner up whenever appends are heard, and every `poll_seconds` anyway."""

    def __init__(self, db: Database, runner: Runner, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.runner = runner
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.threads: list[threading.Thread] = []
        self.listener = (Listener(db, self.wake.set, poll_seconds)
                         if db.backend == "postgres" else None)

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._loop, name="jixiao-projector", daemon=True)]
        for thread in self.threads:
            thread.start()
        if self.listener is not None:
            self.listener.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.listener is not None:
            self.listener.stop()
        for thread in self.threads:
            thread.join(timeout=5)

    def run_forever(self) -> None:
        self.start()
        try:
            while not self.stopping.wait(3600):
                pass
        finally:
            self.stop()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.runner.catch_up()
            except ConcurrentProjector:
                log.info("another projector advanced first; retrying")
            except Exception:
                log.exception("projection catch-up failed; will retry")
            self.wake.wait(self.poll_seconds)
            self.wake.clear()
