"""Disclosure packages: the files each audience receives and the event recording them."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.importing.table_reader import read_annex_file
from ledger.store import Database
from projections.exports.coverage_report import ExportRefused
from projections.exports.disclosure import MANIFEST, disclose
from projections.views import ReadModel
from tests.integration.helpers import max_position

pytestmark = [pytest.mark.slow,  # renders whole packages (PDF) per test
              pytest.mark.sample]

KEY_PROJECTS = [f"XS-2022-KP-{n:02d}" for n in range(1, 11)]
DEPARTMENTS = [f"XS-2022-DO-{n:02d}" for n in range(1, 7)]


@pytest.fixture
def read(ledger: Ledger, database: Database) -> Iterator[ReadModel]:
    model = ReadModel(database, ledger)
    yield model
    model.close()


@pytest.fixture(autouse=True)
def no_signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(tmp_path / "no-such.key"))


def manifest_of(directory: Path) -> dict[str, object]:
    found: dict[str, object] = json.loads((directory / MANIFEST).read_text("utf-8"))
    return found


def test_standing_committee_gets_both_annex_tables_and_the_event_says_so(
        ledger: Ledger, read: ReadModel, tmp_path: Path) -> None:
    out = tmp_path / "sc"
    head = max_position(ledger)
    result = disclose(read, fiscal_year=2022, audience="standing-committee", out=out)
    assert sorted(result.files) == sorted(
        [f"annex-{t}-2022.{ext}" for t in ("key-projects", "department-overall")
         for ext in ("xlsx", "pdf", "csv", "csv.provenance.json")] + [MANIFEST])
    assert sorted(p.name for p in out.iterdir()) == sorted(result.files)
    manifest_bytes = (out / MANIFEST).read_bytes()
    assert result.content_hash == hashlib.sha256(manifest_bytes).hexdigest()
    manifest = manifest_of(out)
    assert manifest["position"] == result.content_position == head
    for entry in manifest["files"]:  # type: ignore[attr-defined]
        data = (out / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
    assert manifest["checkpoint"] is None
    assert manifest["checkpoint_note"] is None
    assert "no signing key configured" in str(manifest["checkpoint_summary"])
    assert "no signing key configured" in result.checkpoint_note
    assert read_annex_file(out / "annex-key-projects-2022.xlsx").declared_total == Decimal(
        "6441.47")
    assert read_annex_file(out / "annex-department-overall-2022.csv").declared_total == Decimal(
        "24589.14")

    assert result.recorded_position > head
    package = read.disclosure(read.resolve(), 2022, "standing_committee")
    [record] = package.disclosures
    assert record.content_hash == result.content_hash
    assert record.content_position == head
    assert sorted(record.subject_codes) == sorted(KEY_PROJECTS + DEPARTMENTS)
    assert record.checkpoint is None


def test_peoples_congress_gets_the_key_goals(ledger: Ledger, read: ReadModel,
                                             tmp_path: Path) -> None:
    result = disclose(read, fiscal_year=2022, audience="peoples-congress", out=tmp_path / "pc")
    assert {Path(f).stem for f in result.files} >= {"goals-key-2022"}
    text = (tmp_path / "pc" / "goals-key-2022.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:5] == ["序号", "项目名称", "实施单位/牵头单位", "财政资金(单位:万元)",
                           "目标状态"]
    assert rows[1][1] == "相山区住房和城乡建设局2022年市政应急维修项目"
    assert rows[1][4] == "已批复" and rows[1][7] == "任务完成数" and rows[1][8] == "≥100%"
    assert rows[2][1] == "" and rows[2][7] == "按期完成率"  # a subject's cells once
    assert rows[-1][0] == "合计" and Decimal(rows[-1][3]) == Decimal("31030.61")
    # 2022's 16 key subjects (the sample flags every subject key), and the 2021 subjects whose
    # 优 spot checks gave 2022 requests priority (the sample's year before), from the 2021
    # results ledger the budget draft carries
    assert sorted(result.subject_codes) == sorted(
        KEY_PROJECTS + DEPARTMENTS + ["XS-2021-DO-01", "XS-2021-DO-02"])
    assert {Path(f).stem for f in result.files} >= {"results-ledger-2021"}


def test_the_budget_draft_carries_last_years_results_ledger(read: ReadModel,
                                                            tmp_path: Path) -> None:
    """2023's package for the people's congress: the (empty) key goals of 2023 and what the
    2022 results did to the 2023 budget, in every format, listed in the manifest."""
    out = tmp_path / "pc2023"
    result = disclose(read, fiscal_year=2023, audience="peoples-congress", out=out)
    ledger_files = [f"results-ledger-2022.{ext}"
                    for ext in ("xlsx", "pdf", "csv", "csv.provenance.json")]
    assert sorted(result.files) == sorted(
        [f"goals-key-2023.{ext}" for ext in ("xlsx", "pdf", "csv", "csv.provenance.json")]
        + ledger_files + [MANIFEST])
    manifest = manifest_of(out)
    listed = {e["path"]: e["sha256"] for e in manifest["files"]}  # type: ignore[attr-defined]
    for name in ledger_files:
        assert listed[name] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    assert sorted(result.subject_codes) == sorted(KEY_PROJECTS + DEPARTMENTS)
    rows = list(csv.reader((out / "results-ledger-2022.csv").read_text("utf-8-sig")
                           .splitlines()))
    recovered = next(r for r in rows if len(r) > 5 and r[5] == "收回")
    assert (recovered[2], recovered[8]) == ("相山区渠沟镇人民政府2022年环卫保洁作业市场化项目",
                                            "20.00")
    assert ["2", "收回合计", "20.00", "万元"] in rows
    sidecar = json.loads((out / "results-ledger-2022.csv.provenance.json").read_text("utf-8"))
    assert sidecar["position"] == manifest["position"] == result.content_position
    assert "no signing key configured" in sidecar["checkpoint_summary"]


def test_an_empty_results_ledger_adds_nothing(read: ReadModel, tmp_path: Path) -> None:
    """2022's package carries the 2021 results ledger only if 2021 results had consequences;
    2024's has neither goals nor 2023 consequences, so there is nothing to disclose."""
    result = disclose(read, fiscal_year=2022, audience="peoples-congress", out=tmp_path / "pc")
    earlier = read.results_ledger(read.resolve(), 2021).rows
    assert any("results-ledger-2021" in f for f in result.files) == bool(earlier)
    assert not any("results-ledger-2022" in f for f in result.files)
    with pytest.raises(ExportRefused, match="nothing to disclose"):
        disclose(read, fiscal_year=2024, audience="peoples-congress", out=tmp_path / "none")


def test_public_gets_annex_tables_and_goals(read: ReadModel, tmp_path: Path) -> None:
    result = disclose(read, fiscal_year=2022, audience="public", out=tmp_path / "pub")
    names = {f.split(".")[0] for f in result.files}
    assert names == {"annex-key-projects-2022", "annex-department-overall-2022",
                     "goals-key-2022", "manifest"}


def test_a_configured_key_signs_a_checkpoint_just_before(
        ledger: Ledger, read: ReadModel, database: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.integrity.checkpoint import init_key_file
    from ledger.integrity.service import latest_checkpoint

    key = tmp_path / "signing.key"
    init_key_file(key, "test.jixiao")
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key))
    head = max_position(ledger)
    result = disclose(read, fiscal_year=2022, audience="standing-committee",
                      out=tmp_path / "signed")
    checkpoint = latest_checkpoint(database)
    assert checkpoint is not None and checkpoint.last_position >= head
    assert result.checkpoint == checkpoint.for_disclosure()
    assert manifest_of(tmp_path / "signed")["checkpoint_note"] == checkpoint.note
    sidecar = json.loads((tmp_path / "signed" / "annex-key-projects-2022.csv.provenance.json")
                         .read_text("utf-8"))
    assert sidecar["checkpoint_note"] == checkpoint.note
    sidecar = json.loads((tmp_path / "signed" / "annex-key-projects-2022.csv.provenance.json")
                         .read_text("utf-8"))
    assert sidecar["checkpoint_root"] == checkpoint.root
    assert manifest_of(tmp_path / "signed")["checkpoint"] == checkpoint.for_disclosure()
    [record] = read.disclosure(read.resolve(), 2022, "standing_committee").disclosures
    assert record.checkpoint == checkpoint.citation()  # with the note the ledger checked


def test_refusals_leave_the_ledger_as_it_was(ledger: Ledger, read: ReadModel,
                                             tmp_path: Path) -> None:
    head = max_position(ledger)
    with pytest.raises(ExportRefused, match="nothing to disclose"):
        disclose(read, fiscal_year=2023, audience="public", out=tmp_path / "empty")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "old.txt").write_text("x")
    with pytest.raises(ExportRefused, match="not an empty directory"):
        disclose(read, fiscal_year=2022, audience="public", out=busy)
    assert max_position(ledger) == head
    assert not (tmp_path / "empty").exists()


def test_cli_disclose(ledger: Ledger, read: ReadModel, database: Database,
                      tmp_path: Path) -> None:
    env = {**os.environ, "JIXIAO_DATABASE_URL": database.url,
           "JIXIAO_KEY_FILE": str(tmp_path / "no-such.key")}
    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "jixiao.cli", "disclose", "--year", "2022",
                           "--audience", "standing-committee", "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256((out / MANIFEST).read_bytes()).hexdigest()
    assert digest in done.stdout and "no signing key configured" in done.stdout
    [record] = read.disclosure(read.resolve(), 2022, "standing_committee").disclosures
    assert record.content_hash == digest
    refused = subprocess.run([sys.executable, "-m", "jixiao.cli", "disclose", "--year", "2022",
                              "--audience", "public", "--out", str(out)], env=env,
                             capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode == 2 and "not an empty directory" in refused.stderr


def test_cli_disclose_with_a_key_records_the_checkpoint_it_signed(
        ledger: Ledger, read: ReadModel, database: Database, tmp_path: Path) -> None:
    """The honest path once a key is configured: the ledger checks the citation `jixiao
    disclose` makes (ledger/integrity/citation.py) and takes it."""
    from ledger.integrity.checkpoint import init_key_file, open_note
    from ledger.integrity.service import latest_checkpoint

    verifier = init_key_file(tmp_path / "signing.key", "test.jixiao")
    env = {**os.environ, "JIXIAO_DATABASE_URL": database.url,
           "JIXIAO_KEY_FILE": str(tmp_path / "signing.key")}
    out = tmp_path / "cli"
    head = max_position(ledger)
    done = subprocess.run([sys.executable, "-m", "jixiao.cli", "disclose", "--year", "2022",
                           "--audience", "public", "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    signed = latest_checkpoint(database)
    assert signed is not None and signed.last_position == head
    [record] = read.disclosure(read.resolve(), 2022, "public").disclosures
    assert record.content_position == head
    assert record.checkpoint == signed.citation()
    assert open_note(str(record.checkpoint["note"]), verifier).size == signed.size
    assert manifest_of(out)["checkpoint"] == signed.for_disclosure()
