"""Write the golden log: a store recorded by an earlier build, and the views it replayed to.

Run once, on the build whose views are the reference (`python -m tests.golden.make_golden`):
it writes `log_v1.jsonl.gz` (every stored event, as stored) and `log_v1.hashes.json` (each
view's hash at the last position, and each subject's detail as GraphQL answered it). The test
`tests/integration/test_golden_log.py` replays the stored events into a fresh store of either
kind and asserts the same hashes: a refactor of the read side must not change what a log that
was written before it replays to.

This is the recipe of `log_v1`, kept as it was run: it records `third_party` evaluations, a
kind later builds no longer take (they read the stored ones as the commissioner's). A new
golden log needs a recipe of its own.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.application import Ledger
from ledger.migrate import migrate
from ledger.runtime import Actor
from ledger.sample.loader import load_sample
from ledger.sample.synthetic import generate
from ledger.store import Database, fetchall
from projections.hashing import all_hashes
from projections.projector import Runner
from tests.integration.helpers import INDICATORS

HERE = Path(__file__).parent
LOG = HERE / "log_v1.jsonl.gz"
HASHES = HERE / "log_v1.hashes.json"
DETAILS = HERE / "log_v1.details.json"
BUREAU = Actor(id="golden", role="finance_bureau", unit_code="XS-CZJ")
DIMS = [{"name": "决策", "weight": "20", "score": "18"}, {"name": "过程", "weight": "20",
        "score": "17.5"}, {"name": "产出", "weight": "30", "score": "27"},
        {"name": "效益", "weight": "30", "score": "26"}]  # 88.50
GOALS = INDICATORS


def _lifecycles(app: Ledger) -> None:
    """Every kind of subject event, and a correction of each correctable kind."""
    n = 0

    def at(result: Any) -> int:
        return app.position_of(UUID(result.aggregate_id), result.version)

    def do(method: str, **fields: Any) -> Any:
        nonlocal n
        n += 1
        return getattr(app, method)({"command_id": f"golden-{n:04d}", **fields}, BUREAU)

    do("register_unit", code="G-U1", name="金色测试局", effective_on="2022-01-01")
    for i in range(1, 5):
        code = f"G-2022-{i:02d}"
        reg = do("register_subject", code=code, name=f"金色项目{i}", kind="project",
                 fiscal_year=2022, unit_code="G-U1", funds="1200.00", is_new=True, is_key=True,
                 tags=["民生"], effective_on="2022-01-10")
        do("record_ex_ante_assessment", subject_code=code, conclusion="调整后支持",
           dimensions={"立项必要性": "必要", "投入经济性": "较好"}, remarks="压减规模")
        do("declare_goals", subject_code=code, indicators=GOALS)
        do("review_goals", subject_code=code, decision="return", comments="补充成本指标")
        do("declare_goals", subject_code=code, indicators=GOALS)
        do("review_goals", subject_code=code, decision="approve")
        do("adjust_goals", subject_code=code,
           indicators=[*GOALS[:2], {**GOALS[2], "target": "85"}], reason="年中调整")
        mon = do("record_monitoring", subject_code=code, round_name="1-8月",
                 window_start="2022-01-01", window_end="2022-08-31", budget_amount="1200.00",
                 executed_amount="300.00", indicators=[
                     {"name": "覆盖人数", "actual": "400", "progress": "40",
                      "likelihood": "有可能", "deviation_cause": "经费保障",
                      "corrective_measures": "加快拨付"}])
        do("submit_self_evaluation", subject_code=code, budget_amount="1200.00",
           executed_amount="1100.00", indicator_results=[
               {"name": "覆盖人数", "actual": "950"}, {"name": "保障水平", "achieved": True},
               {"name": "满意度", "actual": "93"}], effective_on="2023-02-01")
        com = do("commission_evaluation", subject_code=code, agency_code="91340600MA2TZX0001",
                 commissioned_by="XS-CZJ")
        ev = do("record_evaluation", subject_code=code, kind="third_party",
                commission_id=com.ids["commissionId"], agency_code="91340600MA2TZX0001",
                dimensions=DIMS, narrative=f"金色项目{i}评价良好", findings=["资料不全"],
                evaluated_on="2023-03-15")
        if i % 2 == 0:
            spot = do("record_spot_check", subject_code=code, reviews=ev.ids["evaluationId"],
                      score="91.00", findings=["复核上调"])
            do("assign_grade", subject_code=code, grade="EXCELLENT", basis_kind="spot_check",
               basis_id=spot.ids["spotCheckId"], effective_on="2023-04-01")
            do("apply_result", subject_code=code, kind="priority", cites_kind="grade",
               cites_id="grade", remarks="优先安排")
        else:
            do("assign_grade", subject_code=code, grade="GOOD", basis_kind="evaluation",
               basis_id=ev.ids["evaluationId"], effective_on="2023-04-01")
            res = do("apply_result", subject_code=code, kind="reduce", amount="50.00",
                     cites_kind="evaluation", cites_id=ev.ids["evaluationId"], remarks="核减")
            do("correct_event", position=at(res), values={"amount": "60.00"},
               reason="核减金额更正")
        rec = do("request_rectification", subject_code=code, items=["补齐资料"],
                 deadline="2023-06-30")
        do("report_rectification", rectification_id=rec.ids["rectificationId"],
           subject_code=code, report="已补齐")
        do("review_rectification", rectification_id=rec.ids["rectificationId"],
           subject_code=code, decision="accept" if i % 2 else "return", comments="")
        do("correct_event", position=at(ev), values={"narrative": f"金色项目{i}评价更正"},
           reason="文字更正")
        do("correct_event", position=at(mon), values={"executed_amount": "320.00"},
           reason="执行数更正")
        do("correct_event", position=at(reg), values={"funds": "1180.00"},
           reason="金额更正")
        # A grade-only evaluation, as an imported table records it.
        do("record_evaluation", subject_code=code, kind="finance", dimensions=[],
           published_grade="GOOD", narrative="导入的评价情况", evaluated_on="2023-05-01")
    do("correct_event", position=app.position_of(app.unit("G-U1").id, 1),
       values={"name": "金色测试局（更名）"}, reason="更名")


def record(db: Database) -> None:
    migrate(db)
    app = Ledger(db)
    try:
        load_sample(app, publish=True)
        _lifecycles(app)
        generate(app, districts=2, subjects=40, year=2022, seed=20221231)
    finally:
        app.close()


def stored_events(db: Database) -> list[list[Any]]:
    conn = db.connect()
    try:
        rows = fetchall(db, conn, f"SELECT originator_id, originator_version, topic, state FROM "
                        f"{db.events_table} ORDER BY {db.position_column}", ())
    finally:
        conn.close()
    return [[str(r[0]), int(r[1]), str(r[2]), base64.b64encode(bytes(r[3])).decode()]
            for r in rows]


def view_hashes(db: Database) -> tuple[int, dict[str, str]]:
    app = Ledger(db)
    runner = Runner(db, app)
    try:
        position = runner.catch_up()
        return position, all_hashes(db, runner.conn, position)
    finally:
        runner.close()
        app.close()


DETAIL = """query($code: String!) { ledger { subject(code: $code) {
  code name kind fiscalYear unitCode unitName funds isKey isNew tags goalStatus grade gradeLabel
  score annex version
  goals { level1 level2 name comparator target unit weight libraryCode }
  exAnte { id conclusion remarks dimensions { name text } }
  monitoring { id roundName windowStart windowEnd budgetAmount executedAmount executionRate
    ruleVersion indicators { name actual progress expectedCompletion likelihood deviationCause
    correctiveMeasures } warnings { code indicator message } }
  selfEvaluation { score parts { name points } }
  evaluations { id kind commissionId agencyCode dimensions { name weight score } score findings
    narrative evaluatedOn }
  spotChecks { id reviews score findings }
  grading { grade label score basisKind basisId scaleVersion gradedOn }
  consequences { id kind amount citesKind citesId remarks }
  rectifications { id items deadline status reports }
  corrections { version event values reason } } } }"""


def subject_codes(db: Database) -> list[str]:
    conn = db.connect()
    try:
        rows = fetchall(db, conn, "SELECT DISTINCT code FROM subject_rows ORDER BY code", ())
    finally:
        conn.close()
    return [str(r[0]) for r in rows]


def details(db: Database) -> dict[str, Any]:
    """Each subject's detail as the API answers it (None where it failed to answer)."""
    from starlette.testclient import TestClient

    from jixiao.app import create_app
    from tests.e2e.conftest import bearer, issue_token

    out: dict[str, Any] = {}
    headers = bearer(issue_token(db))
    with TestClient(create_app(db, rate_limit=None), headers=headers) as client:
        for code in subject_codes(db):
            body = client.post("/graphql", json={"query": DETAIL,
                                                 "variables": {"code": code}}).json()
            out[code] = None if body.get("errors") else body["data"]["ledger"]["subject"]
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite:///{tmp}/golden.db")
        record(db)
        events = stored_events(db)
        position, hashes = view_hashes(db)
        answers = details(db)
    with gzip.open(LOG, "wt", encoding="utf-8") as out:
        for e in events:
            out.write(json.dumps(e, ensure_ascii=False) + "\n")
    HASHES.write_text(json.dumps({"events": len(events), "position": position,
                                  "views": hashes}, indent=2) + "\n")
    DETAILS.write_text(json.dumps(answers, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{len(events)} events, position {position}: {hashes}", file=sys.stderr)


if __name__ == "__main__":
    main()
