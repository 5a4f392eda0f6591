"""Retries append nothing; concurrent commands lose nothing; corrections keep the original."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from ledger import commands as c
from ledger.application import Ledger
from ledger.domain.base import CORRECTION_TYPE, Meta
from ledger.domain.registry import CommandRecord
from ledger.domain.subject import Subject
from ledger.errors import Conflict, RuleViolation
from ledger.log import read_log
from ledger.runtime import Actor, CommandResult
from ledger.store import Database
from tests.integration.helpers import (
    BUREAU,
    approved_subject,
    do,
    max_position,
    self_evaluated_subject,
    setup_units,
)


def test_retry_returns_the_first_result_and_appends_nothing(ledger: Ledger) -> None:
    setup_units(ledger)
    data = {"command_id": "retry-0000001", "code": "S1", "name": "x", "kind": "project",
            "fiscal_year": 2022, "unit_code": "MZJ", "funds": "12.30"}
    first = ledger.register_subject(data, BUREAU)
    before = max_position(ledger)
    again = ledger.register_subject(dict(data), BUREAU)
    assert again.replayed and not first.replayed
    assert (again.position, again.aggregate_id, again.version) == (
        first.position, first.aggregate_id, first.version)
    assert max_position(ledger) == before


def test_retry_after_later_changes_still_returns_the_first_result(ledger: Ledger) -> None:
    setup_units(ledger)
    self_evaluated_subject(ledger)
    data = {"command_id": "retry-spot-01", "subject_code": "S1", "reviews": "self",
            "score": "80"}
    first = ledger.record_spot_check(data, BUREAU)
    do(ledger, "record_spot_check", subject_code="S1", reviews="self", score="70")
    before = max_position(ledger)
    again = ledger.record_spot_check(data, BUREAU)
    assert again.ids == first.ids and again.position == first.position
    assert max_position(ledger) == before
    assert len(ledger.subject("S1").spot_checks) == 2


def test_reusing_a_command_id_for_another_request_is_refused(ledger: Ledger) -> None:
    setup_units(ledger)
    ledger.register_unit({"command_id": "reuse-000001", "code": "U9", "name": "甲"}, BUREAU)
    before = max_position(ledger)
    with pytest.raises(RuleViolation) as info:
        ledger.register_unit({"command_id": "reuse-000001", "code": "U9", "name": "乙"}, BUREAU)
    assert info.value.code == "COMMAND_ID_REUSED" and info.value.field == "commandId"
    assert max_position(ledger) == before


def test_concurrent_conflict_one_wins_the_other_is_told_the_version(
        database: Database) -> None:
    """Two application instances (as two server processes) decide on the same version."""
    apps = [Ledger(database), Ledger(database)]
    setup_units(apps[0])
    self_evaluated_subject(apps[0])
    barrier = threading.Barrier(2, timeout=10)
    outcomes: list[CommandResult | Exception] = []

    def attempt(app: Ledger, n: int) -> None:
        cmd = c.RecordSpotCheck(command_id=f"race-{n}-000000", subject_code="S1",
                                reviews="self", score=Decimal("80"))

        def decide(meta: Meta) -> tuple[list[Subject], dict[str, str]]:
            subject = app.subject("S1")
            barrier.wait()  # both have read the same version before either saves
            subject.record_spot_check(spot_check_id=f"spc-{n}", reviews="self",
                                      score=cmd.score, findings=[], meta=meta)
            return [subject], {"spotCheckId": f"spc-{n}"}
        try:
            outcomes.append(app.run("record_spot_check", cmd, BUREAU, decide))
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt, args=(apps[i], i)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    wins = [o for o in outcomes if isinstance(o, CommandResult)]
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(wins) == 1 and len(conflicts) == 1, outcomes
    subject = apps[0].subject("S1")
    assert conflicts[0].current_version == subject.version
    assert list(subject.spot_checks) == [wins[0].ids["spotCheckId"]]
    # The loser's command id was not consumed: its retry is a fresh attempt, and succeeds.
    loser = "race-1-000000" if wins[0].command_id == "race-0-000000" else "race-0-000000"
    retry = apps[1].record_spot_check({"command_id": loser, "subject_code": "S1",
                                       "reviews": "self", "score": "80"}, BUREAU)
    assert not retry.replayed
    assert len(apps[0].subject("S1").spot_checks) == 2
    for app in apps:
        app.close()


@pytest.mark.slow
def test_many_concurrent_writers_lose_and_duplicate_nothing(database: Database) -> None:
    apps = [Ledger(database) for _ in range(4)]
    setup_units(apps[0])
    self_evaluated_subject(apps[0])
    acknowledged: list[str] = []
    lock = threading.Lock()

    def writer(app: Ledger, n: int) -> None:
        for i in range(10):
            command_id = f"conc-{n}-{i}-0000"
            for _ in range(50):  # a client retries conflicts with the same command id
                try:
                    app.record_spot_check({"command_id": command_id, "subject_code": "S1",
                                           "reviews": "self", "score": "80"}, BUREAU)
                except Conflict:
                    continue
                with lock:
                    acknowledged.append(command_id)
                break

    threads = [threading.Thread(target=writer, args=(apps[n], n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stored = [r.meta.command_id for r in read_log(apps[0])
              if r.type == "Subject.SpotCheckRecorded" and r.meta is not None]
    assert sorted(stored) == sorted(acknowledged)
    assert len(set(stored)) == len(stored) == 40
    for app in apps:
        app.close()


def test_correction_keeps_the_original_and_restates_the_fact(ledger: Ledger) -> None:
    setup_units(ledger)
    registered = do(ledger, "register_subject", code="S1", name="x", kind="project",
                    fiscal_year=2022, unit_code="MZJ", funds="640.85")
    original = ledger.position_of(ledger.subject("S1").id, 1)
    assert original < registered.position
    do(ledger, "correct_event", position=original, values={"funds": "604.85"},
       reason="录入错误：金额数字颠倒")
    log = list(read_log(ledger))
    first = next(r for r in log if r.position == original)
    assert first.payload["funds"] == Decimal("640.85")  # the original is untouched
    correction = next(r for r in log if r.type == CORRECTION_TYPE)
    assert correction.payload["corrects_version"] == 1
    assert correction.payload["values"] == {"funds": Decimal("604.85")}
    assert ledger.subject("S1").funds == Decimal("604.85")
    with pytest.raises(Exception) as info:
        do(ledger, "correct_event", position=original, values={"code": "S2"}, reason="改代码")
    assert getattr(info.value, "field", None) == "values.code"


def test_command_records_from_before_ids_were_scoped_still_replay_for_their_maker(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store written when command ids were global: each stored id stays its maker's."""
    alice = Actor(id="token:a1:alice", role="finance_bureau")
    bob = Actor(id="token:b2:bob", role="finance_bureau")
    monitoring = {"command_id": "legacy-monitoring-1", "subject_code": "S1", "round_name": "r",
                  "window_start": "2022-01-01", "window_end": "2022-07-31",
                  "budget_amount": "1.00", "executed_amount": "0.50"}

    def unscoped(**fields: Any) -> CommandRecord:  # as the earlier build stored them
        fields.pop("actor_id")
        return CommandRecord(**fields)

    with monkeypatch.context() as patch:
        patch.setattr("ledger.runtime.CommandRecord", unscoped)
        old = Ledger(database)
        setup_units(old)
        approved_subject(old)
        first = old.record_monitoring(monitoring, alice)
        old.close()
    new = Ledger(database)
    try:
        before = max_position(new)
        again = new.record_monitoring(monitoring, alice)  # would append a second snapshot
        assert again.replayed and again.ids == first.ids and max_position(new) == before
        with pytest.raises(RuleViolation) as reused:
            new.record_monitoring({**monitoring, "round_name": "other"}, alice)
        assert reused.value.code == "COMMAND_ID_REUSED"
        theirs = new.record_monitoring(monitoring, bob)  # the id is alice's, not bob's
        assert not theirs.replayed and theirs.ids != first.ids
        assert new.record_monitoring(monitoring, bob).replayed
    finally:
        new.close()
