"""SQLite on a full disk and with a read-only database file: the API answers a typed
Unavailable refusal, appends no partial event, and the same command succeeds once storage
is back.

A real tiny tmpfs is mounted for the full disk (we run as root in CI); a remount read-only
is refused while SQLite holds the files open, so read-only is `chattr +i`. Where either is
not permitted the test skips rather than simulating the fault.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.migrate import migrate
from tests.faults.conftest import REGISTER, bureau_headers, sqlite_at


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def register(client: TestClient, headers: dict[str, str], command_id: str) -> dict[str, str]:
    body = client.post("/graphql", headers=headers, json={"query": REGISTER, "variables": {
        "input": {"commandId": command_id, "code": command_id[-12:], "name": "单位"}}})
    assert body.status_code == 200, body.text
    payload: dict[str, str] = body.json()["data"]["registerUnit"]
    return payload


def position(client: TestClient) -> int:
    ledger = client.app.state.services.ledger  # type: ignore[attr-defined]
    return int(ledger.recorder.max_notification_id() or 0)


def fill(where: Path) -> Path:
    """Write until the file system refuses: the disk is now full."""
    filler = where / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_is_a_typed_refusal_and_appends_nothing(tmpfs: Path) -> None:
    db = sqlite_at(tmpfs / "ledger.db")
    migrate(db)
    headers = bureau_headers(db)
    with TestClient(create_app(db, rate_limit=None)) as client:
        assert "position" in register(client, headers, f"disk-{uuid.uuid4().hex}")
        before = position(client)
        filler = fill(tmpfs)
        command_id = f"disk-{uuid.uuid4().hex}"
        refused: dict[str, str] = {}
        for _ in range(50):  # a few may still fit in pages SQLite already owns
            refused = register(client, headers, command_id)
            if "position" not in refused:
                break
            command_id = f"disk-{uuid.uuid4().hex}"
            before = position(client)
        assert refused.get("__typename") == "Unavailable", refused
        assert refused["code"] == "STORAGE_UNAVAILABLE"
        assert position(client) == before, "a partial event was appended"
        filler.unlink()
        again = register(client, headers, command_id)
        assert "position" in again and position(client) > before


def test_a_read_only_database_file_is_a_typed_refusal(tmp_path: Path) -> None:
    """Read-only for root too: `chattr +i` on the database and its WAL (not on the -shm,
    which SQLite maps into memory: making that immutable kills the process with SIGBUS)."""
    db = sqlite_at(tmp_path / "ledger.db")
    migrate(db)
    headers = bureau_headers(db)
    files = [str(tmp_path / "ledger.db"), str(tmp_path / "ledger.db-wal")]
    with TestClient(create_app(db, rate_limit=None)) as client:
        assert "position" in register(client, headers, f"ro-{uuid.uuid4().hex}")
        before = position(client)
        locked = subprocess.run(["chattr", "+i", *files], capture_output=True)
        if locked.returncode != 0:
            pytest.skip(f"chattr +i not possible here: {locked.stderr.decode().strip()}")
        try:
            command_id = f"ro-{uuid.uuid4().hex}"
            refused = register(client, headers, command_id)
            assert refused["__typename"] == "Unavailable", refused
            assert refused["code"] == "STORAGE_UNAVAILABLE"
        finally:
            subprocess.run(["chattr", "-i", *files], check=True)
        assert position(client) == before
        assert "position" in register(client, headers, command_id)
