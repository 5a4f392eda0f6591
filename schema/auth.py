"""Credentials and abuse limits in front of every route: bearer token → Actor, and a
per-caller token bucket answered with HTTP 429.

The actor is put in the ASGI scope; `schema.context.resolve_actor` reads it from there.
No header means the anonymous `public` role; a header with an unknown or revoked token is
a 401 (not silently public, so a client with a broken credential notices).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from ledger import permissions
from ledger.errors import Unavailable
from ledger.runtime import Actor
from ledger.tokens import TokenStore, digest

ACTOR_KEY = "jixiao.actor"
PUBLIC_ACTOR = Actor(id="public", role=permissions.PUBLIC)
RATE_SETTING = "JIXIAO_RATE_LIMIT"  # "RATE/BURST" requests per second per caller; "off"
DEFAULT_RATE = (50.0, 200.0)


@dataclass
class RateLimit:
    """Token bucket per key, in memory: `rate` requests/s sustained, `burst` at once."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    @classmethod
    def from_env(cls, text: str | None = None) -> RateLimit | None:
        text = text if text is not None else os.environ.get(RATE_SETTING, "")
        if text.strip().lower() == "off":
            return None
        if not text.strip():
            return cls(*DEFAULT_RATE)
        rate, _, burst = text.partition("/")
        return cls(float(rate), float(burst or rate))

    def take(self, key: str) -> float:
        """0 if a request may go now, else the seconds until one may."""
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self.buckets[key] = (tokens - 1, now)
                if len(self.buckets) > 100_000:  # forget idle callers, bounded memory
                    self.buckets = {k: v for k, v in self.buckets.items()
                                    if now - v[1] < self.burst / max(self.rate, 1e-9)}
                return 0.0
            self.buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate if self.rate > 0 else 60.0


def bearer(scope: Scope) -> str | None:
    """The presented secret; '' for a malformed Authorization header."""
    raw = dict(scope.get("headers", [])).get(b"authorization")
    if raw is None:
        return None
    scheme, _, secret = raw.decode("latin-1").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def client_key(scope: Scope) -> str:
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


class Authenticate:
    """ASGI middleware: rate limit, then resolve the bearer token to an Actor."""

    def __init__(self, app: ASGIApp, tokens: TokenStore, limit: RateLimit | None) -> None:
        self.app = app
        self.tokens = tokens
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        secret = bearer(scope)
        key = client_key(scope) if not secret else "t:" + digest(secret)[:24]
        wait = self.limit.take(key) if self.limit is not None else 0.0
        if wait:
            await refuse(scope, receive, send, 429, "RATE_LIMITED",
                         f"too many requests; retry in {wait:.2f}s",
                         {"Retry-After": str(max(1, round(wait)))})
            return
        actor = PUBLIC_ACTOR
        if secret is not None:
            try:
                info = (await asyncio.get_running_loop().run_in_executor(
                    None, self.tokens.lookup, secret)) if secret else None
            except Unavailable:
                await refuse(scope, receive, send, 503, "STORAGE_UNAVAILABLE",
                             "the ledger's storage is unavailable; retry later",
                             {"Retry-After": "1"})
                return
            if info is None:
                await refuse(scope, receive, send, 401, "UNAUTHENTICATED",
                             "unknown, revoked or malformed bearer token",
                             {"WWW-Authenticate": 'Bearer realm="jixiao"'})
                return
            actor = info.actor
        scope[ACTOR_KEY] = actor
        await self.app(scope, receive, send)


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str,
                 message: str, headers: dict[str, str]) -> None:
    """A GraphQL-shaped error body (clients parse one format), or a policy close for WS."""
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.close", "code": 1008 if status != 429 else 1013})
        return
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    raw = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
           *((k.lower().encode(), v.encode()) for k, v in headers.items())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body.encode()})


def scope_actor(scope: Scope) -> Actor:
    found = scope.get(ACTOR_KEY)
    return found if isinstance(found, Actor) else PUBLIC_ACTOR
