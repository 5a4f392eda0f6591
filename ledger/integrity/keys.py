"""Where the log's signing key lives, and the keys derived from it.

The key file is the one secret the database never holds: it signs checkpoints, and a second
key derived from it authenticates every event the application appends (ledger.integrity.
event_macs). Anyone with SQL but without this file can neither sign nor authenticate.
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger.integrity.checkpoint import NoteSigner, load_signer
from ledger.store import Database

KEY_SETTING = "JIXIAO_KEY_FILE"
KEY_FILE_NAME = "jixiao-signing.key"
EVENTS_KEY_LABEL = b"jixiao/event-mac/v1"


def key_file(db: Database | None = None) -> Path:
    """JIXIAO_KEY_FILE, else jixiao-signing.key next to a SQLite database, else in the cwd."""
    configured = os.environ.get(KEY_SETTING)
    if configured:
        return Path(configured)
    if db is not None and db.backend == "sqlite":
        return Path(db.sqlite_path).parent / KEY_FILE_NAME
    return Path.cwd() / KEY_FILE_NAME


def load_key(db: Database | None = None) -> NoteSigner:
    path = key_file(db)
    if not path.exists():
        raise FileNotFoundError(f"no signing key at {path}: run `jixiao keys init` (or set "
                                f"{KEY_SETTING})")
    return load_signer(path)


def events_key(signer: NoteSigner) -> bytes:
    """The MAC key for appended events: derived from the signing key, never stored."""
    return signer.derive(EVENTS_KEY_LABEL)
