"""The sample's monitoring round: 相山区's 1–8月 绩效运行监控 of 2022, over the sample's subjects.

FACT (from the source report): the bureau monitored the units' January–August budget
execution and goal achievement in September 2022 (728 projects, 97,470万元 district-wide;
the sample's 16 subjects are a subset).

ILLUSTRATIVE: the round's id and due date, which subjects reported on time, late or not at
all, the snapshot figures (set by the loader), and the action that followed the warning.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

ROUND_ID = "XS-2022-MON-01-08"
ROUND_NAME = "2022年1-8月绩效运行监控"
DUE_ON = date(2022, 9, 20)
REPORTED_ON = date(2022, 9, 15)
LATE = {"XS-2022-KP-07": date(2022, 9, 28)}  # illustrative: one report after the due date
NOT_REPORTED = ("XS-2022-KP-04", "XS-2022-DO-05")  # illustrative: still owed


def open_round(run: Any) -> None:
    run("open_monitoring_round", ROUND_ID, round_id=ROUND_ID, name=ROUND_NAME,
        fiscal_year=2022, window_start_month=1, window_end_month=8, due_on=DUE_ON.isoformat(),
        effective_on=date(2022, 9, 1))


def report(run: Any, code: str, funds: Decimal, lagging: bool) -> None:
    """The subject's snapshot for the round (if it reported), and for a lagging one the
    bureau's action on its execution warning."""
    if code in NOT_REPORTED:
        return
    executed = (funds * Decimal("0.35" if lagging else "0.62")).quantize(Decimal("0.01"))
    snapshot = run("record_monitoring", code, subject_code=code, round_name=ROUND_NAME,
                   round_id=ROUND_ID, window_start="2022-01-01", window_end="2022-08-31",
                   budget_amount=str(funds), executed_amount=str(executed),
                   effective_on=LATE.get(code, REPORTED_ON), indicators=[
                       {"name": "任务完成数", "progress": "50" if lagging else "65",
                        "likelihood": "有可能" if lagging else "确定能",
                        "deviation_cause": "经费保障" if lagging else None,
                        "corrective_measures": "加快合同约定的付款进度" if lagging else ""},
                       {"name": "按期完成率", "progress": "60", "likelihood": "确定能"}])
    if lagging:  # its first warning is EXECUTION_BEHIND (35% against 66.67% less 10 points)
        run("act_on_warning", code, subject_code=code,
            snapshot_id=snapshot.ids["snapshotId"], warning_index=0, action="adjust_budget",
            amount="300.00", remarks="执行进度滞后，调减年度预算300万元统筹用于其他亟需领域",
            effective_on=date(2022, 9, 26))
