"""The command line as a user runs it: migrate, sample load, log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ledger.store import Database

pytestmark = pytest.mark.slow  # a process per command


def jixiao(db: Database, *args: str) -> str:
    env = {**os.environ, "JIXIAO_DATABASE_URL": db.url}
    done = subprocess.run([sys.executable, "-m", "jixiao.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sample_load_then_log_shows_the_sixteen_subjects(database: Database,
                                                          tmp_path: Path) -> None:
    assert "sample loaded" in jixiao(database, "sample", "load")
    records = [json.loads(line) for line in jixiao(database, "log").splitlines()]
    positions = [r["position"] for r in records]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    registered = [r for r in records if r["type"] == "Subject.Registered"
                  and r["payload"]["fiscal_year"] == 2022]
    assert len(registered) == 16  # and 2021's (ledger.sample.previous_year), another year
    funds = {prefix: sum(Decimal(r["payload"]["funds"]) for r in registered
                         if r["payload"]["code"].startswith(prefix))
             for prefix in ("XS-2022-KP", "XS-2022-DO")}
    assert funds == {"XS-2022-KP": Decimal("6441.47"), "XS-2022-DO": Decimal("24589.14")}
    # Every subject has its whole lifecycle, each event naming actor, command and date.
    one = [r for r in records if r["aggregate_id"] == registered[0]["aggregate_id"]]
    assert [r["type"].split(".")[1] for r in one] == [
        "Registered", "GoalsDeclared", "GoalsApproved", "MonitoringRecorded",
        "SelfEvaluationSubmitted", "SelfEvaluationAccepted", "EvaluationCommissioned",
        "EvaluationRecorded",
        "GradeAssigned", "ResultApplied"]
    assert all(r["actor"]["role"] == "finance_bureau" and r["command_id"] and r["effective_on"]
               for r in one)
    # Loading again appends nothing: every command id is fixed.
    jixiao(database, "sample", "load")
    assert len(jixiao(database, "log").splitlines()) == len(records)
    # A subject's goal table (绩效目标表) as a file, at the last position.
    out = tmp_path / "goal-table.xlsx"
    said = jixiao(database, "export-goal-table", "--subject", "XS-2022-KP-05", "--format",
                  "xlsx", "--out", str(out))
    assert "ledger position" in said and "XS-2022-KP-05" in said
    sheet = load_workbook(out).active
    cells = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0]}
    assert cells["年度资金总额（万元）"] == "640.85" and "退回" in cells["审核记录"]
    # The results ledger (结果应用台账) of 2022, with its sidecar.
    ledger_csv = tmp_path / "results-ledger.csv"
    said = jixiao(database, "export", "--year", "2022", "--table", "results-ledger",
                  "--format", "csv", "--out", str(ledger_csv))
    assert "2022年度绩效评价结果应用台账, 18 rows" in said and "ledger position" in said
    assert "2,收回合计,20.00,万元" in ledger_csv.read_text("utf-8-sig").splitlines()
    assert (tmp_path / "results-ledger.csv.provenance.json").exists()


def test_log_filters_by_subject_and_time(database: Database) -> None:
    jixiao(database, "sample", "load")
    mine = [json.loads(line) for line in
            jixiao(database, "log", "--subject", "XS-2022-DO-06").splitlines()]
    assert {r["aggregate_id"] for r in mine} == {mine[0]["aggregate_id"]}
    assert mine[0]["payload"]["name"] == "相山区渠沟镇人民政府2022年整体支出"
    assert jixiao(database, "log", "--until", "2000-01-01T00:00:00+08:00") == ""
    later = jixiao(database, "log", "--from", str(mine[-1]["position"]))
    assert json.loads(later.splitlines()[0])["position"] == mine[-1]["position"]
