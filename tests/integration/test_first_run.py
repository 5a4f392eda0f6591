"""First run: where `jixiao keys init` puts the signing key, and the sample's checkpoint.

The key's default home is the per-user data directory (XDG), owner-only, never the working
directory; `jixiao serve --sample` / `jixiao sample load` sign a checkpoint with a key marked
as a development key, which the portal's verify panel says; no public answer names a server
path (the key's, or the working directory).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from jixiao.app import create_app
from jixiao.cli import main
from jixiao.serve import prepare
from ledger.integrity.checkpoint import NoteVerifier, open_note
from ledger.integrity.keys import is_dev_key, key_file
from ledger.integrity.service import latest_checkpoint
from ledger.integrity.verifier import verify_bundle
from ledger.store import Database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def first_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A new user: an empty home, a working directory, no key setting."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("JIXIAO_KEY_FILE", raising=False)
    monkeypatch.delenv("JIXIAO_DATABASE_URL", raising=False)
    monkeypatch.chdir(work)
    return home, work


def test_keys_init_writes_an_owner_only_key_under_the_home_not_the_cwd(
        first_run: tuple[Path, Path]) -> None:
    home, work = first_run
    old = os.umask(0o022)
    try:
        assert main(["keys", "init"]) == 0
    finally:
        os.umask(old)
    data = home / ".local" / "share" / "jixiao"
    keys = list((data / "keys").iterdir())
    assert len(keys) == 1 and keys[0].suffix == ".key"
    assert keys[0] == key_file(Database.from_url(None))
    assert (mode(keys[0]), mode(keys[0].parent), mode(data)) == (0o600, 0o700, 0o700)
    assert list(work.iterdir()) == []  # nothing in the working tree
    assert main(["keys", "init"]) == 1  # and never overwritten


def test_xdg_data_home_and_the_key_setting_are_honoured(
        first_run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, work = first_run
    xdg = work.parent / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg))
    assert main(["keys", "init"]) == 0
    assert [p.parent for p in (xdg / "jixiao" / "keys").iterdir()] == [xdg / "jixiao" / "keys"]
    chosen = work.parent / "etc" / "signing.key"
    chosen.parent.mkdir()
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(chosen))
    assert main(["keys", "init"]) == 0
    assert mode(chosen) == 0o600
    assert list(work.iterdir()) == []


def test_each_database_has_its_own_default_key() -> None:
    paths = {key_file(Database.from_url(url)) for url in (
        "sqlite:///a/jixiao.db", "sqlite:///b/jixiao.db",
        "postgresql://u@db1/jixiao", "postgresql://u@db1/jixiao?schema=region_340603",
        "postgresql://u@db2/jixiao")}
    assert len(paths) == 5
    assert all(p.parent.name == "keys" and p.parent.parent.name == "jixiao" for p in paths)


@pytest.fixture(scope="module")
def sample_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, str]]:
    """What `jixiao serve --sample` does before it serves (jixiao.serve.prepare), on a new
    SQLite file with no key configured; yields the store and the key file's path."""
    saved = os.environ.pop("JIXIAO_KEY_FILE", None)
    where = tmp_path_factory.mktemp("first-sample")
    db = Database.from_url(f"sqlite:///{where}/jixiao.db")
    try:
        prepare(db, sample=True)
        yield db, str(key_file(db))
    finally:
        if saved is not None:
            os.environ["JIXIAO_KEY_FILE"] = saved


@pytest.mark.slow
def test_serve_sample_signs_a_checkpoint_with_a_development_key(
        sample_served: tuple[Database, str]) -> None:
    db, path = sample_served
    assert mode(Path(path)) == 0o600
    latest = latest_checkpoint(db)
    assert latest is not None and latest.size > 0
    with TestClient(create_app(db, rate_limit=None)) as client:
        info = client.get("/portal/info.json").json()
        public = client.get("/portal/public.key").text.strip()
    assert info["checkpoint"]["size"] == latest.size
    assert info["developmentKey"] is True and info["keyProblem"] is None
    verifier = NoteVerifier.from_text(public)
    assert is_dev_key(verifier) and verifier.name.endswith("-dev")
    open_note(info["checkpoint"]["note"], verifier)  # signed by that key: it verifies
    assert main(["--database", db.url, "verify"]) == 0
    bundle = Path(db.sqlite_path).parent / "bundle"
    assert main(["--database", db.url, "audit", "export", "--out", str(bundle)]) == 0
    warned = verify_bundle(bundle, key=public).warnings
    assert any("development key" in w for w in warned), warned


@pytest.mark.slow
def test_no_public_answer_names_a_server_path(sample_served: tuple[Database, str]) -> None:
    db, path = sample_served
    secrets = [path, str(Path(path).parent), str(Path(db.sqlite_path).parent), os.getcwd()]
    query = ('{ ledger { checkpoint { size root note } '
             'disclosure(fiscalYear: 2022, audience: PUBLIC) { disclosures { checkpoint } } } }')
    with TestClient(create_app(db, rate_limit=None)) as client:
        answers = {url: client.get(url) for url in (
            "/portal/info.json", "/portal/public.key", "/portal/checkpoint.note", "/health",
            "/healthz", "/readyz", "/checkpoint", "/exports/2022/key-projects.csv")}
        answers["graphql"] = client.post("/graphql", json={"query": query})
    for url, response in answers.items():
        assert response.status_code == 200, (url, response.text)
        text = response.content.decode("utf-8", "replace")
        leaked = [s for s in secrets if s in text or s.replace("/", "\\/") in text]
        assert not leaked, (url, leaked)
    found = answers["graphql"].json()
    assert "errors" not in found, found
