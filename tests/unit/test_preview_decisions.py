"""The ledger's dry run (ledger.preview) on the in-memory store: pinned to a position, chained,
refused as the commands are, and never saved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.application import Ledger
from ledger.domain.subject import Subject
from ledger.errors import Forbidden, InvalidInput, RuleViolation
from ledger.runtime import Actor
from tests.integration.helpers import BUREAU, cid, do, evaluated_subject, setup_units


def correction(app: Ledger, funds: str) -> tuple[str, dict[str, object]]:
    return ("correct_event", {"command_id": cid(), "position": app.position_of(
        app.subject("S1").id, 1), "values": {"funds": funds}, "reason": "录入错误"})


def test_pinned_chained_and_never_saved(memory_ledger: Ledger) -> None:
    app = memory_ledger
    setup_units(app)
    do(app, "assign_grade", subject_code="S1", grade="EXCELLENT", basis_kind="evaluation",
       basis_id=evaluated_subject(app))
    past = int(app.recorder.max_notification_id() or 0)
    do(app, "apply_result", subject_code="S1", kind="priority", cites_kind="grade")
    newest = app.recorder.max_notification_id()
    reduce = ("apply_result", {"command_id": cid(), "subject_code": "S1", "kind": "reduce",
                               "amount": "600.00", "cites_kind": "grade",
                               "override_reason": "预算调减，经局务会研究"})
    now = app.decide_preview([correction(app, "604.85"), reduce], BUREAU)
    (subject,) = now
    assert isinstance(subject, Subject) and subject.funds == Decimal("604.85")
    assert {r.kind for r in subject.results.values()} == {"priority", "reduce"}
    then = app.decide_preview([correction(app, "604.85")], BUREAU, position=past)
    assert isinstance(then[0], Subject)
    assert not then[0].results  # the priority was recorded after `past`
    assert app.recorder.max_notification_id() == newest
    assert app.subject("S1").funds == Decimal("640.85")  # what is stored is untouched
    # A later command sees what an earlier one decided: GOOD for 92.00 only under v2.
    regrade = ("assign_grade", {"command_id": cid(), "subject_code": "S1", "grade": "GOOD",
                                "basis_kind": "evaluation",
                                "basis_id": next(iter(app.subject("S1").evaluations))})
    with pytest.raises(RuleViolation) as refused:
        app.decide_preview([correction(app, "1.00"), regrade], BUREAU)
    assert refused.value.field is not None and refused.value.field.startswith("commands.1")
    adopt = ("adopt_rules", {"command_id": cid(), "rules": {
        "version": 2, "effective_from": "2022-01-01", "grade_scale": {"bands": [
            {"grade": "EXCELLENT", "lower": "95"}, {"grade": "GOOD", "lower": "80"},
            {"grade": "FAIR", "lower": "70"}, {"grade": "POOR", "lower": "0"}]}}})
    _book, graded = app.decide_preview([adopt, regrade], BUREAU)
    assert isinstance(graded, Subject) and graded.grade is not None
    assert graded.grade.scale_version == 2
    assert app.recorder.max_notification_id() == newest
    assert app.rules_in_force(date(2022, 12, 31)).version == 1  # nothing was adopted


def test_only_what_can_be_previewed_and_only_by_the_bureau(memory_ledger: Ledger) -> None:
    app = memory_ledger
    setup_units(app)
    evaluated_subject(app)
    with pytest.raises(InvalidInput) as refused:
        app.decide_preview([("register_unit", {"command_id": cid(), "code": "X",
                                               "name": "某单位"})], BUREAU)
    assert refused.value.field == "commands.0"
    for role in ("budget_unit", "agency", "auditor", "congress", "public"):
        with pytest.raises(Forbidden):
            app.decide_preview([correction(app, "1.00")], Actor(id="x", role=role,
                                                                unit_code="MZJ"))
    assert app.decide_preview([], BUREAU) == []
