"""Worker processes end with the process that started them.

A parent killed outright (SIGKILL, the OOM killer) runs no clean-up, so its workers would go
on: `jixiao serve --workers N` workers holding the port and their connections, or a rebuild's
view processes. Each worker watches its parent instead and exits once it is gone (nothing is
lost: a worker's commits are its own, and a view resumes from its tracked position).
"""

from __future__ import annotations

import os
import threading
import time


def exit_when_orphaned(parent: int | None = None, every: float = 1.0) -> threading.Thread:
    """Watch `parent` (by default the current parent) from a daemon thread; when this process
    is handed to another parent, end it at once."""
    watched = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == watched:
            time.sleep(every)
        os._exit(70)  # EX_SOFTWARE: not a clean shutdown, and nothing to flush

    thread = threading.Thread(target=watch, name="exit-when-orphaned", daemon=True)
    thread.start()
    return thread
