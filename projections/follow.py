"""Keep views caught up in the background: woken by LISTEN/NOTIFY on PostgreSQL, and polling
always (notifications can be lost; SQLite has none)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from ledger.store import Database
from projections.projector import ConcurrentProjector, Runner

log = logging.getLogger("jixiao.projections")
CHANNEL = "jixiao_events"


class Follower:
    def __init__(self, db: Database, runner: Runner, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.runner = runner
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._loop, name="jixiao-projector", daemon=True)]
        if self.db.backend == "postgres":
            self.threads.append(threading.Thread(target=self._listen, name="jixiao-listen",
                                                 daemon=True))
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
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

    def _listen(self) -> None:
        while not self.stopping.is_set():
            conn: Any = None
            try:
                conn = self.db.connect()
                conn.execute(f"LISTEN {CHANNEL}")
                while not self.stopping.is_set():
                    for _ in conn.notifies(timeout=self.poll_seconds, stop_after=1):
                        self.wake.set()
            except Exception:
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                self.stopping.wait(self.poll_seconds)
            finally:
                if conn is not None:
                    conn.close()
