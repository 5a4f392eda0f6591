"""The GraphQL API under load, against a bare strawberry app as the ceiling.

Starts two single-worker uvicorn servers on 127.0.0.1 (loopback only) — a bare strawberry
app answering a static 10-row list, and Jixiao's app over a fresh store with the 相山区
sample — then drives each scenario for a fixed time over concurrent keep-alive connections:

* bare: ``{ rows { seq name funds } }`` from the bare app (the ceiling),
* live annex: 附件1 at the current position (resolved, projected and read every time),
* pinned annex: the same pinned to a past position by GET (answered from the LRU),
* revalidation of the pinned answer (If-None-Match → 304, no body),
* mutation: ``registerUnit`` with a new commandId each time.

Targets: live ≥ 60% of the ceiling's requests/s; pinned ≥ 3× the ceiling. Everything stops
by itself (bounded durations; servers are terminated on exit).

The load comes from ``wrk`` (one thread, a generated Lua script per scenario and run) when it is
on PATH: it is C and needs little CPU, so on a small machine the server gets the cores rather
than the clients. Otherwise (or with ``--load httpx``) from httpx clients in ``--clients``
spawned processes, which on 2 CPUs take much of the CPU the server needs. Either way the
server's own CPU per request is read from /proc, independent of the load generator.

    python bench/bench_api.py [--seconds 3] [--rounds 3] [--concurrency 8] [--clients 2]
                              [--backend sqlite|postgres] [--load wrk|httpx]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2 as httpx
import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

from bench.common import free_port, fresh, table

HOST = "127.0.0.1"
BARE_QUERY = "{ rows { seq name funds } }"
ANNEX_QUERY = """query($position: Int) { ledger(position: $position) { position
  evaluationTable(fiscalYear: 2022, table: KEY_PROJECTS) {
    title rows { seq subjectName unitName funds assessment grade gradeLabel } totalFunds } } }"""
MUTATION = """mutation($input: RegisterUnitInput!) { registerUnit(input: $input) {
  __typename ... on CommandSuccess { position replayed } ... on Refusal { code } } }"""


# -- the servers ---------------------------------------------------------------------------------


@strawberry.type
class Row:
    seq: int
    name: str
    funds: str


ROWS = [Row(seq=i, name=f"相山区2022年项目{i}", funds=f"{100 + i}.85") for i in range(1, 11)]


@strawberry.type
class BareQuery:
    @strawberry.field
    def rows(self) -> list[Row]:
        return ROWS


def bare_app() -> Starlette:
    """The ceiling: strawberry on Starlette with nothing of ours, returning 10 static rows."""
    return Starlette(routes=[Route("/graphql", GraphQL(strawberry.Schema(query=BareQuery)),
                                   methods=["GET", "POST"])])


def serve(kind: str, port: int, url: str) -> None:
    import uvicorn

    from jixiao.app import create_app
    from ledger.store import Database

    # The API as deployed (bearer tokens checked on every request), minus the per-caller rate
    # limit, which would otherwise be what this measures.
    app = bare_app() if kind == "bare" else create_app(Database.from_url(url), rate_limit=None)
    uvicorn.run(app, host=HOST, port=port, workers=1, log_level="warning", access_log=False)


@contextmanager
def server(kind: str, url: str = "") -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port),
                             "--url", url], env={**os.environ, "PYTHONWARNINGS": "ignore"})
    base = f"http://{HOST}:{port}/graphql"
    try:
        deadline = time.monotonic() + 180  # a busy machine starts Python slowly
        while True:
            try:
                httpx.post(base, json={"query": "{ __typename }"}, timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} server did not start") from None
                time.sleep(0.1)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- the load ----------------------------------------------------------------------------------


JSON = {"content-type": "application/json"}


def fixed_request(scenario: str, base: str, pinned: int) -> tuple[str, str, bytes]:
    """(method, url, body) built once: the clients should spend their CPU on HTTP, not on
    re-encoding the same query."""
    if scenario in ("pinned", "revalidate"):
        query = urlencode({"query": ANNEX_QUERY, "variables": json.dumps({"position": pinned})})
        return "GET", f"{base}?{query}", b""
    query = BARE_QUERY if scenario == "bare" else ANNEX_QUERY
    return "POST", base, json.dumps({"query": query}).encode()


def mutation_body(n: int, tag: str) -> bytes:
    code = f"B{tag}-{n}"
    return json.dumps({"query": MUTATION, "variables": {"input": {
        "commandId": f"bench-{code}", "code": code, "name": f"基准单位{n}"}}}).encode()


async def drive(scenario: str, base: str, seconds: float, workers: int, tag: str,
                pinned: int, token: str) -> tuple[int, int, list[float], int]:
    """(requests done, failures, latencies) over `seconds` after a short warm-up, and the
    number of requests sent in all (warm-up included)."""
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    done, failed, latencies = 0, 0, []
    counter = 0
    method, url, body = fixed_request(scenario, base, pinned)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=auth) as client:
        warm_until = time.perf_counter() + min(1.0, seconds / 4)
        stop = warm_until + seconds

        # Built once and re-sent: the clients' CPU should go to HTTP, not to re-encoding.
        headers = JSON if body else {}
        if scenario == "revalidate":  # a client that kept the answer asks if it changed
            headers = {"If-None-Match": (await client.get(url)).headers["etag"]}
        fixed = client.build_request(method, url, content=body or None, headers=headers)

        async def worker() -> None:
            nonlocal done, failed, counter
            while (now := time.perf_counter()) < stop:
                counter += 1
                request = fixed
                if scenario == "mutation":
                    request = client.build_request(method, url, headers=JSON,
                                                   content=mutation_body(counter, tag))
                response = await client.send(request)
                ok = response.status_code == 200 and b'"errors"' not in response.content
                if scenario == "revalidate":
                    ok = response.status_code == 304
                if scenario == "mutation":
                    ok = ok and b"RegisterUnitResult" in response.content
                if now >= warm_until:
                    done += 1
                    failed += 0 if ok else 1
                    latencies.append(time.perf_counter() - now)

        await asyncio.gather(*(worker() for _ in range(workers)))
    return done, failed, latencies, counter


def client_process(args: tuple[str, str, float, int, str, int, str]
                   ) -> tuple[int, int, list[float], int]:
    return asyncio.run(drive(*args))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Measured:
    rps: float  # achieved by the load generator
    p50: float
    p99: float
    failed: int
    cpu_us: float  # server CPU per request: what the server itself can sustain, client aside

    @property
    def capacity(self) -> float:
        return 1e6 / self.cpu_us if self.cpu_us else 0.0


def median_of(runs: list[Measured]) -> Measured:
    """The round with the median rate (its own latencies and CPU go with it)."""
    return sorted(runs, key=lambda m: m.rps)[len(runs) // 2]


def load_httpx(pool: Any, clients: int, scenario: str, base: str, pid: int, seconds: float,
               concurrency: int, pinned: int, token: str) -> Measured:
    per = max(1, concurrency // clients)
    jobs = [(scenario, base, seconds, per, f"{scenario[0]}{i}x{uuid.uuid4().hex[:10]}", pinned,
             token) for i in range(clients)]
    before = cpu_seconds(pid)
    results = pool.map(client_process, jobs)
    cpu = cpu_seconds(pid) - before
    done = sum(r[0] for r in results)
    sent = sum(r[3] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    p50 = statistics.median(latencies) * 1000 if latencies else 0.0
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else 0.0
    return Measured(rps=done / seconds, p50=p50, p99=p99, failed=sum(r[1] for r in results),
                    cpu_us=cpu / sent * 1e6 if sent else 0.0)


# -- the load from wrk ---------------------------------------------------------------------------


def lua_string(text: str) -> str:
    """A Lua string literal for any text: printable ASCII as is, every other byte (quotes,
    backslashes, UTF-8) as a three-digit decimal escape, which Lua 5.1/LuaJIT read back."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


MUTATION_PARTS = json.dumps({"query": MUTATION, "variables": {"input": {
    "commandId": "bench-@CODE@", "code": "@CODE@", "name": "基准单位@N@"}}})

# What counts as an answer, as in the httpx clients: a 200 without GraphQL errors; for the
# mutation, one whose payload is the success type; for revalidation, a 304 and nothing else.
LUA_OK = {
    "revalidate": "status == 304",
    "mutation": 'status == 200 and string.find(body, "RegisterUnitResult", 1, true) ~= nil',
}
LUA_OK_DEFAULT = 'status == 200 and string.find(body, \'"errors"\', 1, true) == nil'

LUA_COMMON = """
local threads = {}
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
  table.insert(threads, thread)
end

failed = 0

function response(status, headers, body)
  if not (%(ok)s) then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("failed")
  end
  local e = summary.errors
  io.write(string.format(
    '\\n%(marker)s{"requests": %%d, "duration_us": %%d, "failed": %%d, "connect": %%d, ' ..
    '"read": %%d, "write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50.0), latency:percentile(99.0)))
end
"""

LUA_MUTATION = """
id = 1
local counter = 0

function request()
  counter = counter + 1
  local code = %(prefix)s .. id .. "-" .. counter
  return wrk.format(nil, nil, nil, %(body)s)
end
"""

WRK_MARKER = "BENCH-RESULT "


def wrk_script(scenario: str, base: str, pinned: int, token: str, tag: str,
               etag: str | None) -> str:
    """The Lua script that makes wrk send what the httpx clients send: the same method, path,
    body and bearer token; for revalidation the ETag; for the mutation a new commandId and
    code on every request (``tag`` makes them unique to this run, the counter within it)."""
    method, url, body = fixed_request(scenario, base, pinned)
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"wrk.method = {lua_string(method)}",
             f"wrk.path = {lua_string(path)}",
             f'wrk.headers["Authorization"] = {lua_string(f"Bearer {token}")}']
    if body or scenario == "mutation":
        lines.append(f'wrk.headers["Content-Type"] = {lua_string(JSON["content-type"])}')
    if body and scenario != "mutation":
        lines.append(f"wrk.body = {lua_string(body.decode())}")
    if etag is not None:
        lines.append(f'wrk.headers["If-None-Match"] = {lua_string(etag)}')
    script = "\n".join(lines) + "\n"
    if scenario == "mutation":
        pieces = []
        for i, chunk in enumerate(MUTATION_PARTS.replace("@N@", "@CODE@").split("@CODE@")):
            if i:  # the placeholders were: code, code, then the counter for the name
                pieces.append("counter" if i == 3 else "code")
            pieces.append(lua_string(chunk))
        script += LUA_MUTATION % {"prefix": lua_string(f"B{tag}-"), "body": " .. ".join(pieces)}
    return script + LUA_COMMON % {"ok": LUA_OK.get(scenario, LUA_OK_DEFAULT),
                                  "marker": WRK_MARKER}


def run_wrk(script: str, base: str, seconds: int, concurrency: int) -> dict[str, int]:
    """One wrk run (one thread, `concurrency` connections, `seconds` long) with `script`;
    returns the numbers its done() prints."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="utf-8") as file:
        file.write(script)
        file.flush()
        out = subprocess.run(["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency",
                              "--timeout", "30s", "-s", file.name, base],
                             capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in out.stdout.splitlines():
        if line.startswith(WRK_MARKER):
            result: dict[str, int] = json.loads(line.removeprefix(WRK_MARKER))
            return result
    raise RuntimeError(f"wrk gave no result (exit {out.returncode}):\n{out.stdout}{out.stderr}")


def load_wrk(scenario: str, base: str, pid: int, seconds: int, concurrency: int, pinned: int,
             token: str) -> Measured:
    """A 1 s warm-up run, not counted, then the measured run; the server's CPU is taken across
    the measured run only and divided by the requests wrk completed in it."""
    etag = None
    if scenario == "revalidate":  # a client that kept the answer asks if it changed
        _, url, _ = fixed_request(scenario, base, pinned)
        etag = httpx.get(url, headers={"Authorization": f"Bearer {token}"}).headers["etag"]

    def script() -> str:
        return wrk_script(scenario, base, pinned, token, uuid.uuid4().hex[:12], etag)

    run_wrk(script(), base, 1, concurrency)
    counted = script()
    before = cpu_seconds(pid)
    result = run_wrk(counted, base, seconds, concurrency)
    cpu = cpu_seconds(pid) - before
    done = result["requests"]
    failed = result["failed"] + sum(result[k] for k in ("connect", "read", "write", "timeout"))
    return Measured(rps=done / (result["duration_us"] / 1e6), p50=result["p50_us"] / 1000,
                    p99=result["p99_us"] / 1000, failed=failed,
                    cpu_us=cpu / done * 1e6 if done else 0.0)


def prepare(db: Any) -> tuple[int, int, str]:
    """Load the sample and issue a finance-bureau token; returns (the position to pin, the
    newest position after a later write, the token's secret)."""
    from ledger.application import Ledger
    from ledger.runtime import Actor
    from ledger.sample.loader import load_sample
    from ledger.tokens import TokenStore

    ledger, tokens = Ledger(db), TokenStore(db)
    try:
        pinned = load_sample(ledger)
        ledger.register_unit({"command_id": "bench-after-pin", "code": "BENCH-LATER",
                              "name": "钉住之后的单位"}, Actor(id="bench", role="finance_bureau"))
        secret = tokens.create("finance_bureau", "bench_api")[1]
        return pinned, int(ledger.recorder.max_notification_id() or 0), secret
    finally:
        ledger.close()
        tokens.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per scenario and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median "
                        "round is reported")
    parser.add_argument("--concurrency", type=int, default=8, help="connections in all")
    parser.add_argument("--clients", type=int, default=2, help="client processes (httpx)")
    parser.add_argument("--load", choices=["wrk", "httpx"],
                        default="wrk" if shutil.which("wrk") else "httpx",
                        help="load generator (default: wrk when it is on PATH)")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--scenarios", default="bare,live,pinned,revalidate,mutation",
                        help="comma-separated subset (bare is always run: it is the ceiling)")
    parser.add_argument("--serve", choices=["bare", "api"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.url)
        return 0

    labels = {"bare": "bare strawberry, 10-row list (ceiling)",
              "live": "附件1 at the current position (POST)",
              "pinned": "附件1 pinned to a past position (GET, cached)",
              "revalidate": "the same, revalidated (If-None-Match → 304)",
              "mutation": "registerUnit mutation"}
    if args.load == "wrk":  # wrk runs for whole seconds
        args.seconds = max(1, round(args.seconds))
    context = multiprocessing.get_context("spawn")
    with ExitStack() as stack:
        db = stack.enter_context(fresh(args.backend))
        pool = stack.enter_context(context.Pool(args.clients)) if args.load == "httpx" else None
        pinned, newest, secret = prepare(db)
        with server("bare") as (bare, bare_pid), server("api", db.url) as (api, api_pid):
            check = httpx.get(api, params={"query": ANNEX_QUERY,
                                           "variables": json.dumps({"position": pinned})},
                              headers={"Authorization": f"Bearer {secret}"})
            assert check.headers.get("cache-control", "").endswith("immutable"), check.headers
            body = check.json()["data"]["ledger"]
            assert body["evaluationTable"]["totalFunds"] == "6441.47" and pinned < newest
            chosen = {"bare", *args.scenarios.split(",")}
            runs: dict[str, list[Measured]] = {k: [] for k in labels if k in chosen}
            for _ in range(args.rounds):  # interleaved, so a noisy moment hits every scenario
                for scenario, measured in runs.items():
                    base, pid = (bare, bare_pid) if scenario == "bare" else (api, api_pid)
                    measured.append(
                        load_wrk(scenario, base, pid, args.seconds, args.concurrency, pinned,
                                 secret) if pool is None else
                        load_httpx(pool, args.clients, scenario, base, pid, args.seconds,
                                   args.concurrency, pinned, secret))
            results = {k: median_of(v) for k, v in runs.items()}
    report(args, results, labels, pinned)
    return 0


def report(args: argparse.Namespace, results: dict[str, Measured], labels: dict[str, str],
           pinned: int) -> None:
    ceiling = results["bare"]
    load = ("wrk (1 thread)" if args.load == "wrk" else
            f"httpx in {args.clients} client process(es)")
    print(f"\nJixiao GraphQL API on {args.backend}: one uvicorn worker; load from {load}, "
          f"{args.concurrency} concurrent connections; median of {args.rounds} interleaved "
          f"{args.seconds:g}s rounds per scenario; {os.cpu_count()} CPUs; pinned position "
          f"{pinned}\n")
    print(table([(labels[k], f"{m.rps:,.0f}", f"{m.rps / ceiling.rps:.0%}", f"{m.p50:.1f}",
                  f"{m.p99:.1f}", f"{m.cpu_us:,.0f}", f"{m.capacity:,.0f}",
                  f"{m.capacity / ceiling.capacity:.0%}" if ceiling.capacity else "-",
                  str(m.failed)) for k, m in results.items()],
                ("scenario", "req/s", "vs ceiling", "p50 ms", "p99 ms", "server CPU µs/req",
                 "server-bound req/s", "vs ceiling", "failed")))
    if "live" in results:
        live = results["live"]
        print(f"\nlive ≥ 60% of ceiling: achieved {live.rps / ceiling.rps:.0%}, server-bound "
              f"{live.capacity / max(ceiling.capacity, 1e-9):.0%}")
    if "pinned" in results:
        fixed = results["pinned"]
        print(f"pinned ≥ 3× ceiling: achieved {fixed.rps / ceiling.rps:.1f}×, server-bound "
              f"{fixed.capacity / max(ceiling.capacity, 1e-9):.1f}×")
    if args.load == "httpx":
        print("(achieved rates are bounded by the httpx clients when they share the CPUs with "
              "the server; server CPU per request is the client-independent measure)")
    else:
        print("(wrk needs little CPU, so achieved rates are close to what one worker sustains "
              "on this machine; server CPU per request is the client-independent measure)")


if __name__ == "__main__":
    raise SystemExit(main())
