"""What the ledger accepts as a closing's checkpoint: only one of this log's, signed by its
key, stated as its note states it and covering the year's records; and `jixiao close-year`,
which signs one and cites it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.domain.fiscal_year import FiscalYear, year_id
from ledger.errors import DomainError, InvalidInput
from ledger.integrity.checkpoint import (
    Checkpoint,
    NoteSigner,
    init_key_file,
    load_signer,
    sign_note,
)
from ledger.integrity.service import CheckpointInfo, checkpoint_now, origin_setting
from ledger.migrate import migrate
from ledger.store import Database
from projections.fiscal_year import close_fiscal_year
from projections.views import ReadModel
from tests.integration.helpers import do, max_position, setup_units


@pytest.fixture
def signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NoteSigner:
    key = tmp_path / "signing.key"
    init_key_file(key, "jixiao.test/closing")
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key))
    return load_signer(key)


@pytest.fixture
def year(ledger: Ledger, signer: NoteSigner) -> Ledger:
    setup_units(ledger)
    do(ledger, "open_fiscal_year", fiscal_year=2022)
    return ledger


def cited(info: CheckpointInfo, **changed: Any) -> dict[str, Any]:
    return {**info.for_disclosure(), "note": info.note, **changed}


def refusal(ledger: Ledger, checkpoint: dict[str, Any] | None) -> str:
    head = max_position(ledger)
    with pytest.raises(DomainError) as refused:
        do(ledger, "close_fiscal_year", fiscal_year=2022, checkpoint=checkpoint)
    assert max_position(ledger) == head  # nothing appended
    assert refused.value.field is not None and refused.value.field.startswith("checkpoint")
    return refused.value.code


def test_the_ledger_checks_what_a_closing_cites(year: Ledger, database: Database,
                                               signer: NoteSigner, tmp_path: Path) -> None:
    real = checkpoint_now(database, year, signer)
    assert refusal(year, None) == "CHECKPOINT_REQUIRED"  # a key is configured
    assert refusal(year, cited(real, root="A" * 43 + "=")) == "CHECKPOINT_MISMATCH"
    assert refusal(year, cited(real, last_position=real.last_position + 5)) == (
        "CHECKPOINT_MISMATCH")
    forged = real.note.replace(f"\n{real.size}\n", f"\n{real.size + 1}\n", 1)
    assert refusal(year, cited(real, size=real.size + 1, note=forged)) == (
        "CHECKPOINT_NOT_SIGNED")
    stranger = NoteSigner.generate(signer.name)  # the same name, another key
    body = Checkpoint.create(real.origin, real.size, b"\x01" * 32,
                             position=real.last_position).body()
    assert refusal(year, cited(real, root="AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
                               note=sign_note(body, stranger))) == "CHECKPOINT_NOT_SIGNED"

    # Signed by this key, but another database's checkpoint (a key file shared by two).
    other_db = Database.from_url(f"sqlite:///{tmp_path}/other.db")
    migrate(other_db)
    other = Ledger(other_db)
    try:
        setup_units(other)
        do(other, "register_unit", code="X1", name="另一个账本的单位")
        theirs = checkpoint_now(other_db, other, signer)
    finally:
        other.close()
    assert refusal(year, cited(theirs)) == "CHECKPOINT_NOT_OF_THIS_LOG"

    # This log's, but from before the year's last record.
    do(year, "record_budget_request", fiscal_year=2022, code="R1", unit_code="MZJ",
       project_name="新项目", funding_source="一般公共预算", requested_amount="1.00")
    assert refusal(year, cited(real)) == "CHECKPOINT_BEHIND_YEAR"

    fresh = checkpoint_now(database, year, signer)
    do(year, "close_fiscal_year", fiscal_year=2022, checkpoint=cited(fresh))
    closed = year.load(year_id(2022))
    assert isinstance(closed, FiscalYear) and closed.checkpoint == cited(fresh)


def test_the_service_signs_and_a_caller_cannot_supply_a_checkpoint(
        year: Ledger, database: Database, signer: NoteSigner) -> None:
    read = ReadModel(database, year)
    try:
        real = checkpoint_now(database, year, signer)
        with pytest.raises(InvalidInput) as refused:
            close_fiscal_year(read, {"command_id": "close-2022-a", "fiscal_year": 2022,
                                     "checkpoint": cited(real)})
        assert (refused.value.field, refused.value.rule) == ("checkpoint", "server_signed")
        head = max_position(year)
        done = close_fiscal_year(read, {"command_id": "close-2022-b", "fiscal_year": 2022})
    finally:
        read.close()
    closed = year.load(year_id(2022))
    assert isinstance(closed, FiscalYear) and closed.checkpoint is not None
    assert closed.checkpoint["last_position"] == head == done.position - 2  # event, record
    assert f"covers position {head}" in closed.checkpoint_summary


@pytest.fixture
def cli_env(ledger: Ledger, database: Database, signer: NoteSigner) -> Iterator[dict[str, str]]:
    setup_units(ledger)
    do(ledger, "open_fiscal_year", fiscal_year=2022)
    yield {**os.environ, "JIXIAO_DATABASE_URL": database.url}


def jixiao(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jixiao.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_cli_close_year(cli_env: dict[str, str], ledger: Ledger) -> None:
    done = jixiao(cli_env, "close-year", "--year", "2022", "--effective-on", "2023-01-31")
    assert done.returncode == 0, done.stderr
    closed = ledger.load(year_id(2022))
    assert isinstance(closed, FiscalYear) and closed.checkpoint is not None
    assert closed.checkpoint["root"] in done.stdout and origin_setting() in done.stdout
    assert str(closed.closed_on) == "2023-01-31"
    again = jixiao(cli_env, "close-year", "--year", "2022", "--effective-on", "2023-01-31")
    assert again.returncode == 0 and "already recorded" in again.stdout
    unknown = jixiao(cli_env, "close-year", "--year", "2030")
    assert unknown.returncode == 2 and "FISCAL_YEAR_NOT_FOUND" in unknown.stderr
