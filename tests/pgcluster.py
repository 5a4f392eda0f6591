"""Throwaway PostgreSQL servers for tests and benches: a primary and its streaming standby.

Real servers from the system's binaries (initdb, pg_ctl, pg_basebackup -R), on free loopback
ports, in temporary directories that are removed afterwards. initdb refuses to run as root,
so as root every server command runs as the `postgres` OS user, which owns the directories.
Every step has a time limit, and every server started is stopped on exit, on failure, and
(as a last resort) when the interpreter exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.store import Database

STEP_TIMEOUT = 60.0  # seconds for any one initdb / pg_ctl / pg_basebackup call
SERVICE_USER = "postgres"


class ClusterUnavailable(RuntimeError):
    """The machine cannot start PostgreSQL servers (no binaries, no `postgres` user)."""


def find_bindir() -> Path:
    """JIXIAO_PG_BIN, else the newest /usr/lib/postgresql/*/bin, else pg_config --bindir."""
    configured = os.environ.get("JIXIAO_PG_BIN")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                         reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            candidates.append(Path(out))
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise ClusterUnavailable("no PostgreSQL binaries (initdb, pg_ctl) found; set JIXIAO_PG_BIN")


def running_as_root() -> bool:
    return os.geteuid() == 0


def as_service_user(argv: Sequence[str]) -> list[str]:
    if not running_as_root():
        return list(argv)
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ClusterUnavailable("running as root without runuser: cannot drop to postgres")
    return [runuser, "-u", SERVICE_USER, "--", *argv]


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it; a race is retried by start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(argv: Sequence[str], timeout: float = STEP_TIMEOUT) -> str:
    done = subprocess.run(as_service_user(argv), capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): "
                           f"{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


@dataclass
class Server:
    """One running PostgreSQL server on 127.0.0.1."""

    name: str
    datadir: Path
    port: int
    bindir: Path
    standby: bool = False
    running: bool = False

    @property
    def log(self) -> Path:
        return self.datadir.parent / f"{self.name}.log"

    def url(self, dbname: str = "postgres", schema: str | None = None) -> str:
        url = f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"
        return f"{url}?schema={schema}" if schema else url

    def database(self, schema: str | None = None, dbname: str = "postgres") -> Database:
        return Database.from_url(self.url(dbname, schema))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement on a fresh autocommit connection; rows if it returns any."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                             dbname="postgres", autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(sql, tuple(params))
            return list(cur.fetchall()) if cur.description else []

    def start(self) -> None:
        run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.log), "-w",
             "-t", str(int(STEP_TIMEOUT)), "start"])
        self.running = True

    def stop(self) -> None:
        if not self.running:
            return
        try:
            run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w",
                 "-t", "30", "stop"], timeout=40)
        except (RuntimeError, subprocess.TimeoutExpired):
            self._kill()
        self.running = False

    def _kill(self) -> None:
        """pg_ctl could not stop it: signal the postmaster named in postmaster.pid."""
        pidfile = self.datadir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            os.kill(int(pidfile.read_text().splitlines()[0]), 9)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


@dataclass
class Cluster:
    """Servers under one temporary directory; `with Cluster() as c:` stops them all."""

    fsync: bool = False  # off for tests (throwaway data); on for benchmarks
    max_connections: int = 200
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="jixiao-pg-")))
    servers: list[Server] = field(default_factory=list)

    def __post_init__(self) -> None:
        try:
            self.bindir = find_bindir()
            if running_as_root():
                shutil.chown(self.root, user=SERVICE_USER, group=None)
        except (ClusterUnavailable, LookupError, OSError) as exc:
            shutil.rmtree(self.root, ignore_errors=True)
            raise ClusterUnavailable(str(exc)) from exc
        _LIVE.append(self)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def primary(self, name: str = "primary") -> Server:
        """initdb and start a new primary (wal_level=replica, ready for a standby)."""
        datadir = self.root / name
        run([str(self.bindir / "initdb"), "-D", str(datadir), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
             "--no-instructions"])
        settings = {"listen_addresses": "'127.0.0.1'", "unix_socket_directories": f"'{self.root}'",
                    "wal_level": "replica", "max_wal_senders": "10", "hot_standby": "on",
                    "wal_keep_size": "'512MB'", "max_connections": str(self.max_connections),
                    "fsync": "on" if self.fsync else "off",
                    "synchronous_commit": "on" if self.fsync else "off",
                    "full_page_writes": "on" if self.fsync else "off"}
        with (datadir / "postgresql.conf").open("a") as conf:
            conf.write("\n# jixiao test cluster\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
        return self._start(Server(name=name, datadir=datadir, port=0, bindir=self.bindir))

    def standby(self, primary: Server, name: str = "standby") -> Server:
        """pg_basebackup -R from `primary`, started as a hot standby that streams from it."""
        datadir = self.root / name
        run([str(self.bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", "postgres", "-D", str(datadir), "-R", "-X", "stream", "-c", "fast"])
        server = self._start(Server(name=name, datadir=datadir, port=0, bindir=self.bindir,
                                    standby=True))
        wait_until(lambda: bool(server.query("SELECT pg_is_in_recovery()")[0][0]), 30,
                   f"{name} to enter recovery")
        return server

    def _start(self, server: Server, attempts: int = 3) -> Server:
        for attempt in range(attempts):
            server.port = free_port()
            with (server.datadir / "postgresql.conf").open("a") as conf:
                conf.write(f"port = {server.port}\n")  # the last setting wins
            self.servers.append(server)
            try:
                server.start()
                return server
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                self.servers.remove(server)
                server.stop()
                if attempt == attempts - 1:
                    raise RuntimeError(f"{server.name} did not start: {exc}\n"
                                       f"{server.log_tail()}") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop every server (standbys first), then remove the directory."""
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()
        shutil.rmtree(self.root, ignore_errors=True)
        if self in _LIVE:
            _LIVE.remove(self)


def wait_until(predicate: Any, timeout: float, what: str, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as exc:  # a server still starting refuses connections
            last = exc
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}"
                       + (f" (last error: {last})" if last else ""))


def caught_up(primary: Server, standby: Server, timeout: float = 30) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    target = primary.query("SELECT pg_current_wal_insert_lsn()")[0][0]
    wait_until(lambda: standby.query(
        "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))[0][0], timeout,
        f"{standby.name} to replay {target}")


@contextlib.contextmanager
def primary_and_standby(*, fsync: bool = False) -> Iterator[tuple[Server, Server]]:
    with Cluster(fsync=fsync) as cluster:
        primary = cluster.primary()
        yield primary, cluster.standby(primary)


_LIVE: list[Cluster] = []


@atexit.register
def _stop_leftovers() -> None:
    for cluster in list(_LIVE):
        cluster.close()


def started_or_skip(make: Any) -> Any:
    """Run `make()` (which starts servers); skip if this machine cannot, fail under CI=true."""
    import pytest

    try:
        return make()
    except (ClusterUnavailable, RuntimeError, subprocess.TimeoutExpired) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL test servers must start under CI=true: {exc}")
        pytest.skip(f"cannot start PostgreSQL test servers: {exc}")
