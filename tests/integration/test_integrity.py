"""The verifiable log on the live store: sealing, checkpoints, proofs, append-only triggers,
and tamper evidence (`jixiao verify`), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.errors import NotFound, RuleViolation
from ledger.integrity.bundle import export_bundle
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.checkpoint import NoteSigner, init_key_file, open_note
from ledger.integrity.merkle import leaf_hash, root_of, verify_consistency, verify_inclusion
from ledger.integrity.sealer import BATCH as SEAL_BATCH
from ledger.integrity.sealer import Sealer, verify_store
from ledger.integrity.service import (
    checkpoint_now,
    checkpoints,
    latest_checkpoint,
    prove_consistency,
    prove_inclusion,
)
from ledger.integrity.verifier import verify_bundle
from ledger.log import read_log
from ledger.sample.synthetic import EVENTS_PER_SUBJECT, generate
from ledger.store import Database, fetchall, fetchone
from tests.integration.helpers import configure_key, do, setup_units
from tests.sample_stores import SampleStores

ORIGIN = "jixiao.test/ledger"


@pytest.fixture
def signer(ledger: Ledger, sample_stores: SampleStores) -> NoteSigner:
    """The log's key; the ledger authenticates what it appends with it (event MACs). The
    session's key for ORIGIN: copies under `@pytest.mark.sample(origin=ORIGIN)` were
    recorded with it."""
    key = sample_stores.signer(ORIGIN)
    ledger.event_key.use(key)
    return key


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def recomputed_leaves(ledger: Ledger) -> list[tuple[int, bytes]]:
    return [(r.position, leaf_hash(canonical_bytes(r.as_json()))) for r in read_log(ledger)]


def stored_leaves(db: Database) -> list[tuple[int, int, bytes]]:
    conn = db.connect()
    try:
        rows = fetchall(db, conn, "SELECT leaf_index, position, leaf_hash FROM integrity_leaves "
                        "ORDER BY leaf_index")
        return [(int(i), int(p), bytes(h)) for i, p, h in rows]
    finally:
        conn.close()


def run_cli(db: Database, key: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JIXIAO_DATABASE_URL": db.url, "JIXIAO_KEY_FILE": str(key),
           "JIXIAO_ORIGIN": ORIGIN}
    return subprocess.run([sys.executable, "-m", "jixiao.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def tamper(db: Database, position: int, old: bytes, new: bytes) -> None:
    """What a malicious operator does: switch the append-only trigger off, edit the state."""
    conn = db.connect()
    try:
        table, column = db.events_table, db.position_column
        if db.backend == "sqlite":
            conn.execute("DROP TRIGGER jixiao_events_no_update")
        else:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER jixiao_events_append_only")
        row = fetchone(db, conn, f"SELECT state FROM {table} WHERE {column} = ?", (position,))
        state = bytes(row[0])
        assert state.count(old) == 1, state
        conn.execute(db.sql(f"UPDATE {table} SET state = ? WHERE {column} = ?"),
                     (state.replace(old, new), position))
    finally:
        conn.close()


GOLDEN = (  # the canonical record of a sample event, recorded_at and position masked
    '{"actor":{"id":"sample-loader","role":"finance_bureau"},"aggregate_id":'
    '"3d57d126-1c3d-5e66-90af-8c7ee439fce8","command_id":"sample-2022-register_subject-'
    'XS-2022-KP-05","effective_on":"2022-01-01","payload":{"code":"XS-2022-KP-05",'
    '"fiscal_year":2022,"funds":"640.85","is_key":true,"is_new":false,"kind":"project",'
    '"name":"相山区民政局2022年农村最低生活保障金","tags":["民生"],"unit_code":"XS-U03"},'
    '"position":0,"recorded_at":"@","type":"Subject.Registered","version":1}')


@pytest.mark.slow
@pytest.mark.sample
def test_canonical_records_are_the_same_on_every_store(ledger: Ledger) -> None:
    """What is hashed must not depend on the backend or drift with our code: a golden record."""
    position = ledger.position_of(ledger.subject("XS-2022-KP-05").id, 1)
    record = next(read_log(ledger, start=position)).as_json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00",
                        record["recorded_at"])
    masked = {**record, "recorded_at": "@", "position": 0}
    assert canonical_bytes(masked).decode() == GOLDEN


@pytest.mark.slow
@pytest.mark.sample
def test_sealer_covers_every_event_in_position_order(ledger: Ledger, database: Database) -> None:
    state = Sealer(database, ledger, batch=50).seal()
    expected = recomputed_leaves(ledger)
    assert state.size == len(expected) and state.position == expected[-1][0]
    assert [(p, h) for _, p, h in stored_leaves(database)] == expected
    assert [i for i, _, _ in stored_leaves(database)] == list(range(len(expected)))
    assert state.root == root_of([h for _, h in expected])

    # Incremental: new events extend the same tree; nothing pending seals nothing.
    setup_units(ledger)
    again = Sealer(database, ledger, batch=7).seal()
    expected = recomputed_leaves(ledger)
    assert again.size == len(expected) > state.size
    assert again.root == root_of([h for _, h in expected])
    assert Sealer(database, ledger).seal() == again


def test_gaps_in_positions_are_not_leaves(ledger: Ledger, database: Database,
                                          signer: NoteSigner, tmp_path: Path) -> None:
    """PostgreSQL sequences skip numbers (rolled-back inserts): the tree is over the records."""
    if database.backend != "postgres":
        pytest.skip("SQLite rowids have no gaps without deleting rows")
    setup_units(ledger)
    conn = database.connect()
    try:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{database.events_table}', "
                     "'notification_id'), 1000)")
    finally:
        conn.close()
    do(ledger, "register_unit", code="GAP", name="间隔单位")
    checkpoint = checkpoint_now(database, ledger, signer)
    positions = [p for _, p, _ in stored_leaves(database)]
    assert positions == [1, 2, 3, 4, 5, 6, 1001, 1002]  # the unit and its command record
    assert checkpoint.size == len(positions) and checkpoint.last_position > 1000
    assert verify_store(database, ledger, signer.verifier()).ok
    proof = prove_inclusion(database, positions[-1])
    assert proof.leaf_index == len(positions) - 1
    export_bundle(database, ledger, tmp_path / "b", signer.verifier())
    assert verify_bundle(tmp_path / "b").proven_by.last_position == 1002


@pytest.mark.slow
@pytest.mark.sample
def test_two_sealers_at_once_never_double_apply(ledger: Ledger, database: Database) -> None:
    errors: list[BaseException] = []

    def seal() -> None:
        try:
            Sealer(database, ledger, batch=10).seal()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=seal) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    expected = recomputed_leaves(ledger)
    assert [(p, h) for _, p, h in stored_leaves(database)] == expected
    assert verify_store(database, ledger).ok


@pytest.mark.slow
@pytest.mark.sample(origin=ORIGIN)  # recorded under the signer's key
def test_checkpoints_are_signed_and_feed_disclosures(
        ledger: Ledger, database: Database, signer: NoteSigner, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    configure_key(signer, tmp_path, monkeypatch)  # the ledger checks citations by it
    first = checkpoint_now(database, ledger, signer, origin=ORIGIN)
    assert checkpoint_now(database, ledger, signer, origin=ORIGIN) == first  # nothing new
    opened = open_note(first.note, signer.verifier(), origin=ORIGIN)
    assert (opened.size, opened.root, opened.last_position) == (
        first.size, unb64(first.root), first.last_position)
    assert first.last_position == max(p for p, _ in recomputed_leaves(ledger))

    disclosed = do(ledger, "record_disclosure", fiscal_year=2022, audience="standing_committee",
                   title="2022年度绩效评价结果", subject_codes=["XS-2022-KP-01"],
                   content_hash="ab" * 32, content_position=first.last_position,
                   checkpoint=first.citation())
    second = checkpoint_now(database, ledger, signer, origin=ORIGIN)
    assert second.size > first.size and second.last_position == disclosed.position
    record = next(r for r in read_log(ledger, start=first.last_position + 1)
                  if r.type == "Disclosure.Recorded")
    assert record.payload["checkpoint"] == {"origin": ORIGIN, "size": first.size,
                                            "root": first.root,
                                            "last_position": first.last_position,
                                            "note": first.note}
    assert [c.size for c in checkpoints(database)] == [first.size, second.size]
    assert latest_checkpoint(database) == second


@pytest.mark.slow
@pytest.mark.sample(origin=ORIGIN)  # recorded under the signer's key
def test_inclusion_and_consistency_proofs(ledger: Ledger, database: Database,
                                          signer: NoteSigner) -> None:
    old = checkpoint_now(database, ledger, signer)
    setup_units(ledger)
    new = checkpoint_now(database, ledger, signer)
    leaves = recomputed_leaves(ledger)
    for index in (0, 1, old.size // 2, old.size - 1, old.size, new.size - 1):
        position, digest = leaves[index]
        proof = prove_inclusion(database, position)  # the latest checkpoint by default
        assert (proof.leaf_index, proof.tree_size, unb64(proof.leaf_hash)) == (
            index, new.size, digest)
        verify_inclusion(digest, index, new.size, [unb64(h) for h in proof.hashes],
                         unb64(proof.root))
        assert open_note(proof.checkpoint, signer.verifier()).root == unb64(proof.root)
    in_old = prove_inclusion(database, leaves[3][0], old.size)
    verify_inclusion(leaves[3][1], 3, old.size, [unb64(h) for h in in_old.hashes],
                     unb64(old.root))

    proof = prove_consistency(database, old.size, new.size)
    verify_consistency(old.size, new.size, unb64(proof.from_root), unb64(proof.to_root),
                       [unb64(h) for h in proof.hashes])
    assert prove_consistency(database, new.size, new.size).hashes == ()

    with pytest.raises(RuleViolation, match="after checkpoint"):
        prove_inclusion(database, leaves[old.size][0], old.size)
    with pytest.raises(NotFound):
        prove_inclusion(database, leaves[-1][0] + 1000)
    with pytest.raises(NotFound):
        prove_consistency(database, old.size, new.size + 1)


def test_event_store_refuses_update_delete_truncate(ledger: Ledger, database: Database) -> None:
    setup_units(ledger)
    conn = database.connect()
    table = database.events_table
    statements = [f"UPDATE {table} SET topic = topic", f"DELETE FROM {table}"]
    if database.backend == "postgres":
        statements.append(f"TRUNCATE {table}")
    try:
        for statement in statements:
            with pytest.raises(Exception, match="append-only"):
                conn.execute(statement)
    finally:
        conn.close()
    assert len(list(read_log(ledger))) == 6


@pytest.mark.slow  # runs the CLI in processes
@pytest.mark.sample
def test_verify_names_the_position_of_an_edited_event(ledger: Ledger, database: Database,
                                                      tmp_path: Path) -> None:
    key = tmp_path / "signing.key"
    init_key_file(key, ORIGIN)
    made = run_cli(database, key, "checkpoint")
    assert made.returncode == 0, made.stderr
    ok = run_cli(database, key, "verify")
    assert ok.returncode == 0, ok.stderr
    assert "signatures checked" in ok.stdout

    target = ledger.position_of(ledger.subject("XS-2022-KP-05").id, 1)  # funds 640.85
    tamper(database, target, b"640.85", b"640.86")  # one byte; the JSON still decodes
    assert ledger.subject("XS-2022-KP-05").funds == Decimal("640.86")

    failed = run_cli(database, key, "verify")
    assert failed.returncode == 1
    assert f"first changed record at position {target}" in failed.stderr
    assert f"position {target}: stored record no longer matches" in failed.stderr
    report = verify_store(database, ledger)
    assert report.first_position == target and len(report.problems) == 1

    refused = run_cli(database, key, "audit", "export", "--out", str(tmp_path / "after"))
    assert refused.returncode == 1 and f"position {target}" in refused.stderr


@pytest.mark.slow
@pytest.mark.sample(origin=ORIGIN)  # recorded under the signer's key
def test_rewritten_leaves_break_the_checkpoint(ledger: Ledger, database: Database,
                                               signer: NoteSigner) -> None:
    """Editing an event *and* its leaf hash still fails: the signed root no longer holds."""
    checkpoint_now(database, ledger, signer)
    conn = database.connect()
    try:
        if database.backend == "sqlite":
            conn.execute("DROP TRIGGER jixiao_leaves_no_update")
        else:
            conn.execute("ALTER TABLE integrity_leaves DISABLE TRIGGER jixiao_leaves_append_only")
        conn.execute(database.sql("UPDATE integrity_leaves SET leaf_hash = ? WHERE "
                                  "leaf_index = 5"), (b"\x07" * 32,))
    finally:
        conn.close()
    report = verify_store(database, ledger, signer.verifier())
    assert not report.ok
    assert any("no longer reproduce its root" in p for p in report.problems)


@pytest.mark.slow
def test_sigkill_mid_seal_then_restart_seals_exactly_once(ledger: Ledger, database: Database,
                                                          tmp_path: Path) -> None:
    key = tmp_path / "signing.key"
    init_key_file(key, ORIGIN)
    # Six of the sealer's batches: the kill lands once a quarter of the log is sealed, with
    # the rest still to go (a bigger log, it was 30k events, proves nothing more).
    head = generate(ledger, districts=1, subjects=6 * SEAL_BATCH // EVENTS_PER_SUBJECT + 1,
                    batch_subjects=250)
    env = {**os.environ, "JIXIAO_DATABASE_URL": database.url, "JIXIAO_KEY_FILE": str(key)}
    proc = subprocess.Popen([sys.executable, "-m", "jixiao.cli", "checkpoint"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    conn = database.connect()
    try:
        deadline = time.monotonic() + 120
        while True:
            row = fetchone(database, conn, "SELECT position FROM integrity_state")
            if row is not None and int(row[0]) >= head // 4:
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the sealer made no progress"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        killed_at = int(fetchone(database, conn, "SELECT position FROM integrity_state")[0])
    finally:
        conn.close()
    assert 0 < killed_at < head, "the kill must land mid-seal"
    assert len(stored_leaves(database)) == sum(1 for p, _ in recomputed_leaves(ledger)
                                               if p <= killed_at)

    restarted = subprocess.run([sys.executable, "-m", "jixiao.cli", "checkpoint"], env=env,
                               capture_output=True, text=True, timeout=300)
    assert restarted.returncode == 0, restarted.stderr
    expected = recomputed_leaves(ledger)
    assert [(p, h) for _, p, h in stored_leaves(database)] == expected
    latest = latest_checkpoint(database)
    assert latest is not None and latest.last_position == head
    assert unb64(latest.root) == root_of([h for _, h in expected])
    assert verify_store(database, ledger).ok
