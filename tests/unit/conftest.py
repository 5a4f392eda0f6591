"""Fixtures for unit tests: a ledger on eventsourcing's in-memory recorder, no database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.application import Ledger
from ledger.store import Database


@pytest.fixture
def memory_ledger() -> Iterator[Ledger]:
    """The real command path (validation, rules, permissions, idempotency), held in memory:
    for the aggregates' rules, in milliseconds. Views and SQL need a real store."""
    app = Ledger(Database.memory())
    try:
        yield app
    finally:
        app.close()
