"""A hash of each view's state at a position, so a rebuild can be compared with live upkeep."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from ledger.store import Database, fetchall
from projections.rows import SUBJECT_COLUMNS

VIEW_QUERIES = {
    "event_index": ("SELECT * FROM event_index WHERE position <= ? ORDER BY position", 1),
    "subjects": (
        f"SELECT {', '.join(c for c in SUBJECT_COLUMNS if c != 'valid_to')} FROM subject_rows "
        "WHERE valid_from <= ? AND valid_to > ? ORDER BY subject_id", 2),
    "disclosures": ("SELECT * FROM disclosure_rows WHERE position <= ? ORDER BY position", 1),
}


def _plain(value: Any) -> Any:
    # PostgreSQL hands back Decimal for BIGINT sums and ints; SQLite ints: make them agree.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else format(value, "f")
    return value


def view_hash(db: Database, conn: Any, view: str, position: int) -> str:
    sql, arity = VIEW_QUERIES[view]
    digest = hashlib.sha256()
    for row in fetchall(db, conn, sql, (position,) * arity):
        line = json.dumps([_plain(v) for v in row], ensure_ascii=False, separators=(",", ":"))
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def all_hashes(db: Database, conn: Any, position: int) -> dict[str, str]:
    return {view: view_hash(db, conn, view, position) for view in VIEW_QUERIES}
