"""Tampering the operator can do with SQL alone, and that must not go unseen (issue items 8, 9).

* A view row changed behind the application's back (`UPDATE subject_rows SET name = …`) is
  named by `jixiao verify` (view and key), reported by the server's watch at /health, and no
  longer answered with a checkpoint citation (X-Jixiao-Checkpoint).
* An event appended by SQL has no MAC (the key is never in the database): `jixiao verify` names
  it, `jixiao checkpoint` and the server's watch refuse to seal it.
* `jixiao serve` signs checkpoints on its interval.
* The SQLite file (and its -wal, -shm) and the signing key file are owner-only.

Both stores, over the real app on a real socket (tests/security/conftest.py).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from jixiao.app import create_app
from ledger.application import Ledger
from ledger.integrity.service import latest_checkpoint
from ledger.store import Database, fetchone
from tests.browser.conftest import ServerThread
from tests.e2e.conftest import bearer, issue_token
from tests.sample_stores import SampleStores
from tests.security.conftest import Served, assert_public_annex_intact, operator_sql

ORIGIN = "jixiao.test/tamper"
WATCH_SECONDS = 0.2
SUBJECT = "XS-2022-KP-05"
FORGED_NAME = "篡改后的项目名称"
NAME_QUERY = """query($code: String!) { ledger { subject(code: $code) { name } } }"""


@pytest.fixture
def key_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             sample_stores: SampleStores) -> Path:
    """The log's signing key (the session's for ORIGIN, a file of the test's own), outside
    the database; every process here finds it."""
    path = tmp_path / "keys" / "signing.key"
    sample_stores.copy_key(ORIGIN, path)
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(path))
    monkeypatch.setenv("JIXIAO_ORIGIN", ORIGIN)
    return path


@pytest.fixture
def watched(backend: str, tmp_path: Path, key_path: Path,
            sample_stores: SampleStores) -> Iterator[Served]:
    """The published sample, recorded under the key, behind the real app, its integrity
    watch on a short interval."""
    with sample_stores.copy(backend, tmp_path, publish=True, origin=ORIGIN) as db:
        app = create_app(db, rate_limit=None, checkpoint_every=WATCH_SECONDS,
                         check_views_every=WATCH_SECONDS)
        with ServerThread(app) as url:
            yield Served(url=url, app=app, db=db, bureau=bearer(issue_token(db)))


def jixiao(db: Database, key: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JIXIAO_DATABASE_URL": db.url, "JIXIAO_KEY_FILE": str(key),
           "JIXIAO_ORIGIN": ORIGIN}
    return subprocess.run([sys.executable, "-m", "jixiao.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def eventually(what: str, found: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)


def health(served: Served, headers: dict[str, str] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{served.url}/health", headers=headers or {},
                                       timeout=30).json()
    return answer


def head(db: Database) -> int:
    ledger = Ledger(db)
    try:
        return int(ledger.recorder.max_notification_id() or 0)
    finally:
        ledger.close()


def sealed_through(db: Database, position: int) -> bool:
    found = latest_checkpoint(db)
    return found is not None and found.last_position >= position


def export_checkpoint(served: Served) -> tuple[str, str]:
    """(X-Jixiao-Checkpoint, the CSV's text) of the key-projects download."""
    response = httpx.get(f"{served.url}/exports/2022/key-projects.csv", timeout=60)
    assert response.status_code == 200, response.text
    return response.headers["X-Jixiao-Checkpoint"], response.content.decode("utf-8-sig")


def test_a_view_row_changed_by_sql_is_named_and_no_longer_cited(watched: Served,
                                                                key_path: Path) -> None:
    db = watched.db
    eventually("the watch seals the sample", lambda: sealed_through(db, head(db)))
    eventually("the views are checked at the sealed head",
               lambda: health(watched)["views"]["position"] == head(db))
    assert health(watched)["status"] == "ok"
    cited, _ = export_checkpoint(watched)
    assert cited.startswith(f"{ORIGIN} ")  # a signed checkpoint vouches for the download

    operator_sql(db, "UPDATE subject_rows SET name = ? WHERE code = ?", (FORGED_NAME, SUBJECT))
    answer = watched.graphql(NAME_QUERY, {"code": SUBJECT}).json()
    assert answer["data"]["ledger"]["subject"]["name"] == FORGED_NAME  # the attack is served

    found = eventually("the watch reports the changed view",
                       lambda: (lambda h: h if h["views"]["differ"] else None)(health(watched)))
    assert found["status"] == "degraded" and found["views"]["differing"] == ["subjects"]
    assert found["checkpoint"] is None
    assert "differences" not in found["views"]  # anyone: which view; not what it says
    detailed = health(watched, watched.bureau)
    [difference] = detailed["views"]["differences"]
    assert difference["view"] == "subjects" and f"({SUBJECT})" in difference["key"]
    assert FORGED_NAME in difference["detail"] and "name is" in difference["detail"]
    assert httpx.get(f"{watched.url}/health", timeout=30).status_code == 503

    cited, body = export_checkpoint(watched)
    assert cited == "none"  # no checkpoint is cited for an answer from the changed view
    assert FORGED_NAME in body  # (the CSV's provenance, in its sidecar, says why there is none)
    info = httpx.get(f"{watched.url}/portal/info.json", timeout=30).json()
    assert info["checkpoint"] is None

    verify = jixiao(db, key_path, "verify")
    assert verify.returncode == 1, verify.stdout
    assert "view subjects, subject_id=" in verify.stderr and f"({SUBJECT})" in verify.stderr
    assert FORGED_NAME in verify.stderr
    assert_public_annex_intact(watched.url)


def forge_event(db: Database) -> int:
    """Append by SQL a copy of a subject's last event as its next version (a second grade,
    say), as a forger would; returns its position."""
    table, column = db.events_table, db.position_column
    conn = db.connect()
    try:
        last = fetchone(db, conn, f"SELECT originator_id, originator_version, topic, state "
                        f"FROM {table} WHERE topic LIKE ? ORDER BY {column} DESC LIMIT 1",
                        ("%Subject.GradeAssigned",))
        originator, _, topic, state = last
        version = fetchone(db, conn, f"SELECT MAX(originator_version) FROM {table} WHERE "
                           "originator_id = ?", (originator,))[0]
        conn.execute(db.sql(f"INSERT INTO {table} (originator_id, originator_version, topic, "
                            "state) VALUES (?, ?, ?, ?)"),
                     (originator, int(version) + 1, topic, bytes(state)))
        if db.backend == "sqlite":
            conn.commit()
        row = fetchone(db, conn, f"SELECT MAX({column}) FROM {table}")
        return int(row[0])
    finally:
        conn.close()


def test_an_event_appended_by_sql_is_named_and_never_sealed(watched: Served,
                                                           key_path: Path) -> None:
    db = watched.db
    eventually("the watch seals the sample", lambda: sealed_through(db, head(db)))
    forged = forge_event(db)

    verify = jixiao(db, key_path, "verify")
    assert verify.returncode == 1, verify.stdout
    assert f"position {forged}: no MAC" in verify.stderr

    checkpoint = jixiao(db, key_path, "checkpoint")
    assert checkpoint.returncode == 1
    assert f"not sealed: position {forged}: no MAC" in checkpoint.stderr
    found = eventually("the watch reports that sealing stopped",
                       lambda: (lambda h: h if not h["sealing"]["ok"] else None)(
                           health(watched, watched.bureau)))
    assert f"position {forged}" in found["sealing"]["error"] and found["status"] == "degraded"
    time.sleep(3 * WATCH_SECONDS)  # a few more rounds of the watch
    latest = latest_checkpoint(db)
    assert latest is not None and latest.last_position < forged  # never sealed
    again = jixiao(db, key_path, "verify")
    assert again.returncode == 1 and f"position {forged}: no MAC" in again.stderr
    assert_public_annex_intact(watched.url)


def test_events_appended_by_the_application_are_sealed_by_the_watch(watched: Served) -> None:
    """The other side of the MACs: what the application appends is authenticated and sealed
    on the next round, with no `jixiao checkpoint` run."""
    db = watched.db
    eventually("the watch seals the sample", lambda: sealed_through(db, head(db)))
    created = watched.graphql(
        """mutation { registerUnit(input: {commandId: "tamper-unit-1", code: "XS-U-T1",
        name: "测试单位", kind: DEPARTMENT}) { ... on RegisterUnitResult { position } } }""",
        headers=watched.bureau)
    assert "errors" not in created.json(), created.text
    position = int(created.json()["data"]["registerUnit"]["position"])
    eventually("the watch seals the new event", lambda: sealed_through(db, position))
    assert health(watched)["sealing"]["ok"]
    assert_public_annex_intact(watched.url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_signs_checkpoints_on_its_interval(database: Database, key_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "JIXIAO_DATABASE_URL": database.url}
    server = subprocess.Popen([sys.executable, "-m", "jixiao.cli", "serve", "--sample",
                               "--port", str(port), "--checkpoint-every", "0.3",
                               "--check-views-every", "0.3"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            if server.poll() is not None:
                raise AssertionError(f"serve stopped: {server.stderr and server.stderr.read()}")
            try:
                return httpx.get(f"{url}/health", timeout=5).status_code in (200, 503)
            except httpx.TransportError:
                return False

        eventually("serve answers", up, timeout=60)
        first = eventually("serve signs the sample", lambda: sealed_through(
            database, head(database)) and latest_checkpoint(database))
        ledger = Ledger(database)  # another writer, with the key: authenticated
        try:
            position = ledger.register_unit({"command_id": "tamper-serve-1", "code": "XS-U-S1",
                                             "name": "测试单位", "kind": "department"}).position
        finally:
            ledger.close()
        later = eventually("serve signs the new event on its own",
                           lambda: sealed_through(database, position)
                           and latest_checkpoint(database))
        assert later.size > first.size

        def checked() -> dict[str, Any] | None:  # its first check of the views may be later
            found: dict[str, Any] = httpx.get(f"{url}/health", timeout=5).json()
            return None if found["status"] == "unchecked" else found

        assert eventually("serve checks its views", checked)["status"] == "ok"
        assert_public_annex_intact(url)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_sqlite_and_key_files_are_owner_only(tmp_path: Path) -> None:
    db_path = tmp_path / "store" / "jixiao.db"
    env = {**os.environ, "JIXIAO_DATABASE_URL": f"sqlite:///{db_path}",
           "JIXIAO_KEY_FILE": str(tmp_path / "signing.key")}
    old = os.umask(0o022)
    try:
        for args in (["migrate"], ["sample", "load"], ["keys", "init"]):
            done = subprocess.run([sys.executable, "-m", "jixiao.cli", *args], env=env,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
        conn = Database.from_url(f"sqlite:///{db_path}").connect()  # -wal and -shm exist now
        try:
            files = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"),
                     tmp_path / "signing.key"]
            assert all(f.exists() for f in files)
            modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
            assert modes == {f.name: 0o600 for f in files}
        finally:
            conn.close()
    finally:
        os.umask(old)
