"""What-if preview on both stores: it appends nothing anywhere, and it answers exactly what
recording the same commands then produces (docs/domain.md#what-if-preview)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.annex import AnnexKind
from ledger.application import Ledger
from ledger.errors import DomainError, Forbidden, RuleViolation
from ledger.runtime import Actor
from ledger.store import Database, fetchall
from projections.preview import preview_rows, preview_state, preview_table
from projections.views import ReadModel
from tests.integration.helpers import BUREAU, cid, do, evaluated_subject, setup_units

STRICTER = {"version": 2, "effective_from": "2022-01-01", "grade_scale": {"bands": [
    {"grade": "EXCELLENT", "lower": "95"}, {"grade": "GOOD", "lower": "80"},
    {"grade": "FAIR", "lower": "70"}, {"grade": "POOR", "lower": "0"}]}}


@pytest.fixture
def read(ledger: Ledger, database: Database) -> Iterator[ReadModel]:
    model = ReadModel(database, ledger)
    try:
        yield model
    finally:
        model.close()


def tables(db: Database) -> list[str]:
    conn = db.connect()
    try:
        if db.backend == "sqlite":
            found = fetchall(db, conn, "SELECT name FROM sqlite_master WHERE type = 'table'")
            return sorted(f'"{r[0]}"' for r in found)
        found = fetchall(db, conn, "SELECT table_name FROM information_schema.tables WHERE "
                         "table_schema = ?", (db.schema,))
        return sorted(f'"{db.schema}"."{r[0]}"' for r in found)
    finally:
        conn.close()


def snapshot(db: Database) -> dict[str, tuple[int, str]]:
    """Every table of the store: its row count and a hash of its rows."""
    out: dict[str, tuple[int, str]] = {}
    conn = db.connect()
    try:
        for table in tables(db):
            rows = sorted(repr(tuple(r)) for r in fetchall(db, conn, f"SELECT * FROM {table}"))
            out[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    finally:
        conn.close()
    return out


def world(ledger: Ledger) -> dict[str, int]:
    """Two evaluated key projects of 2022; positions of the events the commands name."""
    setup_units(ledger)
    evaluated_subject(ledger, "S1")
    evaluated_subject(ledger, "S2")
    s1 = ledger.subject("S1")
    evaluation = next(v for v in range(1, s1.version + 1)
                      if s1.items_by_version.get(v, ("",))[0] == "evaluation")
    return {"registered": ledger.position_of(s1.id, 1),
            "evaluated": ledger.position_of(s1.id, evaluation),
            "unit": ledger.position_of(ledger.unit("MZJ").id, 1)}


def commands(at: dict[str, int], ledger: Ledger) -> list[tuple[str, dict[str, Any]]]:
    """A correction of each kind, a rule change, and the grade and consequence it allows."""
    s2 = ledger.subject("S2")
    evaluation_id = next(iter(s2.evaluations))
    return [
        ("correct_event", {"command_id": cid(), "position": at["registered"],
                           "values": {"funds": "604.85", "name": "更正后的项目名称"},
                           "reason": "录入错误"}),
        ("correct_event", {"command_id": cid(), "position": at["evaluated"],
                           "values": {"narrative": "更正后的评价情况"}, "reason": "文字错误"}),
        ("correct_event", {"command_id": cid(), "position": at["unit"],
                           "values": {"name": "相山区民政局（更正）"}, "reason": "单位名称"}),
        ("adopt_rules", {"command_id": cid(), "rules": STRICTER}),
        # GOOD for 92.00 holds only under the rules adopted by the command before it.
        ("assign_grade", {"command_id": cid(), "subject_code": "S2", "grade": "GOOD",
                          "basis_kind": "evaluation", "basis_id": evaluation_id}),
        ("apply_result", {"command_id": cid(), "subject_code": "S2", "kind": "reduce",
                          "amount": "10.00", "cites_kind": "grade"}),
    ]


def test_a_preview_appends_nothing_and_equals_the_recorded_outcome(
        ledger: Ledger, database: Database, read: ReadModel) -> None:
    at = world(ledger)
    calls = commands(at, ledger)
    read.catch_up()
    before = snapshot(database)
    newest = ledger.recorder.max_notification_id()
    moment = read.resolve()

    state = preview_state(read, moment, calls, BUREAU)
    previewed = {kind: preview_table(read, state, 2022, kind) for kind in AnnexKind}
    rows = preview_rows(read, state, 2022)

    assert read.catch_up() == moment.position  # nothing new to project
    assert ledger.recorder.max_notification_id() == newest
    assert snapshot(database) == before  # the log, command records, MACs, every view
    assert sorted(e.type for e in state.pending) == [
        "LedgerAggregate.EventCorrected", "LedgerAggregate.EventCorrected",
        "LedgerAggregate.EventCorrected", "RuleBook.Opened", "RuleBook.RulesAdopted",
        "Subject.GradeAssigned", "Subject.ResultApplied"]
    key = previewed[AnnexKind.KEY_PROJECTS]
    marked = {(c.field, c.before, c.after) for c in key.changes}
    assert marked == {("subject_name", "相山区民政局2022年农村最低生活保障金", "更正后的项目名称"),
                      ("funds", "640.85", "604.85"),
                      ("assessment", "评价为优", "更正后的评价情况"),
                      ("unit_name", "相山区民政局", "相山区民政局（更正）"),
                      ("grade", None, "良")}
    assert key.before == read.evaluation_table(moment, 2022, AnnexKind.KEY_PROJECTS)

    for method, data in calls:  # now record them, one by one, as the bureau would
        getattr(ledger, method)(data, BUREAU)
    now = read.resolve()
    assert now.position > moment.position
    for kind in AnnexKind:
        assert previewed[kind].table == read.evaluation_table(now, 2022, kind)
    recorded = {r.subject_id: r for r in read.year_rows(now, 2022)}
    for row in rows:  # every column a view reads, not only the annex's
        mine = recorded[row.subject_id]
        assert row._replace(valid_from=0, valid_to=0) == mine._replace(valid_from=0, valid_to=0)
    assert {(r.field, r.before, r.after) for r in read.restatements(
        2022, AnnexKind.KEY_PROJECTS, moment, now)} == marked


def test_the_grade_change_is_marked(ledger: Ledger, read: ReadModel) -> None:
    at = world(ledger)
    state = preview_state(read, read.resolve(), commands(at, ledger)[3:5], BUREAU)
    changes = preview_table(read, state, 2022, AnnexKind.KEY_PROJECTS).changes
    assert [(c.field, c.before, c.after) for c in changes] == [("grade", None, "良")]


def test_a_refusal_names_the_command_and_leaves_nothing(ledger: Ledger, database: Database,
                                                        read: ReadModel) -> None:
    at = world(ledger)
    calls = commands(at, ledger)
    read.catch_up()
    before = snapshot(database)
    # Without the rule change, GOOD is not what 92.00 earns: the grade command is refused.
    with pytest.raises(RuleViolation) as refused:
        preview_state(read, read.resolve(), [calls[0], calls[4]], BUREAU)
    assert refused.value.field is not None and refused.value.field.startswith("commands.1")
    assert refused.value.message.startswith("command 1 (assign_grade)")
    assert refused.value.rule
    with pytest.raises(DomainError) as unknown:
        preview_state(read, read.resolve(), [("apply_result", {
            "command_id": cid(), "subject_code": "NOPE", "kind": "reduce", "amount": "1.00",
            "cites_kind": "grade"})], BUREAU)
    assert unknown.value.code == "SUBJECT_NOT_FOUND"
    assert unknown.value.field == "commands.0.subjectCode"
    assert snapshot(database) == before
    # The refused preview left no trace in the ledger's state: the same commands record.
    for method, data in calls:
        getattr(ledger, method)(data, BUREAU)


@pytest.mark.parametrize("role", ["budget_unit", "agency", "auditor", "congress", "public"])
def test_only_the_finance_bureau_may_preview(ledger: Ledger, read: ReadModel,
                                             role: str) -> None:
    at = world(ledger)
    actor = Actor(id=f"someone-{role}", role=role, unit_code="MZJ", agency_code="AG1")
    with pytest.raises(Forbidden):
        preview_state(read, read.resolve(), commands(at, ledger)[:1], actor)


def test_a_preview_as_at_a_past_position_decides_against_that_state(
        ledger: Ledger, read: ReadModel) -> None:
    at = world(ledger)
    past = read.resolve()
    do(ledger, "correct_event", position=at["registered"], values={"funds": "1.00"},
       reason="later correction")
    later = read.resolve()
    rename = ("correct_event", {"command_id": cid(), "position": at["unit"],
                                "values": {"name": "改名"}, "reason": "单位名称"})
    then = preview_table(read, preview_state(read, past, [rename], BUREAU), 2022,
                         AnnexKind.KEY_PROJECTS)
    assert {r.funds for r in then.table.rows} == {r.funds for r in then.before.rows}
    assert "1.00" not in {format(r.funds, "f") for r in then.table.rows}
    assert {c.field for c in then.changes} == {"unit_name"}
    # An event recorded after the moment does not exist as at that moment.
    beyond = ("correct_event", {"command_id": cid(), "position": later.position,
                                "values": {"funds": "2.00"}, "reason": "x"})
    with pytest.raises(DomainError) as refused:
        preview_state(read, past, [beyond], BUREAU)
    assert refused.value.code == "EVENT_NOT_FOUND"
    assert refused.value.field == "commands.0.position"
