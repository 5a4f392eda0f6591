"""Small builders shared by the integration tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.integrity.checkpoint import NoteSigner
from ledger.runtime import Actor, CommandResult

BUREAU = Actor(id="tester", role="finance_bureau", unit_code="FB")

INDICATORS = [
    {"level1": "产出", "level2": "数量", "name": "覆盖人数", "comparator": ">=", "target": "1000",
     "unit": "人", "weight": "40"},
    {"level1": "效益", "level2": "社会效益", "name": "保障水平", "comparator": "qualitative",
     "target": "提升", "weight": "40"},
    {"level1": "满意度", "level2": "服务对象满意度", "name": "满意度", "comparator": ">=",
     "target": "90", "unit": "%", "weight": "20"},
]
PROJECT_DIMS = [{"name": "决策", "weight": "20", "score": "18"},
                {"name": "过程", "weight": "20", "score": "18"},
                {"name": "产出", "weight": "30", "score": "28"},
                {"name": "效益", "weight": "30", "score": "28"}]  # 92.00


def cid() -> str:
    return f"test-{uuid.uuid4().hex}"


def configure_key(signer: NoteSigner, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `signer` the configured key file (JIXIAO_KEY_FILE), as `jixiao keys init` would:
    the ledger then checks the checkpoints records cite by it."""
    path = directory / "configured.key"
    path.write_text(signer.text(), encoding="ascii")
    path.chmod(0o600)
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(path))


def do(app: Ledger, method: str, **fields: Any) -> CommandResult:
    result: CommandResult = getattr(app, method)({"command_id": cid(), **fields}, BUREAU)
    return result


def max_position(app: Ledger) -> int:
    return int(app.recorder.max_notification_id() or 0)


def setup_units(app: Ledger) -> None:
    do(app, "register_unit", code="FB", name="相山区财政局", kind="finance_bureau")
    do(app, "register_unit", code="MZJ", name="相山区民政局")
    do(app, "admit_agency", code="AG1", name="安徽准信会计师事务所")


def approved_subject(app: Ledger, code: str = "S1", funds: str = "640.85",
                     is_new: bool = False) -> None:
    do(app, "register_subject", code=code, name="相山区民政局2022年农村最低生活保障金",
       kind="project", fiscal_year=2022, unit_code="MZJ", funds=funds, is_new=is_new,
       is_key=True)
    if is_new:
        do(app, "record_ex_ante_assessment", subject_code=code, conclusion="予以支持",
           dimensions={"立项必要性": "必要"})
    do(app, "declare_goals", subject_code=code, indicators=INDICATORS)
    do(app, "review_goals", subject_code=code, decision="approve")


def evaluated_subject(app: Ledger, code: str = "S1") -> str:
    approved_subject(app, code)
    com = do(app, "commission_evaluation", subject_code=code, agency_code="AG1",
             commissioned_by="FB")
    ev = do(app, "record_evaluation", subject_code=code, kind="finance",
            commission_id=com.ids["commissionId"], agency_code="AG1", dimensions=PROJECT_DIMS,
            narrative="评价为优", evaluated_on="2023-03-15")
    return ev.ids["evaluationId"]


def self_evaluated_subject(app: Ledger, code: str = "S1") -> None:
    approved_subject(app, code)
    do(app, "submit_self_evaluation", subject_code=code, budget_amount="1.00",
       executed_amount="1.00", indicator_results=[
           {"name": "覆盖人数", "actual": "1000"}, {"name": "保障水平", "achieved": True},
           {"name": "满意度", "actual": "95"}])
    do(app, "review_self_evaluation", subject_code=code, version=1, decision="accept")


def eventually(check: Callable[[], bool], within: float = 5.0, what: str = "condition") -> float:
    """Seconds until `check` held; fails the test if it never did."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < within, f"{what} never held"
        time.sleep(0.01)
    return time.monotonic() - start
