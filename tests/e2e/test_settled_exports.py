"""A pinned export cites the earliest checkpoint covering its position, so once it cites one
it never changes, and a repeat is answered from the export pool without asking the store.

Over the real routes and stores (SQLite file, PostgreSQL schema), with a real signing key:
before any checkpoint covers the position the export says so, the first checkpoint signed is
then cited, and a later checkpoint changes nothing, not even for a restarted server. The
settled answer is keyed by what the caller may see, and is dropped when the views are found
differing from the sealed log (schema/export_pool.py, projections/exports/coverage_report.py).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from jixiao.app import create_app
from ledger.application import Ledger
from ledger.integrity.checkpoint import init_key_file
from ledger.integrity.service import CheckpointInfo, checkpoint_now, load_key
from ledger.sample.loader import load_sample
from ledger.store import Database
from projections.views import ReadModel
from schema.export_pool import ExportPool
from schema.exports import routes
from tests.e2e.conftest import bearer, issue_token
from tests.integration.helpers import do, max_position
from tests.security.conftest import operator_sql

pytestmark = pytest.mark.slow  # renders PDFs


@pytest.fixture(autouse=True)
def signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "signing.key"
    init_key_file(key, "jixiao.test/settled")
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key))


@pytest.fixture
def read(database: Database) -> Iterator[ReadModel]:
    ledger = Ledger(database)
    load_sample(ledger, publish=True)
    model = ReadModel(database, ledger)
    yield model
    model.close()
    ledger.close()


def sign(read: ReadModel) -> CheckpointInfo:
    return checkpoint_now(read.db, read.ledger, load_key(read.db))


def cites(info: CheckpointInfo) -> str:
    return f"{info.origin} {info.size} {info.root}"


def pdf_text(data: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    path = tmp_path / "export.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_a_pinned_pdf_cites_the_first_checkpoint_signed_and_a_later_one_changes_nothing(
        read: ReadModel, tmp_path: Path) -> None:
    pool = ExportPool()
    pinned = max_position(read.ledger)
    url = f"/exports/2022/key-projects.pdf?position={pinned}"
    with TestClient(Starlette(routes=routes(lambda request: read, pool=pool))) as http:
        before = http.get(url)
        assert before.status_code == 200, before.text
        assert before.headers["x-jixiao-checkpoint"] == "none"
        assert "尚无覆盖此位置的签名检查点" in pdf_text(before.content, tmp_path)

        first = sign(read)
        cited = http.get(url)  # not the kept file: it cited none, so it was not final
        assert cited.headers["x-jixiao-checkpoint"] == cites(first)
        assert cited.content != before.content
        text = pdf_text(cited.content, tmp_path)
        assert f"大小 {first.size} (size)" in text and "重点项目" in text

        do(read.ledger, "register_unit", code="LATER-1", name="钉住之后登记的单位")
        second = sign(read)
        assert second.size > first.size and second.last_position > pinned
        renders = pool.renders
        again = http.get(url)
        assert again.content == cited.content and again.headers["etag"] == cited.headers["etag"]
        assert again.headers["x-jixiao-checkpoint"] == cites(first)
        assert pool.renders == renders  # settled: served as kept

    # A restarted server (nothing kept) asks the store again and renders the same bytes.
    with TestClient(Starlette(routes=routes(lambda request: read, pool=ExportPool()))) as fresh:
        rendered = fresh.get(url)
        assert rendered.content == cited.content
        later = fresh.get(f"/exports/2022/key-projects.csv?position={second.last_position}")
        assert later.headers["x-jixiao-checkpoint"] == cites(second)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_settled_export_is_answered_without_the_store(database: Database, read: ReadModel,
                                                        tmp_path: Path) -> None:
    sign(read)
    pinned = max_position(read.ledger)
    url = f"/exports/2022/department-overall.csv?position={pinned}"
    with TestClient(Starlette(routes=routes(lambda request: read))) as http:
        first = http.get(url)
        assert first.status_code == 200 and first.headers["x-jixiao-checkpoint"] != "none"
        read.close()
        read.ledger.close()
        store = Path(database.url.removeprefix("sqlite:///"))
        for path in store.parent.glob(f"{store.name}*"):  # the file, its WAL and index
            path.rename(path.with_name(path.name + ".gone"))
        again = http.get(url)
        assert again.status_code == 200 and again.content == first.content
        with pytest.raises(Exception, match="no such table"):  # the store is really gone
            http.get("/exports/2022/department-overall.csv")


def test_a_settled_export_is_kept_per_reader_and_dropped_when_views_differ(
        database: Database) -> None:
    app = create_app(database, rate_limit=None)
    ledger: Ledger = app.state.services.ledger
    load_sample(ledger, publish=True)
    bureau = bearer(issue_token(database))
    with TestClient(app) as http:
        app.state.watch.seal_once()
        hidden = max_position(ledger) - 3  # before the public disclosure
        url = f"/exports/2022/key-projects.csv?position={hidden}"
        full = http.get(url, headers=bureau)
        assert full.headers["x-jixiao-checkpoint"] != "none"
        assert http.get(url, headers=bureau).content == full.content  # settled for the bureau
        anonymous = http.get(url)  # the same request by someone who may see less
        assert anonymous.status_code == 200
        assert len(anonymous.content.splitlines()) < len(full.content.splitlines())

        code, forged = "XS-2022-KP-05", "篡改后的项目名称"
        operator_sql(database, "UPDATE subject_rows SET name = ? WHERE code = ?", (forged, code))
        app.state.watch.check_views_once()
        assert app.state.services.read_model.integrity.views.differ
        tampered = http.get(url, headers=bureau)
        assert tampered.headers["x-jixiao-checkpoint"] == "none"  # no longer served as settled
        assert forged.encode() in tampered.content
