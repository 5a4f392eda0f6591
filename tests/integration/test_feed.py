"""The projectors' view of the log: view events only, in order, complete up to each batch."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Callable

import pytest

from ledger.application import Ledger
from ledger.sample.loader import load_sample
from ledger.store import Database
from projections.feed import COMMAND_RECORD_TOPIC, Feed

pytestmark = [pytest.mark.slow, pytest.mark.sample]  # threads over whole logs


@pytest.fixture
def loaded(ledger: Ledger) -> Ledger:
    """The ledger over a store with the sample (pytestmark)."""
    return ledger


def test_batches_hold_every_view_event_and_no_command_record(loaded: Ledger,
                                                            database: Database) -> None:
    notes = loaded.recorder.select_notifications(start=1, limit=100_000)
    expected = [n.id for n in notes if n.topic != COMMAND_RECORD_TOPIC]
    assert 0 < len(expected) < len(notes)  # the sample has both kinds
    feed = Feed(database, loaded, size=7)  # many small batches, read ahead by a thread
    batches = list(feed.batches(0))
    assert len(batches) > 3
    assert [r.position for b in batches for r in b.records] == expected
    assert batches[-1].last == notes[-1].id  # complete up to the head, command records too
    for earlier, later in itertools.pairwise(batches):
        assert all(earlier.last < r.position <= later.last for r in later.records)
    feed.close()


def test_a_limit_stops_early_and_the_next_read_resumes(loaded: Ledger,
                                                       database: Database) -> None:
    feed = Feed(database, loaded, size=5)
    whole = [r.position for b in Feed(database, loaded, size=500).batches(0) for r in b.records]
    seen: list[int] = []
    after = 0
    while after < int(loaded.recorder.max_notification_id() or 0):
        batches = list(feed.batches(after, limit=12))
        assert sum(len(b.records) for b in batches) <= 12
        seen += [r.position for b in batches for r in b.records]
        after = batches[-1].last
    assert seen == whole
    feed.close()


def test_leaving_a_read_early_leaves_the_feed_usable(loaded: Ledger, database: Database) -> None:
    feed = Feed(database, loaded, size=3)
    for batch in feed.batches(0):
        first = batch
        break  # the reader thread is stopped and its connection left idle
    assert not [t for t in threading.enumerate() if t.name == "feed"]
    again = next(iter(feed.batches(0)))
    assert [r.position for r in again.records] == [r.position for r in first.records]
    assert list(feed.batches(int(loaded.recorder.max_notification_id() or 0))) == []
    feed.close()


class Failing:
    """A view that breaks on its second batch, as a lost connection would: while deriving
    rows (the projector's thread) or while storing them (the writer's). (Any other failure is
    gone through again event by event: tests/security/test_boundary.py.)"""

    name = "failing"
    tables: tuple[str, ...] = ()
    reads = "records"

    def __init__(self, where: str) -> None:
        self.where = where
        self.calls = 0

    def derive(self, records: list[object], conn: object) -> Callable[[object], None]:
        self.calls += 1
        broken = self.calls == 2
        if broken and self.where == "derive":
            raise sqlite3.OperationalError("broken view")

        def write(conn: object) -> None:
            if broken:
                raise sqlite3.OperationalError("broken view")

        return write

    def forget(self) -> None:
        pass


@pytest.mark.parametrize("where", ["derive", "store"])
def test_a_failing_view_stops_the_threads_and_keeps_what_was_committed(
        loaded: Ledger, database: Database, where: str) -> None:
    from projections.projector import Runner

    runner = Runner(database, loaded, views=[Failing(where)], batch=5)
    with pytest.raises(sqlite3.OperationalError, match="broken view"):
        runner.catch_up()
    assert not [t for t in threading.enumerate() if t.name in ("feed", "projector-writer")]
    first = runner.tracked()["failing"]
    assert first > 0  # the first batch committed; the second rolled back
    assert runner.catch_up() == int(loaded.recorder.max_notification_id() or 0)
    runner.close()


def test_records_equal_eventsourcings_own_decoding(loaded: Ledger, database: Database) -> None:
    """The feed decodes rows with LedgerMapper.decode_row and builds records field by field;
    what comes out is what eventsourcing's Mapper and the dataclass constructor give."""
    from dataclasses import asdict

    from eventsourcing.persistence import JSONTranscoder, Mapper

    from ledger.log import BASE_FIELDS, LogRecord

    plain = JSONTranscoder()
    loaded.register_transcodings(plain)
    reference = Mapper(transcoder=plain)
    notes = {n.id: n for n in loaded.recorder.select_notifications(start=1, limit=100_000)}
    feed = Feed(database, loaded, size=50)
    records = [r for b in feed.batches(0) for r in b.records]
    assert len(records) > 50
    for record in records:
        event = reference.to_domain_event(notes[record.position])
        assert type(record.event) is type(event) and vars(record.event) == vars(event)
        expected = LogRecord(
            position=record.position, recorded_at=event.timestamp,
            type=type(event).__qualname__, aggregate_id=event.originator_id,
            version=event.originator_version, meta=getattr(event, "meta", None),
            event=record.event, key=str(event.originator_id))
        assert record == expected and asdict(record) == asdict(expected)
        payload = {k: v for k, v in vars(event).items() if k not in (*BASE_FIELDS, "meta")}
        assert list(record.payload.items()) == list(payload.items())  # the same order, too
    feed.close()


def test_entries_are_the_text_form_of_the_records(loaded: Ledger, database: Database) -> None:
    """The log views read entries (no domain events); they must say what the records say."""
    from ledger.domain.base import CORRECTION_TYPE
    from ledger.log import audit_json
    from tests.integration.helpers import do

    load_sample(loaded, publish=True)  # disclosures, with their checkpoints
    subject = loaded.subject("XS-2022-KP-02")
    do(loaded, "correct_event", position=loaded.position_of(subject.id, 1),
       values={"funds": "1234.5"}, reason="资金更正")  # money in a correction
    feed = Feed(database, loaded, size=40)
    batches = list(feed.batches(0, needs={"records": 0, "entries": 0}))
    pairs = [pair for b in batches for pair in zip(b.records, b.entries, strict=True)]
    assert len(pairs) > 50
    types = {r.type for r, _ in pairs}
    assert {"Disclosure.Recorded", CORRECTION_TYPE, "Subject.GoalsDeclared"} <= types
    for record, entry in pairs:
        assert (entry.position, entry.type, entry.key, entry.version, entry.recorded_at) == (
            record.position, record.type, record.key, record.version, record.recorded_at)
        assert audit_json(entry.payload) == audit_json(record.payload)
        meta = record.meta
        assert entry.meta == (None if meta is None else {
            "actor_id": meta.actor_id, "actor_role": meta.actor_role,
            "command_id": meta.command_id,
            "effective_on": meta.effective_on.isoformat() if meta.effective_on else None})
    only = list(feed.batches(0, needs={"entries": 0}))
    assert [e._replace(state=e.payload) for b in only for e in b.entries] == [
        e._replace(state=e.payload) for _, e in pairs]
    assert not any(b.records for b in only)
    # a form is decoded only from where its readers stand
    middle = batches[len(batches) // 2].last
    late = list(feed.batches(0, needs={"records": middle, "entries": 0}))
    assert [b.records == [] for b in late] == [b.last <= middle for b in late]
    feed.close()


def test_entries_of_events_stored_compressed_come_through_the_full_decoder(
        loaded: Ledger) -> None:
    """A store written with a compressor (or an event class with upcasters) has no JSON to
    parse directly: its entries are made by the full decoder, and say the same."""
    from eventsourcing.compressor import ZlibCompressor

    from ledger.log import audit_json, to_entry
    from ledger.transcoder import LedgerMapper

    plain = loaded.mapper
    assert isinstance(plain, LedgerMapper)
    packed = LedgerMapper(transcoder=plain.transcoder, compressor=ZlibCompressor())
    notes = [n for n in loaded.recorder.select_notifications(start=1, limit=100_000)
             if n.topic != COMMAND_RECORD_TOPIC]
    assert len(notes) > 50
    for n in notes:
        event = plain.to_domain_event(n)
        stored = packed.to_stored_event(event)
        assert stored.state != n.state  # compressed: no JSON to parse
        direct = to_entry(plain, n.id, n.originator_id, n.originator_version, n.topic, n.state)
        full = to_entry(packed, n.id, n.originator_id, n.originator_version, n.topic,
                        stored.state)
        assert audit_json(full.payload) == audit_json(direct.payload)
        assert full._replace(state=None) == direct._replace(state=None)
