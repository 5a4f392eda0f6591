"""The read side: annex tables, point in time, restatements, rebuild equals live upkeep."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources

import pytest

from ledger.annex import AnnexKind
from ledger.application import Ledger
from ledger.store import Database
from projections.hashing import all_hashes
from projections.views import ReadModel
from tests.integration.helpers import do

SEED = json.loads(resources.files("ledger.sample").joinpath("xiangshan_2022_annexes.json")
                  .read_text(encoding="utf-8"))

pytestmark = pytest.mark.sample  # every test starts from the sample


@pytest.fixture
def read(ledger: Ledger, database: Database) -> ReadModel:
    model = ReadModel(database, ledger)
    yield model  # type: ignore[misc]
    model.close()


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "key", "total", "grades"), [
    (AnnexKind.KEY_PROJECTS, "key_projects", "6441.47", {"优": 6, "良": 4}),
    (AnnexKind.DEPARTMENT_OVERALL, "department_overall", "24589.14", {"优": 5, "良": 1}),
])
def test_sample_annex_tables_match_the_source(ledger: Ledger, read: ReadModel, kind: AnnexKind,
                                             key: str, total: str,
                                             grades: dict[str, int]) -> None:
    table = read.evaluation_table(read.resolve(), 2022, kind)
    source = SEED[key]["rows"]
    assert [r.seq for r in table.rows] == list(range(1, len(source) + 1))
    assert [(r.subject_name, r.unit_name, r.funds, r.assessment, r.grade.label if r.grade
             else None) for r in table.rows] == [
        (s["name"], s["unit"], Decimal(s["funds"]).quantize(Decimal("0.01")), s["assessment"],
         s["grade"]) for s in source]
    assert table.total_funds == Decimal(total)
    counted = {label: sum(1 for r in table.rows if r.grade and r.grade.label == label)
               for label in grades}
    assert counted == grades
    assert table.title == SEED[key]["title"]


@pytest.mark.slow
def test_coverage_states_the_year(ledger: Ledger, read: ReadModel) -> None:
    coverage = read.coverage(read.resolve(), 2022)
    assert coverage.subjects == 16 and coverage.units == 9
    assert coverage.funds == Decimal("31030.61")
    assert coverage.self_evaluation_coverage == Decimal("100.00")
    assert coverage.grade_distribution == {"优": 11, "良": 5, "中": 0, "差": 0}
    [round_] = coverage.monitoring_rounds
    # The sample's 1–8月 round: 14 of the 16 subjects reported (ledger.sample.monitoring).
    assert round_.subjects == 14 and round_.warnings >= 1
    assert "跟踪监控项目14个，监控资金29152.89万元" in "\n".join(coverage.statements())


def test_correction_is_a_restatement_as_of_any_moment(ledger: Ledger, read: ReadModel) -> None:
    before = read.resolve()
    time.sleep(0.01)
    subject = ledger.subject("XS-2022-KP-05")
    original = ledger.position_of(subject.id, 1)
    fix = do(ledger, "correct_event", position=original, values={"funds": "604.85"},
             reason="金额录入错误", effective_on=date(2022, 1, 1))
    now = read.resolve(position=fix.position)

    old_table = read.evaluation_table(before, 2022, AnnexKind.KEY_PROJECTS)
    new_table = read.evaluation_table(now, 2022, AnnexKind.KEY_PROJECTS)
    assert old_table.rows[4].funds == Decimal("640.85")
    assert old_table.total_funds == Decimal("6441.47")
    assert new_table.rows[4].funds == Decimal("604.85")
    assert new_table.total_funds == Decimal("6405.47")
    # The same by recorded time: just before the correction was recorded.
    assert before.recorded_at is not None
    by_time = read.resolve(as_of=before.recorded_at + timedelta(microseconds=1))
    assert by_time.position == before.position
    assert read.evaluation_table(by_time, 2022, AnnexKind.KEY_PROJECTS).total_funds == Decimal(
        "6441.47")
    # As currently known, effective at the end of 2023: the corrected figure.
    known = read.resolve(effective_on=date(2023, 12, 31))
    assert read.evaluation_table(known, 2022, AnnexKind.KEY_PROJECTS).total_funds == Decimal(
        "6405.47")

    [change] = read.restatements(2022, AnnexKind.KEY_PROJECTS, before, now)
    assert (change.field, change.before, change.after) == ("funds", "640.85", "604.85")
    [correction] = change.corrections
    assert correction.corrects_position == original
    assert correction.changes["reason"] == "金额录入错误"


@pytest.mark.slow
def test_unit_rename_restates_its_rows(ledger: Ledger, read: ReadModel) -> None:
    before = read.resolve()
    unit = ledger.unit("XS-U03")
    do(ledger, "correct_event", position=ledger.position_of(unit.id, 1),
       values={"name": "淮北市相山区民政局"}, reason="规范全称")
    now = read.resolve()
    changes = read.restatements(2022, AnnexKind.KEY_PROJECTS, before, now)
    assert {c.after for c in changes} == {"淮北市相山区民政局"}
    assert all(c.corrections for c in changes)


@pytest.mark.slow
def test_effective_date_hides_later_facts(ledger: Ledger, read: ReadModel) -> None:
    table = read.evaluation_table(read.resolve(effective_on=date(2022, 12, 31)), 2022,
                                  AnnexKind.KEY_PROJECTS)
    # Only 渠沟镇's fiscal operations had been evaluated (from 2022-12-09), not yet graded.
    assert [(r.subject_name, r.grade) for r in table.rows] == [
        ("相山区渠沟镇人民政府2022年财政运行综合绩效评价", None)]


@pytest.mark.slow
def test_read_your_writes_and_detail(ledger: Ledger, read: ReadModel) -> None:
    read.catch_up()
    spot = do(ledger, "record_spot_check", subject_code="XS-2022-KP-01", reviews="self",
              score="95")
    assert read.wait_for(spot.position) >= spot.position
    moment = read.resolve(position=spot.position)
    detail = read.subject(moment, "XS-2022-KP-01")
    assert detail is not None and len(detail.spot_checks) == 1
    earlier = read.subject(read.resolve(position=spot.position - 2), "XS-2022-KP-01")
    assert earlier is not None and earlier.spot_checks == ()
    trail = read.audit_trail(moment, subject_code="XS-2022-KP-01", first=200)
    assert trail.items[-1].type == "Subject.SpotCheckRecorded"
    assert trail.items[-1].command_id == spot.command_id
    unit_trail = read.audit_trail(moment, unit_code="XS-U01", first=200)
    assert {e.type for e in unit_trail.items} >= {"Unit.Registered", "Subject.Registered"}


def sample_corrected(ledger: Ledger, code: str, values: dict[str, str], reason: str) -> None:
    """A correction of the named subject's registration in the sample."""
    subject = ledger.subject(code)
    do(ledger, "correct_event", position=ledger.position_of(subject.id, 1), values=values,
       reason=reason)


@pytest.mark.slow
def test_rebuild_equals_incremental(ledger: Ledger, read: ReadModel,
                                    database: Database) -> None:
    sample_corrected(ledger, "XS-2022-KP-02", {"name": "更正后的项目名称"}, "名称更正")
    do(ledger, "record_disclosure", fiscal_year=2022, audience="public", title="公开",
       subject_codes=["XS-2022-KP-02"], content_hash="0" * 64, content_position=1)
    while read.runner.catch_up(limit=7) < int(ledger.recorder.max_notification_id() or 0):
        pass  # small batches, as a live server would see them
    head = read.position()
    live = all_hashes(database, read.runner.conn, head)
    middle = all_hashes(database, read.runner.conn, head // 2)
    read.runner.reset()
    assert read.catch_up() == head
    assert all_hashes(database, read.runner.conn, head) == live
    assert all_hashes(database, read.runner.conn, head // 2) == middle


@pytest.mark.slow
def test_a_rebuild_side_by_side_equals_live_upkeep(ledger: Ledger, read: ReadModel,
                                                   database: Database) -> None:
    from projections.rebuild import rebuild

    sample_corrected(ledger, "XS-2022-KP-05", {"funds": "604.85"}, "金额录入错误")
    head = read.catch_up()
    live = all_hashes(database, read.runner.conn, head)
    assert rebuild(database, jobs=2) == head  # two processes even on SQLite (taking turns)
    assert all_hashes(database, read.runner.conn, head) == live
    assert rebuild(database, ["subjects"], jobs=2) == head
    assert all_hashes(database, read.runner.conn, head) == live
