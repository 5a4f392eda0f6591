"""The event store's recorders, writing each event's MAC in the transaction that appends it.

eventsourcing builds these (APPLICATION_RECORDER_TOPIC, set by Database.eventsourcing_env);
the Ledger hands them its EventKey. Without a key they append exactly as eventsourcing's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

from ledger.integrity.event_macs import MAC_TABLE, EventKey, mac_rows


class AuthenticatingSQLiteRecorder(SQLiteApplicationRecorder):
    event_key: EventKey | None = None

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        key = None if self.event_key is None else self.event_key.get()  # before the lock
        with self.datastore.transaction(commit=True) as c:
            positions = self._insert_events(c, stored_events, **kwargs)
            if key is not None and positions:
                c.executemany(f"INSERT INTO {MAC_TABLE} (position, mac) VALUES (?, ?)",
                              mac_rows(key, positions, stored_events))
            return positions


class AuthenticatingPostgresRecorder(PostgresApplicationRecorder):
    event_key: EventKey | None = None

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        key = None if self.event_key is None else self.event_key.get()
        if key is None or not stored_events:
            plain: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return plain
        insert_macs = SQL("INSERT INTO {0}.{1} (position, mac) VALUES (%s, %s)").format(
            Identifier(self.datastore.schema), Identifier(MAC_TABLE))
        # No pipeline here: any failure, ours included, must roll the events back.
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor() as curs:
                self._insert_stored_events(curs, stored_events, **kwargs)
                positions = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
            with conn.cursor() as curs:
                curs.executemany(insert_macs, mac_rows(key, positions or (), stored_events))
        return positions
