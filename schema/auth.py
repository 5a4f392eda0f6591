"""Credentials and abuse limits in front of every route: bearer token → Actor, and a
per-caller token bucket answered with HTTP 429.

A caller is a live token, else the client's address: anonymous requests, malformed
headers and tokens not known to be live all spend the address's bucket, and a token not
remembered as live spends it before it may cost a store look-up, so made-up tokens cannot
buy a fresh bucket each (nor a database trip each).

The actor is put in the ASGI scope; `schema.context.resolve_actor` reads it from there.
No header means the anonymous `public` role; a header with an unknown or revoked token is
a 401 (not silently public, so a client with a broken credential notices); on a WebSocket,
a close with code 4401 and the reason. A token in a WebSocket's `connection_init` payload is
read by schema.websocket.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import threading
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from ledger import permissions
from ledger.errors import Unavailable
from ledger.runtime import Actor
from ledger.tokens import TokenInfo, TokenStore, digest

ACTOR_KEY = "jixiao.actor"
PUBLIC_ACTOR = Actor(id="public", role=permissions.PUBLIC)
RATE_SETTING = "JIXIAO_RATE_LIMIT"  # "RATE/BURST" requests per second per caller; "off"
DEFAULT_RATE = (50.0, 200.0)
BAD_TOKEN = "unknown, revoked or malformed bearer token"
UNAVAILABLE = "the ledger's storage is unavailable; retry later"


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
    """The client's address; for IPv6 its /64, which one host is commonly given whole."""
    client = scope.get("client")
    host = str(client[0]) if client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"ip:{host}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"ip:{address}"


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
        info = self.tokens.recall(secret) if secret else None  # live, from memory
        if info is None:  # anonymous, malformed, or not known to be live: the address pays
            if not await self.admitted(client_key(scope), scope, receive, send):
                return
            if secret is not None:
                info = await self.looked_up(secret, scope, receive, send)
                if info is None:
                    return
        if info is not None and secret and not await self.admitted(
                "t:" + digest(secret)[:24], scope, receive, send):
            return  # a live token: its own bucket
        scope[ACTOR_KEY] = info.actor if info is not None else PUBLIC_ACTOR
        await self.app(scope, receive, send)

    async def admitted(self, key: str, scope: Scope, receive: Receive, send: Send) -> bool:
        """Take one request from `key`'s bucket, or answer 429 and say no."""
        wait = self.limit.take(key) if self.limit is not None else 0.0
        if wait:
            await refuse(scope, receive, send, 429, "RATE_LIMITED",
                         f"too many requests; retry in {wait:.2f}s",
                         {"Retry-After": str(max(1, round(wait)))})
        return not wait

    async def looked_up(self, secret: str, scope: Scope, receive: Receive,
                        send: Send) -> TokenInfo | None:
        """The live token for `secret`, or None once 401 or 503 is answered. A secret
        remembered as unknown or revoked costs no store trip."""
        try:
            info = await token_info(self.tokens, secret)
        except Unavailable:
            await refuse(scope, receive, send, 503, "STORAGE_UNAVAILABLE", UNAVAILABLE,
                         {"Retry-After": "1"})
            return None
        if info is None:
            await refuse(scope, receive, send, 401, "UNAUTHENTICATED", BAD_TOKEN,
                         {"WWW-Authenticate": 'Bearer realm="jixiao"'})
        return info


async def token_info(tokens: TokenStore, secret: str) -> TokenInfo | None:
    """The live token for `secret`, or None. A secret remembered as live, unknown or revoked
    costs no store trip; raises Unavailable when the store cannot be asked."""
    found = tokens.recall(secret)
    if found is not None or not secret or tokens.refused(secret):
        return found
    return await asyncio.get_running_loop().run_in_executor(None, tokens.lookup, secret)


# Closes for a refused WebSocket: 4401 as the graphql-ws protocols use it; 1013 "try again
# later" (RFC 6455) for a rate limit or storage being down.
WS_CLOSE = {401: 4401, 429: 1013, 503: 1013}


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str,
                 message: str, headers: dict[str, str]) -> None:
    """A GraphQL-shaped error body (clients parse one format), or for a WebSocket a close
    with a code and the reason. A close before the handshake would reach the client as a bare
    HTTP 403, so the socket is accepted first, with the first subprotocol the client asked
    for (a browser fails a handshake that names none of them)."""
    if scope["type"] == "websocket":
        await receive()
        offered = scope.get("subprotocols") or []
        await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
        await send({"type": "websocket.close", "code": WS_CLOSE.get(status, 1008),
                    "reason": message})
        return
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    raw = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
           *((k.lower().encode(), v.encode()) for k, v in headers.items())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body.encode()})


def scope_actor(scope: Scope) -> Actor:
    found = scope.get(ACTOR_KEY)
    return found if isinstance(found, Actor) else PUBLIC_ACTOR
