"""An event's name is spelled once, by its class; the copies that must exist are kept equal.

The log names an event by its class's qualified name (ledger.domain.base.type_name). The
offline verifier cannot import the classes, so ledger/integrity/event_types.py spells the
names it replays; the portal labels events by class name in schema/static/i18n.js. Renaming
an event class, or editing either copy, fails a test here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.base import CORRECTION_TYPE, LedgerAggregate, Meta, type_name
from ledger.domain.disclosure import Disclosure
from ledger.domain.fiscal_year import FiscalYear
from ledger.domain.registry import Agency, Expert, Unit
from ledger.domain.subject import Subject
from ledger.integrity import event_types as spelled
from ledger.log import to_record

STATIC = Path(__file__).resolve().parents[2] / "schema" / "static"
META = Meta(actor_id="t", actor_role="system", command_id="cmd-00000001")

# Each name the verifier spells, and the class it must stay equal to.
VERIFIER_TABLE: dict[str, Any] = {
    spelled.UNIT_REGISTERED: Unit.Registered,
    spelled.SUBJECT_REGISTERED: Subject.Registered,
    spelled.EVALUATION_COMMISSIONED: Subject.EvaluationCommissioned,
    spelled.EVALUATION_RECORDED: Subject.EvaluationRecorded,
    spelled.GRADE_ASSIGNED: Subject.GradeAssigned,
    spelled.CORRECTION_TYPE: LedgerAggregate.EventCorrected,
    spelled.DISCLOSURE_RECORDED: Disclosure.Recorded,
    spelled.FISCAL_YEAR_CLOSED: FiscalYear.Closed,
}


def recorded_events(aggregate: Any) -> set[str]:
    """The class names of the events an aggregate records (its @event classes)."""
    own = {"Event", "Created", "EventCorrected"}  # eventsourcing's, never recorded as such
    return {name for name, value in vars(aggregate).items()
            if isinstance(value, type) and issubclass(value, aggregate.Event)
            and name not in own}


@pytest.mark.parametrize("name", sorted(VERIFIER_TABLE))
def test_the_verifiers_table_names_the_classes(name: str) -> None:
    assert name == type_name(VERIFIER_TABLE[name])


def test_the_verifier_replays_the_whole_table() -> None:
    assert set(spelled.REPLAYED) == set(VERIFIER_TABLE)
    assert spelled.CORRECTION_TYPE == CORRECTION_TYPE


def test_a_correction_cites_its_event_as_the_verifier_reads_it() -> None:
    for name in (spelled.UNIT_REGISTERED, spelled.SUBJECT_REGISTERED,
                 spelled.EVALUATION_RECORDED):
        event_class = VERIFIER_TABLE[name]
        assert spelled.cited(name) == event_class.__name__
    assert spelled.cited(spelled.SUBJECT_REGISTERED) in Subject.CORRECTABLE
    assert spelled.cited(spelled.EVALUATION_RECORDED) in Subject.CORRECTABLE
    assert spelled.cited(spelled.UNIT_REGISTERED) in Unit.CORRECTABLE


def test_the_log_names_an_event_by_type_name() -> None:
    """What the views and the verifier compare with is what the log records."""
    unit = Unit(code="U1", name="单位", kind="department", parent_code=None, meta=META)
    unit.correct(1, Unit.Registered.__name__, {"name": "新名"}, "typo", META)
    first, correction = unit.pending_events
    assert to_record(1, first).type == type_name(Unit.Registered) == spelled.UNIT_REGISTERED
    assert to_record(2, correction).type == CORRECTION_TYPE == spelled.CORRECTION_TYPE
    assert correction.__dict__["corrected_event"] == spelled.cited(spelled.UNIT_REGISTERED)


def test_correctable_events_are_events_of_their_aggregate() -> None:
    for aggregate in (Subject, Unit, Agency, Expert):
        assert set(aggregate.CORRECTABLE) <= recorded_events(aggregate), aggregate


def test_the_portal_has_a_label_for_every_event_of_a_subjects_history() -> None:
    """A subject's audit trail shows its own events and their corrections."""
    text = (STATIC / "i18n.js").read_text(encoding="utf-8")
    zh, en = text.split("\n  en: {")
    wanted = recorded_events(Subject) | {LedgerAggregate.EventCorrected.__name__}
    for words in (zh, en):
        assert set(re.findall(r'^\s+"event\.(\w+)":', words, re.M)) == wanted
