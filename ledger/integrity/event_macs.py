"""Event MACs: each appended event authenticated with a key the database never holds.

Anyone with SQL can append a row to the event store, and compute its leaf hash too, so a leaf
proves nothing about who appended the event. A process that has the signing key file writes,
in the same transaction as the events it appends, HMAC-SHA256 over each stored row and its
position, under a key derived from the signing key (ledger.integrity.keys.events_key). The
sealer seals only authenticated events, so a row appended behind the application's back is
named by `jixiao verify` and never sealed by a checkpoint.

Events appended while no key was configured (e.g. commands run before `jixiao keys init`)
carry no MAC. They are trusted on first use: the first seal MACs the events without a MAC
that precede every authenticated one (in one transaction, before it seals anything). From
then on an event without a valid MAC is
refused until the operator removes it or vouches for it (`jixiao checkpoint --adopt N`).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.integrity.checkpoint import NoteSigner
from ledger.integrity.keys import events_key, key_file, load_key
from ledger.store import Database, fetchall, fetchone

MAC_TABLE = "integrity_event_macs"
_DOMAIN = b"jixiao event v1\n"
RECHECK_SECONDS = 1.0  # how soon a process started before `jixiao keys init` finds the key


def _originator(value: Any) -> str:
    """The aggregate id as 32 hex digits, however the store hands it back."""
    if isinstance(value, UUID):
        return value.hex
    try:
        return UUID(str(value)).hex
    except ValueError:
        return str(value)


def event_mac(key: bytes, position: int, originator_id: Any, version: int, topic: str,
              state: bytes) -> bytes:
    """The MAC of one stored row at its position: what a forger without the key cannot make."""
    head = f"{int(position)}\n{_originator(originator_id)}\n{int(version)}\n{topic}\n"
    return hmac.new(key, _DOMAIN + head.encode() + bytes(state), hashlib.sha256).digest()


def note_mac(key: bytes, note: Any) -> bytes:
    """event_mac of a notification read back from the store."""
    return event_mac(key, int(note.id), note.originator_id, int(note.originator_version),
                     str(note.topic), bytes(note.state))


def mac_rows(key: bytes, positions: Sequence[int],
             stored_events: Sequence[Any]) -> list[tuple[int, bytes]]:
    """(position, mac) for events just inserted at `positions` (same order)."""
    return [(int(p), event_mac(key, int(p), e.originator_id, int(e.originator_version),
                               str(e.topic), bytes(e.state)))
            for p, e in zip(positions, stored_events, strict=True)]


class EventKey:
    """The key this process authenticates its appends with: set explicitly, or read lazily
    from the signing key file (so a process started before `jixiao keys init` finds it)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._key: bytes | None = None
        self._looked = float("-inf")
        self._lock = threading.Lock()

    def use(self, signer: NoteSigner) -> None:
        self._key = events_key(signer)

    def get(self) -> bytes | None:
        if self._key is not None:
            return self._key
        with self._lock:
            now = time.monotonic()
            if self._key is None and now - self._looked >= RECHECK_SECONDS:
                self._looked = now
                if key_file(self.db).exists():  # an unreadable file fails the save: loudly
                    self._key = events_key(load_key(self.db))
        return self._key


@dataclass(frozen=True)
class Unauthenticated:
    """An event the application cannot vouch for, and why."""

    position: int
    reason: str

    def __str__(self) -> str:
        return f"position {self.position}: {self.reason}"


NO_MAC = ("no MAC: appended behind the application's back (by SQL), or by a process without "
          "the signing key")
BAD_MAC = "its MAC does not match: the stored event was changed after it was appended"


def stored_macs(db: Database, conn: Any, first: int, last: int) -> dict[int, bytes]:
    rows = fetchall(db, conn, f"SELECT position, mac FROM {MAC_TABLE} WHERE position >= ? "
                    "AND position <= ?", (first, last))
    return {int(p): bytes(m) for p, m in rows}


def first_authenticated(db: Database, conn: Any) -> int | None:
    """The position of the first event appended with a key, if any."""
    row = fetchone(db, conn, f"SELECT MIN(position) FROM {MAC_TABLE}")
    return None if row is None or row[0] is None else int(row[0])


def trusted_below(db: Database, conn: Any, sealed_size: int) -> int:
    """Events below this position may lack a MAC (trusted on first use): before the first
    seal, those that precede every authenticated event; after it, none."""
    if sealed_size > 0:
        return 0
    first = first_authenticated(db, conn)
    return (1 << 62) if first is None else first


def check(key: bytes, notes: Iterable[Any], macs: dict[int, bytes],
          below: int) -> Iterator[tuple[Any, Unauthenticated | None]]:
    """Each note with None if it is authenticated, else what is wrong with it."""
    for note in notes:
        position = int(note.id)
        stored = macs.get(position)
        if stored is None:
            yield note, None if position < below else Unauthenticated(position, NO_MAC)
        elif hmac.compare_digest(stored, note_mac(key, note)):
            yield note, None
        else:
            yield note, Unauthenticated(position, BAD_MAC)
