"""A monitoring round over the sample, read as of any moment (projections.monitoring_rounds):
who reported, who was late, who has not reported, the money monitored, warnings and actions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from ledger.application import Ledger
from ledger.sample import monitoring as sample_round
from ledger.store import Database
from projections.monitoring_rounds import find_round, round_summary, rounds
from projections.views import ReadModel
from tests.integration.helpers import do


@pytest.fixture
def read(ledger: Ledger, database: Database) -> Iterator[ReadModel]:
    model = ReadModel(database, ledger)
    yield model
    model.close()


@pytest.mark.sample
def test_the_sample_round_shows_who_has_not_reported(ledger: Ledger, read: ReadModel) -> None:
    now = read.resolve()
    [info] = rounds(read, now, 2022)
    assert (info.round_id, info.window_start, info.window_end, info.due_on) == (
        sample_round.ROUND_ID, date(2022, 1, 1), date(2022, 8, 31), date(2022, 9, 20))
    summary = round_summary(read, now, sample_round.ROUND_ID)
    assert summary is not None
    status = {s.code: s.status for s in summary.subjects}
    assert sorted(c for c, s in status.items() if s == "not_reported") == sorted(
        sample_round.NOT_REPORTED)
    assert [c for c, s in status.items() if s == "late"] == list(sample_round.LATE)
    assert (summary.in_scope, summary.reported, summary.late, summary.not_reported) == (
        16, 13, 1, 2)
    # Money monitored: the budget amounts of the 14 snapshots received (all funds less the
    # two subjects still owed: 53.00 and 1824.72).
    assert summary.monitored_amount == Decimal("31030.61") - Decimal("53.00") - Decimal(
        "1824.72")
    executed = sum((s.executed_amount or Decimal(0) for s in summary.subjects), Decimal(0))
    assert summary.executed_amount == executed
    assert summary.execution_rate == (executed / summary.monitored_amount * 100).quantize(
        Decimal("0.01"))
    assert {w.code: w.count for w in summary.warnings}["EXECUTION_BEHIND"] == 1
    assert [(a.code, a.label, a.count) for a in summary.actions] == [
        ("adjust_budget", "调整预算", 1)]
    assert "跟踪监控项目14个，监控资金29152.89万元" in summary.statements()[0]

    # The warning's action is in the subject's detail and its history, citing the warning.
    [lagging] = [s for s in summary.subjects if s.actions]
    detail = read.subject(now, lagging.code)
    assert detail is not None
    [action] = detail.warning_actions
    assert (action.snapshot_id, action.warning_code) == (lagging.snapshot_id, "EXECUTION_BEHIND")
    trail = read.audit_trail(now, subject_code=lagging.code, first=100).items
    acted = [e for e in trail if e.type == "MonitoringFollowUp.WarningActed"]
    assert [e.changes["snapshot_id"] for e in acted] == [lagging.snapshot_id]

    # As of earlier moments (one sample load for both: it is the costly part).
    do(ledger, "register_subject", code="XS-2022-NEW", name="新增项目", kind="project",
       fiscal_year=2022, unit_code="XS-U01", funds="10.00")
    before_close = read.resolve()
    do(ledger, "close_monitoring_round", round_id=sample_round.ROUND_ID, remarks="汇总完毕",
       effective_on="2022-10-10")
    now = read.resolve()
    assert len(rounds(read, now)) == 1
    then = round_summary(read, before_close, sample_round.ROUND_ID)
    assert then is not None and not then.round.closed and then.not_reported == 3
    closed = find_round(read, now, sample_round.ROUND_ID)
    assert closed is not None and closed.closed and closed.closed_on == date(2022, 10, 10)
    # Effective on the due date, as known now: the late report had not come in yet.
    due = read.resolve(effective_on=sample_round.DUE_ON)
    on_due = round_summary(read, due, sample_round.ROUND_ID)
    assert on_due is not None and (on_due.reported, on_due.late, on_due.not_reported) == (
        13, 0, 4)
    # Before the round was opened there is no round.
    assert round_summary(read, read.resolve(position=1), sample_round.ROUND_ID) is None
    assert rounds(read, read.resolve(position=1)) == []
