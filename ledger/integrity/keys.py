"""Where the log's signing key lives, and the keys derived from it.

The key file is the one secret the database never holds: it signs checkpoints, and a second
key derived from it authenticates every event the application appends (ledger.integrity.
event_macs). Anyone with SQL but without this file can neither sign nor authenticate.

Its default home is the user's data directory (XDG: `$XDG_DATA_HOME/jixiao/keys`, else
`~/.local/share/jixiao/keys`), never the working directory, which is often a checkout that
gets committed or copied. One file per database (its name says which), so two ledgers never
sign with one key. `JIXIAO_KEY_FILE` names the file instead (production: see docs/deploy.md).

A development key (`jixiao sample load`, `jixiao serve --sample` with no key configured) is
an ordinary key whose name ends in `-dev`: every signature line it makes says so, and the
portal and `jixiao audit verify` say so too.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ledger.integrity.checkpoint import DEV_KEY_SUFFIX as DEV_KEY_SUFFIX
from ledger.integrity.checkpoint import NoteSigner, NoteVerifier, init_key_file, load_signer
from ledger.integrity.checkpoint import is_dev_key as is_dev_key
from ledger.store import Database

KEY_SETTING = "JIXIAO_KEY_FILE"
KEY_FILE_NAME = "jixiao-signing.key"  # the name when no database is given
EVENTS_KEY_LABEL = b"jixiao/event-mac/v1"


def data_dir() -> Path:
    """The per-user data directory (XDG base directories): never the working tree."""
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "jixiao"


def database_label(db: Database) -> str:
    """A file-name-safe name for one database: readable part plus a hash of where it is."""
    if db.backend == "sqlite":
        where, readable = db.sqlite_path, Path(db.sqlite_path).stem
    elif db.backend == "postgres":
        where = f"{db.host}:{db.port}/{db.dbname}?schema={db.schema}"
        readable = f"{db.dbname}.{db.schema}"
    else:
        where, readable = db.url, db.backend
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in readable)[:40] or "ledger"
    return f"{safe}-{hashlib.sha256(where.encode()).hexdigest()[:12]}"


def key_file(db: Database | None = None) -> Path:
    """JIXIAO_KEY_FILE, else the database's key file in the per-user data directory."""
    configured = os.environ.get(KEY_SETTING)
    if configured:
        return Path(configured)
    name = KEY_FILE_NAME if db is None else f"{database_label(db)}.key"
    return data_dir() / "keys" / name


def key_configured() -> bool:
    """Whether the operator named a key file (then nothing makes a key on their behalf)."""
    return bool(os.environ.get(KEY_SETTING))


def create_key(db: Database | None, name: str) -> tuple[Path, NoteVerifier]:
    """`jixiao keys init`: a new key at key_file(db) (0600, in a 0700 directory made if
    missing); never overwrites."""
    path = key_file(db)
    if not key_configured():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        os.chmod(path.parent.parent, 0o700)
    return path, init_key_file(path, name)


def dev_key_name(origin: str) -> str:
    return origin + DEV_KEY_SUFFIX


def ensure_dev_key(db: Database, origin: str) -> NoteSigner | None:
    """The database's key if it has one; else, when the operator configured none, a new
    development key (name ending `-dev`). None when a configured key file is missing."""
    path = key_file(db)
    if path.exists():
        return load_signer(path)
    if key_configured():
        return None
    create_key(db, dev_key_name(origin))
    return load_signer(path)


def load_key(db: Database | None = None) -> NoteSigner:
    path = key_file(db)
    if not path.exists():
        raise FileNotFoundError(f"no signing key at {path}: run `jixiao keys init` (or set "
                                f"{KEY_SETTING})")
    return load_signer(path)


def events_key(signer: NoteSigner) -> bytes:
    """The MAC key for appended events: derived from the signing key, never stored."""
    return signer.derive(EVENTS_KEY_LABEL)
