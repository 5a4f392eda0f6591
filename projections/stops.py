"""When a view cannot project a stored event: it stops before it, says so, and the operator
has a recorded way out.

An event stays in the log forever. If a view raised on it, every catch-up would raise on it
again, and with it every read, export and start-up. So the projector (projections.projector)
stops that view just before the event and the service answers as of the position before it;
the stop is recorded here, for every process, `jixiao projections status`, /readyz and the log
to see. The way out is a quarantine: a recorded, append-only decision that one view skip one
event, on every catch-up, rebuild and replay from then on (projections.feed.Feed.skipped). Only
the event a view is stopped on can be quarantined, and the quarantine binds to that event's
stored bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger.store import Database, fetchall, fetchone, transaction
from ledger.text import printable, text_problem


@dataclass(frozen=True)
class Stop:
    view: str
    position: int  # the event the view cannot project; the view stands just before it
    error: str  # what went wrong, safe to print
    stopped_at: str  # ISO time, UTC


@dataclass(frozen=True)
class Quarantine:
    view: str
    position: int
    event_sha256: str
    reason: str
    recorded_by: str
    recorded_at: str


@dataclass(frozen=True)
class ViewState:
    """A view as status and /readyz report it."""

    name: str
    position: int
    lag: int
    stop: Stop | None  # current: the view stands below it
    skipped: tuple[Quarantine, ...]  # quarantined events at or below its position
    stop_quarantined: bool = False  # the stop's event is quarantined: the next catch-up skips it


class ViewStopped(RuntimeError):
    """A position asked for lies at or past an event a view stopped on."""

    def __init__(self, position: int) -> None:
        super().__init__(f"the views stopped before position {position}")
        self.position = position


class QuarantineRefused(ValueError):
    """The quarantine asked for is not one the operator may record."""


def describe(error: BaseException) -> str:
    """An error in one printable line: its kind and the first line of its message."""
    message = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {message[0]}" if message else type(error).__name__
    return printable(text[:300])


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_stop(db: Database, conn: Any, view: str, position: int, error: str) -> Stop:
    """Within the caller's transaction: `view` stops before `position`."""
    stop = Stop(view=view, position=position, error=error, stopped_at=now())
    conn.execute(db.sql("DELETE FROM projection_stops WHERE view = ?"), (view,))
    conn.execute(db.sql("INSERT INTO projection_stops (view, position, error, stopped_at) "
                        "VALUES (?, ?, ?, ?)"), (view, position, error, stop.stopped_at))
    return stop


def clear_stop(db: Database, conn: Any, view: str) -> None:
    conn.execute(db.sql("DELETE FROM projection_stops WHERE view = ?"), (view,))


def stops(db: Database, conn: Any) -> dict[str, Stop]:
    """Every recorded stop, current or not (see ViewState.stop)."""
    return {str(r[0]): Stop(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in fetchall(
        db, conn, "SELECT view, position, error, stopped_at FROM projection_stops")}


def quarantines(db: Database, conn: Any, view: str | None = None) -> list[Quarantine]:
    where, params = ("WHERE view = ?", (view,)) if view is not None else ("", ())
    return [Quarantine(str(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]))
            for r in fetchall(db, conn, "SELECT view, position, event_sha256, reason, "
                              f"recorded_by, recorded_at FROM projection_quarantine {where} "
                              "ORDER BY view, position", params)]


def is_quarantined(db: Database, conn: Any, view: str, position: int) -> bool:
    return fetchone(db, conn, "SELECT 1 FROM projection_quarantine WHERE view = ? AND "
                    "position = ?", (view, position)) is not None


def event_digest(topic: str, state: bytes | memoryview) -> str:
    """What a quarantine binds to: the event's type and stored bytes."""
    return hashlib.sha256(topic.encode() + b"\n" + bytes(state)).hexdigest()


def quarantine(db: Database, view: str, position: int, reason: str,
               recorded_by: str) -> Quarantine:
    """Record that `view` skip the event at `position`, on which it is stopped now.

    Only the event a view is stopped on can be quarantined, and the reason is kept with who
    recorded it; the row cannot be changed or removed afterwards.
    """
    if not reason.strip():
        raise QuarantineRefused("a quarantine needs a reason")
    problem = text_problem(reason)
    if problem is not None:
        raise QuarantineRefused(f"reason: {problem}")
    conn = db.connect()
    try:
        with transaction(db, conn):
            tracked = fetchone(db, conn, "SELECT position FROM projection_tracking WHERE "
                               "view = ?", (view,))
            stop = stops(db, conn).get(view)
            standing = int(tracked[0]) if tracked else 0
            if stop is None or stop.position != position or standing >= position:
                where = (f"it is stopped before {stop.position}" if stop is not None
                         and standing < stop.position else "it is not stopped")
                raise QuarantineRefused(f"view {view} is not stopped before position "
                                        f"{position} ({where}); only the event a view is "
                                        "stopped on can be quarantined")
            row = fetchone(db, conn, f"SELECT topic, state FROM {db.events_table} WHERE "
                           f"{db.position_column} = ?", (position,))
            if row is None:  # pragma: no cover - a stop names an event that was read
                raise QuarantineRefused(f"no event at position {position}")
            if is_quarantined(db, conn, view, position):
                raise QuarantineRefused(f"view {view}: position {position} is already "
                                        "quarantined")
            entry = Quarantine(view=view, position=position,
                               event_sha256=event_digest(str(row[0]), row[1]),
                               reason=reason.strip(), recorded_by=recorded_by,
                               recorded_at=now())
            conn.execute(db.sql(
                "INSERT INTO projection_quarantine (view, position, event_sha256, reason, "
                "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?)"),
                (entry.view, entry.position, entry.event_sha256, entry.reason,
                 entry.recorded_by, entry.recorded_at))
        return entry
    finally:
        conn.close()


def view_states(db: Database, conn: Any, names: list[str]) -> list[ViewState]:
    """Each view's position, lag behind the log, current stop and the events it skipped."""
    found = fetchone(db, conn, f"SELECT MAX({db.position_column}) FROM {db.events_table}")
    head = int(found[0]) if found and found[0] is not None else 0
    tracked = {str(r[0]): int(r[1]) for r in fetchall(
        db, conn, "SELECT view, position FROM projection_tracking")}
    recorded = stops(db, conn)
    skipped = quarantines(db, conn)
    states = []
    for name in names:
        position = tracked.get(name, 0)
        stop = recorded.get(name)
        if stop is not None and position >= stop.position:
            stop = None  # moved past since
        states.append(ViewState(
            name=name, position=position, lag=max(0, head - position), stop=stop,
            skipped=tuple(q for q in skipped if q.view == name and q.position <= position),
            stop_quarantined=stop is not None and any(
                q.view == name and q.position == stop.position for q in skipped)))
    return states
