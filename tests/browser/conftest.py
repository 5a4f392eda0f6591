"""Browser fixtures: a real uvicorn server on 127.0.0.1 and Debian's headless Chromium.

The server runs the real app (create_app) in a thread on a socket bound to a free port,
over a real store with the 相山区 sample and a signed checkpoint. Chromium is driven by the
Python `playwright` package with executable_path (no browser download: `playwright install`
cannot work here). Every request the page makes to anywhere but the test server is aborted
and reported, so a CDN dependency fails the test instead of passing by luck.

Without chromium or playwright the browser tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

import pytest
import uvicorn
from starlette.applications import Starlette

from jixiao.app import create_app
from ledger.application import Ledger
from ledger.integrity.checkpoint import init_key_file
from ledger.integrity.service import CheckpointInfo, checkpoint_now, load_key, origin_setting
from ledger.migrate import migrate
from ledger.sample.loader import load_sample
from ledger.store import Database
from schema.portal import portal_routes
from tests.conftest import IN_CI

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        Page,
        Playwright,
        Request,
        Route,
        ViewportSize,
    )

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("JIXIAO_CHROMIUM", "/usr/bin/chromium")
# The flags that work on these machines: no sandbox as root, and no background traffic
# (the network is closed; Chromium would otherwise retry Google's hosts at every start).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--lang=zh-CN"]
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
AXE_SPEC = os.environ.get("JIXIAO_AXE_SPEC", "axe-core@4.14.1")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: runs headless Chromium against a live server "
                            "(skipped without chromium/playwright unless CI=true)")


def unavailable(reason: str) -> NoReturn:
    """Skip on a developer machine without the tool; fail under CI, where it must exist."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


# ------------------------------------------------------------------------------ the server


@dataclass
class Portal:
    """A running server: its base URL, the app, and the ledger behind it."""

    url: str
    app: Starlette
    db: Database
    checkpoint: CheckpointInfo
    public_key: str

    @property
    def ledger(self) -> Ledger:
        ledger: Ledger = self.app.state.services.ledger
        return ledger


def portal_app(db: Database) -> Starlette:
    """create_app with the portal mounted first (until schema/app.py mounts it itself)."""
    app = create_app(db)
    if not any(getattr(route, "path", None) == "/portal/info.json" for route in app.routes):
        services = app.state.services
        app.router.routes[0:0] = portal_routes(lambda request: services.read_model,
                                               run=services.run)
    return app


class ServerThread:
    """uvicorn on a socket we bound ourselves: no port race, and a clean stop."""

    def __init__(self, app: Starlette) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       name="portal-uvicorn", daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()


def start_portal(db: Database, key_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:
    """Sample, signing key and checkpoint, then serve; the server stops after the test."""
    monkeypatch.setenv("JIXIAO_KEY_FILE", str(key_path))
    verifier = init_key_file(key_path, origin_setting())
    app = portal_app(db)
    ledger: Ledger = app.state.services.ledger
    load_sample(ledger, publish=True)
    checkpoint = checkpoint_now(db, ledger, load_key(db))
    with ServerThread(app) as url:
        yield Portal(url=url, app=app, db=db, checkpoint=checkpoint,
                     public_key=verifier.text())


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Database:
    db = Database.from_url(f"sqlite:///{tmp_path}/ledger.db")
    migrate(db)
    return db


@pytest.fixture
def portal(sqlite_database: Database, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:
    """The portal over SQLite."""
    yield from start_portal(sqlite_database, tmp_path / "signing.key", monkeypatch)


@pytest.fixture
def portal_on_each_store(database: Database, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:
    """The portal over SQLite and over PostgreSQL (the root `database` fixture)."""
    yield from start_portal(database, tmp_path / "signing.key", monkeypatch)


# ------------------------------------------------------------------------------ the browser


@pytest.fixture(scope="package")
def playwright_session() -> Iterator[Playwright]:
    """Package-scoped: playwright's sync API keeps an asyncio loop marked running in this
    thread while it is open, so every later test's asyncio.run() would fail."""
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as session:
        yield session


@pytest.fixture(scope="package")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    found = playwright_session.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
    yield found
    found.close()


@dataclass
class Watch:
    """What a page did that it should not have: errors, and requests off the test server."""

    foreign_requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    graphql_headers: list[dict[str, str]] = field(default_factory=list)

    def check(self) -> None:
        assert self.foreign_requests == [], "the page reached beyond the test server"
        assert self.errors == [], "the page logged errors"


@dataclass
class Session:
    page: Page
    watch: Watch
    portal: Portal

    def open(self, query: str = "") -> Page:
        self.page.goto(self.portal.url + "/" + query)
        wait_ready(self.page)
        return self.page


def wait_ready(page: Page) -> None:
    """Until the tables are rendered for the latest request."""
    page.wait_for_selector('#annexes[aria-busy="false"] #annex-key tbody tr')
    page.wait_for_function("() => document.getElementById('status').textContent.length > 0")


def new_session(browser: Browser, portal: Portal, **options: Any) -> Iterator[Session]:
    context: BrowserContext = browser.new_context(viewport=VIEWPORT, locale="zh-CN",
                                                  timezone_id="Asia/Shanghai",
                                                  accept_downloads=True, **options)
    context.set_default_timeout(20_000)
    watch = Watch()
    own = urlsplit(portal.url).netloc

    def guard(route: Route, request: Request) -> None:
        if urlsplit(request.url).netloc == own:
            route.continue_()
        else:
            watch.foreign_requests.append(request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("pageerror", lambda error: watch.errors.append(f"pageerror: {error}"))
    page.on("console", lambda message: watch.errors.append(f"console: {message.text}")
            if message.type == "error" else None)
    page.on("request", lambda request: watch.graphql_headers.append(request.headers)
            if request.url.endswith("/graphql") else None)
    try:
        yield Session(page=page, watch=watch, portal=portal)
    finally:
        context.close()


@pytest.fixture
def session(browser: Browser, portal: Portal) -> Iterator[Session]:
    yield from new_session(browser, portal)


@pytest.fixture
def session_on_each_store(browser: Browser, portal_on_each_store: Portal) -> Iterator[Session]:
    yield from new_session(browser, portal_on_each_store)


@pytest.fixture
def axe_session(browser: Browser, portal: Portal) -> Iterator[Session]:
    """A page whose CSP lets the test inject axe-core (the portal's own CSP forbids it)."""
    yield from new_session(browser, portal, bypass_csp=True)


# ------------------------------------------------------------------------------ axe-core


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe.min.js from the npm registry, installed once into a cache outside the repo."""
    given = os.environ.get("JIXIAO_AXE_JS")
    if given:
        return Path(given)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    prefix = cache / "jixiao-tests" / AXE_SPEC.replace("@", "-")
    script = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        unavailable("npm is not installed, so axe-core cannot be fetched (apt-get install npm)")
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                           "--loglevel=error", AXE_SPEC], capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode != 0 or not script.exists():
        unavailable(f"npm install {AXE_SPEC} failed: {done.stderr.strip()[-500:]}")
    return script


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
