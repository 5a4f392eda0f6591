"""The log's names of the events the offline verifier replays, spelled out.

Everywhere else a name is taken from its event's class (ledger.domain.base.type_name). The
verifier imports no eventsourcing, so that an auditor can read all it relies on; it cannot ask
the classes, and reads these instead. tests/unit/test_event_names.py keeps them equal to the
classes: renaming an event, or editing a name here, fails it.
"""

from __future__ import annotations

UNIT_REGISTERED = "Unit.Registered"
SUBJECT_REGISTERED = "Subject.Registered"
EVALUATION_COMMISSIONED = "Subject.EvaluationCommissioned"
EVALUATION_RECORDED = "Subject.EvaluationRecorded"
GRADE_ASSIGNED = "Subject.GradeAssigned"
CORRECTION_TYPE = "LedgerAggregate.EventCorrected"
DISCLOSURE_RECORDED = "Disclosure.Recorded"
FISCAL_YEAR_CLOSED = "FiscalYear.Closed"

REPLAYED = (UNIT_REGISTERED, SUBJECT_REGISTERED, EVALUATION_COMMISSIONED, EVALUATION_RECORDED,
            GRADE_ASSIGNED, CORRECTION_TYPE, DISCLOSURE_RECORDED, FISCAL_YEAR_CLOSED)
# The records that cite a checkpoint of the log (payload `checkpoint`), and what each is.
CITING = {DISCLOSURE_RECORDED: "disclosure", FISCAL_YEAR_CLOSED: "closing of a fiscal year"}


def cited(type_name: str) -> str:
    """How a correction names the event it restates: the class's own name (Registered)."""
    return type_name.rpartition(".")[2]
