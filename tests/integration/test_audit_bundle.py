"""The auditor's bundle: export from either store, verify offline (no database), replay the
annex tables, and name the line of any edit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.annex import AnnexKind, AnnexTable
from ledger.application import Ledger
from ledger.domain.base import Meta
from ledger.domain.disclosure import Disclosure
from ledger.errors import DomainError
from ledger.integrity.bundle import export_bundle
from ledger.integrity.checkpoint import (
    Checkpoint,
    NoteSigner,
    init_key_file,
    load_signer,
    sign_note,
)
from ledger.integrity.service import checkpoint_now
from ledger.integrity.verifier import BundleError, BundleReport, verify_bundle
from ledger.store import Database, fetchone
from projections.views import ReadModel
from tests.integration.helpers import configure_key, do
from tests.sample_stores import SampleStores

pytestmark = pytest.mark.slow  # exports, verifies and replays bundles

ORIGIN = "jixiao.test/ledger"
ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, db: Database | None = None,
        key: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    if db is not None:
        env["JIXIAO_DATABASE_URL"] = db.url
    if key is not None:
        env["JIXIAO_KEY_FILE"] = str(key)
    return subprocess.run([sys.executable, "-m", "jixiao.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def line_of(bundle: Path, *needles: bytes) -> int:
    lines = (bundle / "events.jsonl").read_bytes().split(b"\n")
    return next(i for i, line in enumerate(lines, start=1) if all(n in line for n in needles))


def edit_line(bundle: Path, number: int, old: bytes, new: bytes) -> int:
    """Edit one line of events.jsonl; returns that record's position."""
    path = bundle / "events.jsonl"
    lines = path.read_bytes().split(b"\n")
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    path.write_bytes(b"\n".join(lines))
    return int(json.loads(lines[number - 1])["position"])


@pytest.fixture
def signer(ledger: Ledger, sample_stores: SampleStores) -> NoteSigner:
    """The log's key; the ledger authenticates what it appends with it (event MACs). The
    session's key for ORIGIN: copies under `@pytest.mark.sample(origin=ORIGIN)` were
    recorded with it."""
    key = sample_stores.signer(ORIGIN)
    ledger.event_key.use(key)
    return key


@pytest.fixture
def bundle(ledger: Ledger, database: Database, signer: NoteSigner, tmp_path: Path) -> Path:
    """The sample's audit bundle; its tests are marked sample(origin=ORIGIN)."""
    checkpoint_now(database, ledger, signer)
    out = tmp_path / "bundle"
    export_bundle(database, ledger, out, signer.verifier())
    return out


@pytest.mark.sample
def test_done_scenario_live_tamper_and_offline_bundles(ledger: Ledger, database: Database,
                                                       tmp_path: Path) -> None:
    """Sample, checkpoint, export; then one byte of a stored event changes: the live check
    names it, the bundle from before still verifies, an edited bundle names its line."""
    key = tmp_path / "signing.key"
    init_key_file(key, ORIGIN)
    public = load_signer(key).verifier().text()
    assert cli("checkpoint", db=database, key=key).returncode == 0
    before = tmp_path / "before"
    exported = cli("audit", "export", "--out", str(before), db=database, key=key)
    assert exported.returncode == 0, exported.stderr

    target = ledger.position_of(ledger.subject("XS-2022-KP-05").id, 1)
    conn = database.connect()
    try:
        table, column = database.events_table, database.position_column
        if database.backend == "sqlite":
            conn.execute("DROP TRIGGER jixiao_events_no_update")
        else:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER jixiao_events_append_only")
        state = bytes(fetchone(database, conn, f"SELECT state FROM {table} WHERE {column} = ?",
                               (target,))[0])
        conn.execute(database.sql(f"UPDATE {table} SET state = ? WHERE {column} = ?"),
                     (state.replace(b"640.85", b"640.86"), target))
    finally:
        conn.close()

    live = cli("verify", db=database, key=key)
    assert live.returncode == 1 and f"position {target}" in live.stderr

    offline = cli("audit", "verify", str(before), "--key", public, "--plain")  # no database
    assert offline.returncode == 0, offline.stderr
    assert "6441.47" in offline.stdout and "24589.14" in offline.stdout

    number = line_of(before, b'"type":"Subject.Registered"', b'"funds":"640.85"')
    position = edit_line(before, number, b'"funds":"640.85"', b'"funds":"640.86"')
    assert position == target
    edited = cli("audit", "verify", str(before), "--key", public)
    assert edited.returncode == 1
    assert f"events.jsonl line {number} (position {target})" in edited.stderr


@pytest.mark.sample(origin=ORIGIN)  # recorded under the signer's key
def test_sample_bundle_prints_the_2022_annexes_with_the_root(bundle: Path,
                                                              signer: NoteSigner) -> None:
    report = verify_bundle(bundle, key=signer.verifier().text())
    assert report.warnings == ()
    totals = {(t.fiscal_year, t.kind): t.total_funds for t in report.tables}
    # 2021 is the sample's illustrative year before (ledger.sample.previous_year): spot-checked
    # self-evaluations, no 财政评价, so nothing in its evaluation tables
    assert totals == {(2022, AnnexKind.KEY_PROJECTS): Decimal("6441.47"),
                      (2022, AnnexKind.DEPARTMENT_OVERALL): Decimal("24589.14"),
                      (2021, AnnexKind.KEY_PROJECTS): Decimal("0.00"),
                      (2021, AnnexKind.DEPARTMENT_OVERALL): Decimal("0.00")}
    grades = [r.grade.label for t in report.tables if t.fiscal_year == 2022
              for r in t.rows if r.grade]
    assert (grades.count("优"), grades.count("良")) == (11, 5)

    (bundle.parent / "public.key").write_text(signer.verifier().text())
    shown = cli("audit", "verify", str(bundle), "--key", str(bundle.parent / "public.key"))
    assert shown.returncode == 0, shown.stderr
    for text in ("2022年度重点项目支出和政策绩效评价情况表", "2022年度部门整体支出绩效评价情况表",
                 "合计", "6441.47", "24589.14", report.root, ORIGIN):
        assert text in shown.stdout
    plain = cli("audit", "verify", str(bundle), "--plain")
    assert plain.returncode == 0, plain.stderr
    assert "合计\t\t\t6441.47" in plain.stdout and f"root {report.root}" in plain.stdout
    assert "warning: verifier key taken from the bundle" in plain.stdout


@pytest.mark.sample(origin=ORIGIN)  # recorded under the signer's key
def test_replay_matches_the_read_models_with_corrections(ledger: Ledger, database: Database,
                                                         signer: NoteSigner,
                                                         tmp_path: Path) -> None:
    first = checkpoint_now(database, ledger, signer)
    subject = ledger.subject("XS-2022-KP-05")
    do(ledger, "correct_event", position=ledger.position_of(subject.id, 1),
       values={"funds": "604.85", "name": "更正后的项目名称"}, reason="录入错误",
       effective_on=date(2022, 1, 1))
    evaluation = next(v for v in range(1, subject.version + 1)
                      if subject.items_by_version.get(v, ("",))[0] == "evaluation")
    do(ledger, "correct_event", position=ledger.position_of(subject.id, evaluation),
       values={"narrative": "更正后的评价情况"}, reason="文字错误")
    unit = ledger.unit(subject.unit_code)
    do(ledger, "correct_event", position=ledger.position_of(unit.id, 1),
       values={"name": "相山区民政局（更正）"}, reason="单位名称")
    last = checkpoint_now(database, ledger, signer)
    out = tmp_path / "bundle"
    export_bundle(database, ledger, out, signer.verifier())

    read = ReadModel(database, ledger)
    try:
        for checkpoint in (first, last):
            report = verify_bundle(out, key=signer.verifier().text(), at=checkpoint.size)
            moment = read.resolve(position=checkpoint.last_position)
            expected = [read.evaluation_table(moment, year, kind)
                         for year in (2021, 2022) for kind in AnnexKind]
            assert list(report.tables) == expected
    finally:
        read.close()
    row = key_projects_2022(verify_bundle(out)).rows[4]
    assert (row.funds, row.subject_name, row.assessment, row.unit_name) == (
        Decimal("604.85"), "更正后的项目名称", "更正后的评价情况", "相山区民政局（更正）")
    assert key_projects_2022(verify_bundle(out, at=first.size)).rows[4].funds == Decimal(
        "640.85")


@pytest.mark.sample(origin=ORIGIN)  # recorded under the signer's key
def test_edits_to_the_bundle_are_named(bundle: Path) -> None:
    number = line_of(bundle, b'"type":"Subject.GradeAssigned"', b'"grade":"GOOD"')
    position = edit_line(bundle, number, b'"grade":"GOOD"', b'"grade":"EXCELLENT"')
    with pytest.raises(BundleError) as found:
        verify_bundle(bundle)
    assert (found.value.line, found.value.position) == (number, position)
    assert "differs from the sealed record" in str(found.value)

    # With the leaf hashes edited to match, the line can no longer be named, but still fails.
    leaves = (bundle / "leaf-hashes.txt").read_text().split("\n")
    leaves[0] = "00" * 32
    (bundle / "leaf-hashes.txt").write_text("\n".join(leaves))
    with pytest.raises(BundleError, match="do not reproduce the signed root"):
        verify_bundle(bundle)


def key_projects_2022(report: BundleReport) -> AnnexTable:
    return next(t for t in report.tables
                if (t.fiscal_year, t.kind) == (2022, AnnexKind.KEY_PROJECTS))


@pytest.mark.sample(origin=ORIGIN)  # recorded under the signer's key
def test_non_canonical_missing_and_extra_lines_fail(bundle: Path) -> None:
    original = (bundle / "events.jsonl").read_bytes()
    lines = original.split(b"\n")[:-1]

    number = line_of(bundle, b'"type":"Subject.Registered"')
    edit_line(bundle, number, b'"is_key":', b'"is_key": ')
    with pytest.raises(BundleError, match=rf"line {number} \(position \d+\): .*canonical"):
        verify_bundle(bundle)
    (bundle / "events.jsonl").write_bytes(original)
    number = line_of(bundle, b'"type":"Subject.GoalsApproved"')
    edit_line(bundle, number, b'"version":', b'"version": ')
    with pytest.raises(BundleError, match=rf"line {number} \(position \d+\): .*canonical"):
        verify_bundle(bundle, strict=True)
    with pytest.raises(BundleError, match=rf"line {number} .*differs from the sealed record"):
        verify_bundle(bundle)

    (bundle / "events.jsonl").write_bytes(b"\n".join(lines[:10] + lines[11:]) + b"\n")
    with pytest.raises(BundleError, match="line 11"):
        verify_bundle(bundle)

    (bundle / "events.jsonl").write_bytes(b"\n".join(lines[:-1]) + b"\n")
    size = len(lines)  # the sample's events, all under the one checkpoint
    with pytest.raises(BundleError, match=f"has {size - 1} records, but checkpoint {size}"):
        verify_bundle(bundle)

    extra = json.loads(lines[-1])
    extra["position"] += 1
    line = json.dumps(extra, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    (bundle / "events.jsonl").write_bytes(original + line.encode() + b"\n")
    with pytest.raises(BundleError, match=rf"line {size + 1} .*beyond the last signed checkpoint"):
        verify_bundle(bundle)


@pytest.mark.sample(origin=ORIGIN)  # recorded under the signer's key
def test_checkpoint_signatures_and_pinned_key(bundle: Path, signer: NoteSigner) -> None:
    stranger = NoteSigner.generate(ORIGIN)
    with pytest.raises(BundleError, match="not signed by key"):
        verify_bundle(bundle, key=stranger.verifier().text())

    [note] = (bundle / "checkpoints").iterdir()
    text = note.read_text()
    size = len((bundle / "events.jsonl").read_bytes().splitlines())
    assert f"\n{size}\n" in text
    note.write_text(text.replace(f"\n{size}\n", f"\n{size - 1}\n", 1))
    with pytest.raises(BundleError, match=f"checkpoints/{note.name}: invalid signature"):
        verify_bundle(bundle, key=signer.verifier().text())


@pytest.mark.sample(origin=ORIGIN)  # recorded under the signer's key
def test_disclosure_must_name_a_checkpoint_the_log_reproduces(
        ledger: Ledger, database: Database, signer: NoteSigner, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger refuses such a citation (tests/e2e/test_disclosure_citation.py); one that
    reached the log anyway (recorded before the ledger checked citations, or by other
    software holding the key) is caught offline."""
    configure_key(signer, tmp_path, monkeypatch)  # the ledger checks citations by it
    real = checkpoint_now(database, ledger, signer)
    forged = {**real.for_disclosure(), "root": "A" * 43 + "="}
    with pytest.raises(DomainError) as refused:
        do(ledger, "record_disclosure", fiscal_year=2022, audience="public", title="公开",
           subject_codes=[], content_hash="cd" * 32, content_position=real.last_position,
           checkpoint={**forged, "note": real.note})
    assert refused.value.code == "CHECKPOINT_MISMATCH"
    ledger.save(Disclosure(disclosure_id="forged", fiscal_year=2022, audience="public",
                           title="公开", subject_codes=[], content_hash="cd" * 32,
                           content_position=real.last_position, checkpoint=forged,
                           meta=Meta(actor_id="insider", actor_role="finance_bureau",
                                     command_id="forged")))
    checkpoint_now(database, ledger, signer)
    export_bundle(database, ledger, tmp_path / "b", signer.verifier())
    with pytest.raises(BundleError, match=f"disclosure names checkpoint {real.size}"):
        verify_bundle(tmp_path / "b")


@pytest.mark.sample(origin=ORIGIN)  # recorded under the signer's key
def test_known_checkpoints_expose_a_rewritten_history(
        ledger: Ledger, database: Database, signer: NoteSigner, tmp_path: Path) -> None:
    seen = checkpoint_now(database, ledger, signer)
    do(ledger, "register_unit", code="NEW", name="新单位")
    checkpoint_now(database, ledger, signer)
    export_bundle(database, ledger, tmp_path / "b", signer.verifier())
    assert verify_bundle(tmp_path / "b", known=[seen.note]).events == seen.size + 2

    # Whoever holds the key can sign another history, but not one that extends what was seen.
    forged = sign_note(Checkpoint.create(seen.origin, 100, b"\x01" * 32).body(), signer)
    with pytest.raises(BundleError, match=r"history was rewritten: .* checkpoint 100"):
        verify_bundle(tmp_path / "b", known=[forged])
    beyond = sign_note(Checkpoint.create(seen.origin, 10_000, b"\x01" * 32).body(), signer)
    with pytest.raises(BundleError, match="beyond this bundle"):
        verify_bundle(tmp_path / "b", known=[beyond])
    (tmp_path / "forged.note").write_text(forged)
    shown = cli("audit", "verify", str(tmp_path / "b"), "--known", str(tmp_path / "forged.note"))
    assert shown.returncode == 1 and "history was rewritten" in shown.stderr


def test_verifier_imports_no_storage_or_server() -> None:
    probe = ("import sys, ledger.integrity.verifier\n"
             "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'eventsourcing', "
             "'psycopg', 'sqlite3', '_sqlite3', 'schema', 'starlette', 'uvicorn', "
             "'strawberry'} or m in {'ledger.store', 'ledger.application', 'ledger.log'})\n"
             "print(bad)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
