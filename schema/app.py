"""The ASGI app: /graphql (GraphiQL in a browser), body size and time limits, and the
pinned-answer cache.

An answer pinned to a past position can never change, so it is cached in-process and
served with a strong ETag as `immutable`; everything else is `no-store`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http.types import QueryParams

from ledger.tokens import TokenStore
from projections.views import ReadModel
from projections.visibility import reader_of
from schema import build_schema
from schema.auth import PUBLIC_ACTOR, Authenticate, RateLimit, scope_actor
from schema.context import PINNED, Context, Services, resolve_actor
from schema.exports import routes as export_routes
from schema.form_exports import form_routes
from schema.graphiql import graphiql_page, graphiql_routes
from schema.health import health_routes
from schema.http_input import GRAPHQL_PARAMS, BadRequest, graphql_params, read_json
from schema.metrics import metrics_routes, record_cache
from schema.portal import portal_routes
from schema.readiness import readiness_routes
from schema.tlog import tlog_routes
from schema.websocket import LegacyWSHandler, TransportWSHandler

MAX_BODY = 1 << 20  # 1 MiB: far above any command, far below anything harmful
BODY_TIMEOUT_SETTING = "JIXIAO_BODY_TIMEOUT"  # seconds to receive a whole request body
BODY_TIMEOUT = 30.0  # 1 MiB in 30 s is ~280 kbit/s: slower than any real client
CACHE_ENTRIES = 2048
CACHE_ENTRY_BYTES = 4 << 20
CACHE_BYTES = 64 << 20
IMMUTABLE = "public, max-age=31536000, immutable"
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"
SCOPE_KEY = "jixiao.context"
NOW_KEY = "jixiao.now"  # the position "now" was resolved to before execution (AnswerCache)
# The body checked_body decoded, for strawberry to take rather than decode it again: per
# request (a context variable is per task), and only for that very bytes object.
DECODED_BODY: ContextVar[tuple[bytes, object] | None] = ContextVar("decoded_body", default=None)
log = logging.getLogger("jixiao.api")


@dataclass(frozen=True)
class Cached:
    body: bytes
    etag: str


Shape = tuple[str, str]  # (the GraphQL parameters as executed, reader scope)
CacheKey = tuple[str, str, int]  # and the position the answer was read at, or PINNED


class AnswerCache:
    """An LRU of immutable answers keyed by (the GraphQL parameters as executed, reader scope,
    position), bounded both in entries and in bytes so that many distinct large answers cannot
    exhaust memory. The scope keeps one caller's visible answer from being served to another.

    A pinned answer is kept under PINNED (its positions are in its parameters); an answer
    "now" under the projected position "now" resolved to, which it will always be the answer
    at. `live` remembers which shapes were answered that way, so that only those resolve "now"
    before execution. `hits` and `live_hits` count answers served without execution."""

    def __init__(self, entries: int = CACHE_ENTRIES, budget: int = CACHE_BYTES) -> None:
        self.entries = entries
        self.budget = budget
        self.size = 0
        self.items: OrderedDict[CacheKey, Cached] = OrderedDict()
        self.live: OrderedDict[Shape, None] = OrderedDict()
        self.hits = 0
        self.live_hits = 0

    @staticmethod
    def cost(key: CacheKey, entry: Cached) -> int:
        return len(entry.body) + len(key[0]) + len(key[1])

    @staticmethod
    def key(params: dict[str, Any], scope: Scope) -> Shape | None:
        """From the parameters exactly as they are executed (GraphQLApp.parse_query_params, or
        the JSON body strawberry reads), a missing one (None) kept apart from an empty one."""
        if not isinstance(params.get("query"), str) or not params["query"]:
            return None
        executed = json.dumps({name: params.get(name) for name in GRAPHQL_PARAMS},
                              sort_keys=True, ensure_ascii=False)
        return executed, reader_of(scope_actor(scope))

    def get(self, key: CacheKey) -> Cached | None:
        found = self.items.get(key)
        record_cache(found is not None)
        if found is not None:
            self.items.move_to_end(key)
            self.hits += 1
            if key[2] != PINNED:
                self.live_hits += 1
        return found

    def answered_live(self, shape: Shape) -> None:
        self.live[shape] = None
        self.live.move_to_end(shape)
        while len(self.live) > self.entries:
            self.live.popitem(last=False)

    def put(self, key: CacheKey, body: bytes) -> Cached:
        entry = Cached(body=body, etag='"' + hashlib.sha256(body).hexdigest()[:40] + '"')
        if len(body) > CACHE_ENTRY_BYTES or key in self.items:
            return entry
        self.items[key] = entry
        self.size += self.cost(key, entry)
        while len(self.items) > self.entries or self.size > self.budget:
            old_key, old = self.items.popitem(last=False)
            self.size -= self.cost(old_key, old)
        return entry


PUBLIC_READER = reader_of(PUBLIC_ACTOR)


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def cached_response(entry: Cached, if_none_match: str | None, reader: str) -> Response:
    """`public` only for the anonymous answer. A shared cache (a proxy, a CDN) may key on
    the URL alone, so an answer that depends on the token is `private`, and every answer
    varies by Authorization."""
    headers = {"ETag": entry.etag, "Vary": "Authorization",
               "Cache-Control": IMMUTABLE if reader == PUBLIC_READER else PRIVATE_IMMUTABLE}
    if etag_matches(if_none_match, entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type="application/json", headers=headers)


class GraphQLApp(GraphQL[Context, None]):
    """strawberry's ASGI view plus our context, the pinned-answer cache for GET, tokens in a
    WebSocket's connection_init (schema.websocket) and a GraphiQL served from the package."""

    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, services: Services, *, dev: bool,
                 tokens: TokenStore | None = None) -> None:
        super().__init__(build_schema(dev=dev), graphql_ide="graphiql")
        self.services = services
        self.tokens = tokens
        self.cache = AnswerCache()
        self.ide = graphiql_page()

    async def render_graphql_ide(self, request: Request) -> Response:
        return self.ide.response(request)

    def encode_json(self, data: object) -> str:
        """UTF-8 rather than \\u escapes: Chinese text is half the bytes and faster to write."""
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    def decode_json(self, data: str | bytes) -> object:
        """Strict for every JSON strawberry reads (WebSocket messages too): a malformed one is
        its 400 or 4400 close, never a 500."""
        decoded = DECODED_BODY.get()
        if decoded is not None and decoded[0] is data:
            return decoded[1]
        try:
            return read_json("body", data)
        except BadRequest as exc:
            raise json.JSONDecodeError(exc.reason, "", 0) from None

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        """One value per GraphQL parameter; the cache key is computed by this same method."""
        return graphql_params(params)

    async def get_context(self, request: Request | WebSocket,
                          response: Response | WebSocket) -> Context:
        context = Context(services=self.services, actor=resolve_actor(request),
                          connection=request, response=response,
                          now=request.scope.get(NOW_KEY))
        request.scope[SCOPE_KEY] = context
        return context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if_none_match = headers.get(b"if-none-match", b"").decode("latin-1") or None
        request = Request(scope=scope, receive=receive)
        shape: Shape | None = None
        try:
            params = await self.checked_params(request)
            if isinstance(params, Response):
                response = params
            else:
                shape = self.cache.key(params, scope) if params is not None else None
                found = await self.lookup(scope, shape) if shape is not None else None
                if found is not None and shape is not None:
                    await self.kept_response(scope, found, if_none_match, shape[1])(
                        scope, receive, send)
                    return
                response = await self.run(request)
        except BadRequest as exc:
            response = exc.response()
        except HTTPException as exc:
            response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        except Exception:  # a bug outside execution: say so without details, and log it
            log.exception("request failed outside GraphQL execution")
            response = JSONResponse({"errors": [{"message": "Unexpected error."}]},
                                    status_code=500)
        response = self.finish(scope, shape, response, if_none_match)
        await response(scope, receive, send)

    async def lookup(self, scope: Scope, shape: Shape) -> tuple[Cached, int] | None:
        """The kept answer and its position: pinned, or "now" once resolved to a position
        (only for shapes answered live before; then execution reads that position too)."""
        found = self.cache.get((*shape, PINNED))
        if found is not None:
            return found, PINNED
        if shape not in self.cache.live or self.services.replicas is not None:
            return None
        read = self.services.read_model
        now = read.trusted()  # no trip to the store while nothing can be new
        if now is None:
            now = await self.services.run(read.current)
        scope[NOW_KEY] = now
        found = self.cache.get((*shape, now))
        return None if found is None else (found, now)

    def kept_response(self, scope: Scope, kept: tuple[Cached, int], if_none_match: str | None,
                      reader: str) -> Response:
        """A GET pinned answer as immutable; anything else as a fresh execution answers it."""
        entry, position = kept
        if position == PINNED and scope["method"] in ("GET", "HEAD"):
            return cached_response(entry, if_none_match, reader)
        return Response(entry.body, media_type="application/json",
                        headers={"Cache-Control": "no-store"})

    async def checked_params(self, request: Request) -> dict[str, Any] | Response | None:
        """The GraphQL parameters strawberry will execute (None: not one keepable operation),
        or the 400 for a JSON body that is malformed (not UTF-8, not JSON, too deep) or not an
        operation object (strawberry would raise)."""
        if request.method in ("GET", "HEAD"):
            return self.parse_query_params(request.query_params)
        if request.method != "POST" or "json" not in request.headers.get("content-type", ""):
            return None
        body = await request.body()
        data = read_json("body", body)
        DECODED_BODY.set((body, data))
        if isinstance(data, list):  # a batch: executed, never kept
            return None
        if not isinstance(data, dict):
            return PlainTextResponse("the request body must be a JSON object", status_code=400)
        accept = request.headers.get("accept", "")
        if "multipart" in accept or "event-stream" in accept:  # a streamed answer
            return None
        return data

    def finish(self, scope: Scope, shape: Shape | None, response: Response,
               if_none_match: str | None) -> Response:
        """Keep an error-free answer that is pinned, or read "now" at one position; mark
        everything else uncacheable (a live answer is kept here, never by HTTP caches)."""
        context: Context | None = scope.get(SCOPE_KEY)
        at = context.kept_at() if context is not None else None
        if (shape is not None and at is not None and response.status_code == 200
                and error_free(bytes(response.body))):
            entry = self.cache.put((*shape, at), bytes(response.body))
            if at == PINNED and scope["method"] in ("GET", "HEAD"):
                return cached_response(entry, if_none_match, shape[1])
            if at != PINNED:
                self.cache.answered_live(shape)
        if "cache-control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response


def error_free(body: bytes) -> bool:
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and "errors" not in answer and answer.get("data") is not None


def body_timeout_setting(text: str | None = None) -> float:
    """JIXIAO_BODY_TIMEOUT in seconds (default BODY_TIMEOUT); a bad value stops the start."""
    text = text if text is not None else os.environ.get(BODY_TIMEOUT_SETTING, "")
    if not text.strip():
        return BODY_TIMEOUT
    seconds = float(text)
    if not seconds > 0:
        raise ValueError(f"{BODY_TIMEOUT_SETTING} must be a positive number of seconds")
    return seconds


class BodyLimit:
    """Answer 413 before a large request body reaches the GraphQL parser, and 408 (closing
    the connection) when the whole body has not arrived within `timeout` seconds: a client
    that trickles its body holds no more than a waiting coroutine, and not for long."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY,
                 timeout: float = BODY_TIMEOUT) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self.refuse(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.timeout):  # the whole body, not each read
                while size <= self.max_bytes:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await self.too_slow(scope, receive, send)
            return
        if size > self.max_bytes:
            await self.refuse(scope, receive, send)
            return
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse(f"request body larger than {self.max_bytes} bytes",
                                     status_code=413)
        await response(scope, receive, send)

    async def too_slow(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"errors": [{
            "message": f"the request body did not arrive within {self.timeout:g} s",
            "extensions": {"code": "REQUEST_TIMEOUT", "field": "body",
                           "rule": f"sent within {self.timeout:g} s"}}]},
            status_code=408, headers={"Connection": "close", "Cache-Control": "no-store"})
        await response(scope, receive, send)


def build_app(services: Services, tokens: TokenStore, *, dev: bool = False,
              rate_limit: RateLimit | str | None = "env",
              body_timeout: float | None = None) -> Starlette:
    """/graphql, the downloads (/exports/…) and the disclosure portal (/), all reading the
    same views, behind bearer-token authentication and a per-caller rate limit (default from
    JIXIAO_RATE_LIMIT) and a body read timeout (default from JIXIAO_BODY_TIMEOUT). The app
    closes the services and the token store when it stops; what goes into them is assembled
    above this layer (jixiao.app.create_app)."""
    graphql = GraphQLApp(services, dev=dev, tokens=tokens)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.run(services.read_model.catch_up)
        services.read_model.listen()  # PostgreSQL: "now" costs no trip while nothing is appended
        try:
            yield
        finally:
            services.close()
            tokens.close()

    def read_model(request: Request) -> ReadModel:
        return services.read_model

    app = Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"]),
                            WebSocketRoute("/graphql", graphql),
                            *form_routes(read_model, run=services.run, actor_of=resolve_actor,
                                         pool=services.exports),
                            *export_routes(read_model, run=services.run, actor_of=resolve_actor,
                                           pool=services.exports),
                            *portal_routes(read_model, run=services.run,
                                           actor_of=resolve_actor),
                            *graphiql_routes(),
                            *health_routes(read_model, run=services.run),
                            *readiness_routes(read_model, run=services.run),
                            *tlog_routes(read_model, lambda request: services.ledger,
                                         run=services.run, actor_of=resolve_actor),
                            *metrics_routes(read_model, run=services.run)],
                    lifespan=lifespan, debug=dev)
    app.state.services = services
    app.state.graphql = graphql
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY,
                       timeout=body_timeout if body_timeout is not None else body_timeout_setting())
    app.state.tokens = tokens
    limit = RateLimit.from_env() if isinstance(rate_limit, str) else rate_limit
    app.add_middleware(Authenticate, tokens=tokens, limit=limit)
    return app
