"""The ledger's dry run (ledger.preview) on the in-memory store: pinned to a position, chained,
refused as the commands are, and never saved; and the results ledger's changes it marks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.application import Ledger
from ledger.domain.fiscal_year import FiscalYear, year_id
from ledger.domain.subject import Subject
from ledger.errors import Forbidden, InvalidInput, RuleViolation
from ledger.runtime import Actor
from projections.changes import ledger_changes
from projections.results_ledger import results_ledger
from projections.values import ChangedPart, RestatedTable, RowChange
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


def test_the_results_ledger_changes_name_rows_requests_and_totals(memory_ledger: Ledger) -> None:
    app = memory_ledger
    setup_units(app)
    evaluation_id = evaluated_subject(app)
    do(app, "assign_grade", subject_code="S1", grade="EXCELLENT", basis_kind="evaluation",
       basis_id=evaluation_id)
    do(app, "open_fiscal_year", fiscal_year=2023)
    do(app, "record_budget_request", fiscal_year=2023, code="R1", unit_code="MZJ",
       subject_code="S1", funding_source="一般公共预算", requested_amount="700.00")
    year = app.load(year_id(2023))
    assert isinstance(year, FiscalYear)
    stored = app.subject("S1")
    before = results_ledger(2022, [stored], year)
    (subject,) = app.decide_preview([
        ("apply_result", {"command_id": cid(), "subject_code": "S1", "kind": "priority",
                          "cites_kind": "grade", "target_kind": "budget_request",
                          "target_id": "R1"}),
        ("apply_result", {"command_id": cid(), "subject_code": "S1", "kind": "recover",
                          "amount": "100.00", "cites_kind": "evaluation",
                          "cites_id": evaluation_id})], BUREAU)
    assert isinstance(subject, Subject)
    after = results_ledger(2022, [subject], year)
    named = {"S1": (str(stored.id), stored.name)}

    changes = ledger_changes(before, after, named)
    assert {c.table for c in changes} == {RestatedTable.RESULTS_LEDGER}
    added = {c.key: c for c in changes if c.field == "effect"}
    assert {k: (c.change, c.part, c.before, c.after) for k, c in added.items()} == {
        r.result_id: (RowChange.ADDED, ChangedPart.ROW, None, r.effect) for r in after.rows}
    assert [(c.part, c.key, c.field, c.before, c.after) for c in changes
            if c.change is RowChange.CHANGED] == [
        (ChangedPart.REQUEST, "R1", "priority", "false", "true"),
        (ChangedPart.TOTAL, "", "recovered_total", "0.00", "100.00"),
        (ChangedPart.TOTAL, "", "priority_count", "0", "1")]
    assert all(c.subject_id == str(stored.id) for c in changes if c.part is not ChangedPart.TOTAL)
    assert {c.subject_name for c in changes if c.part is ChangedPart.TOTAL} == {"合计"}
    # The other way round the rows are removed: their cells before, none after.
    undone = ledger_changes(after, before, named)
    assert {c.key for c in undone if c.change is RowChange.REMOVED} == set(added)
    assert all(c.after is None for c in undone if c.change is RowChange.REMOVED)
    assert ledger_changes(before, before, named) == []
    assert app.subject("S1").results == {}  # the preview saved nothing
