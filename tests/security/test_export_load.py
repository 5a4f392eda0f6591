"""PDF exports that starve reads: a render of seconds, repeated, on the pool GraphQL reads use.

Attack: six concurrent `/exports/…pdf?position=N` requests (anyone may ask for a published
table) fill the two read threads for tens of seconds, so `{ ledger { position } }` waits;
one row with 20k-character fields makes one PDF cost a minute and a half.

Defence (schema/export_pool.py, schema/exports.py, projections/exports/pdf_export.py):
rendering runs in its own small pool with a bounded queue, and a request beyond it gets 503
with Retry-After at once; an export is cached under exactly what determines its bytes
(table, year, format, resolved position, cited checkpoint, the caller's visibility, how
often the views were found tampered), and identical requests in flight share one render;
a PDF cell is cut at a fixed cost with a visible mark, and the PDF's provenance says so.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from openpyxl import load_workbook

from tests.security.conftest import Served, assert_public_annex_intact, operator_sql
from tests.security.ledger_edits import rename_subject, rewrite_assessment

POSITION = "{ ledger { position } }"


def head(served: Served) -> int:
    body = served.graphql(POSITION).json()
    return int(body["data"]["ledger"]["position"])


def pdf(served: Served, position: int | None = None, table: str = "key-projects",
        headers: dict[str, str] | None = None) -> httpx.Response:
    params = {} if position is None else {"position": str(position)}
    return httpx.get(f"{served.url}/exports/2022/{table}.pdf", params=params,
                     headers=served.bureau if headers is None else headers, timeout=300)


def renders(served: Served) -> int | None:
    """How many exports the app has rendered (None: it keeps no count, nor any export)."""
    pool = getattr(served.app.state.services, "exports", None)
    return None if pool is None else int(pool.renders)


def test_concurrent_pdf_exports_never_hold_up_a_read_and_the_excess_gets_503(
        served: Served) -> None:
    newest = head(served)
    positions = [newest - k for k in range(6)]  # six different PDFs: nothing to share
    with ThreadPoolExecutor(max_workers=len(positions)) as clients:
        downloads = [clients.submit(pdf, served, p) for p in positions]
        time.sleep(0.5)  # the renders have started (or been refused)
        started = time.monotonic()
        answer = served.graphql(POSITION)
        waited = time.monotonic() - started
        results = [d.result() for d in downloads]
    assert answer.status_code == 200 and answer.json()["data"]["ledger"]["position"] == newest
    assert waited < 3.0, f"a trivial read waited {waited:.1f}s behind PDF exports"
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {200, 503}, statuses
    refused = [r for r in results if r.status_code == 503]
    assert refused, "no request was turned away: the export queue is unbounded"
    for response in refused:
        assert int(response.headers["retry-after"]) > 0
        assert response.json()["error"]["code"] == "EXPORTS_BUSY"
    assert any(r.status_code == 200 and r.content.startswith(b"%PDF") for r in results)
    assert_public_annex_intact(served.url)


def test_a_pinned_export_is_rendered_once_and_the_cache_serves_no_one_it_should_not(
        served: Served) -> None:
    newest = head(served)
    began = time.monotonic()
    first = pdf(served, newest)
    first_took = time.monotonic() - began
    assert first.status_code == 200, first.text
    before = renders(served)
    began = time.monotonic()
    again = pdf(served, newest)
    again_took = time.monotonic() - began
    live = pdf(served)  # "now" resolves to the same position first, then to the same bytes
    assert again.content == first.content and live.content == first.content
    assert again.headers["etag"] == first.headers["etag"] == live.headers["etag"]
    assert again_took < first_took / 3, f"rendered again? {first_took:.2f}s, {again_took:.2f}s"
    assert before is not None and renders(served) == before, "a pinned export was rendered again"
    etag = first.headers["etag"]
    assert httpx.get(f"{served.url}/exports/2022/key-projects.pdf",
                     params={"position": str(newest)},
                     headers={**served.bureau, "If-None-Match": etag}).status_code == 304

    # The cache never serves one caller's file to another: at a position before the public
    # disclosure, the bureau's table has every row and an anonymous caller's has none.
    hidden = newest - 3
    full, anonymous = (httpx.get(f"{served.url}/exports/2022/key-projects.csv",
                                 params={"position": str(hidden)}, headers=who, timeout=60)
                       for who in (served.bureau, {}))
    assert full.status_code == anonymous.status_code == 200
    assert anonymous.headers["etag"] != full.headers["etag"]
    assert len(anonymous.content.splitlines()) < len(full.content.splitlines())
    assert_public_annex_intact(served.url)


def test_an_export_kept_from_tampered_views_is_not_served_once_they_are_repaired(
        served: Served) -> None:
    code, forged = "XS-2022-KP-05", "篡改后的项目名称"
    body = served.graphql('query($c: String!) { ledger { subject(code: $c) { name } } }',
                          {"c": code}, served.bureau).json()
    original = body["data"]["ledger"]["subject"]["name"]
    position = head(served)

    def download() -> str:
        response = httpx.get(f"{served.url}/exports/2022/key-projects.csv", timeout=60,
                             params={"position": str(position)}, headers=served.bureau)
        assert response.status_code == 200, response.text
        return response.content.decode("utf-8-sig")

    operator_sql(served.db, "UPDATE subject_rows SET name = ? WHERE code = ?", (forged, code))
    assert forged in download()  # the changed view answers, and the file is kept
    watch, status = served.app.state.watch, served.app.state.services.read_model.integrity
    watch.check_views_once()
    assert status.views.differ
    operator_sql(served.db, "UPDATE subject_rows SET name = ? WHERE code = ?", (original, code))
    watch.check_views_once()
    assert not status.views.differ  # repaired: the same position, the same checkpoint note
    repaired = download()
    assert forged not in repaired and original in repaired
    assert_public_annex_intact(served.url)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    path = tmp_path / "table.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_a_row_of_20k_character_fields_renders_within_bounds_and_says_it_was_cut(
        served: Served, tmp_path: Path) -> None:
    # A pasted 20k run without a break (e.g. a URL or hash) made a row taller than a page,
    # which fpdf2 refuses (500); 20k lines of prose made hundreds of pages.
    long_name = "X" * 20_000
    long_text = "评价情况第一点。\n" * 2_222
    rename_subject(served, "XS-2022-KP-01", long_name)
    rewrite_assessment(served, "XS-2022-KP-01", long_text.strip())
    began = time.monotonic()
    response = pdf(served)
    took = time.monotonic() - began
    assert response.status_code == 200, response.text
    assert took < 20, f"one PDF took {took:.0f}s"
    text = pdf_text(response.content, tmp_path)
    assert text.count("…（全文见 xlsx）") >= 2  # both cells end with the mark
    assert "已截断" in text  # the provenance block says cells were cut, and where the rest is
    pages = text.count("\f")
    assert pages <= 4, f"{pages} pages for one long row"
    xlsx = httpx.get(f"{served.url}/exports/2022/key-projects.xlsx", headers=served.bureau,
                     timeout=120)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    row = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[0] == 1)
    assert row[1] == long_name and row[4] == long_text.strip()  # the xlsx has every character
    assert_public_annex_intact(served.url)
