"""The sealed log over plain HTTP in the C2SP tlog-tiles layout, for transparency-log tooling.

    GET /checkpoint                     the latest signed checkpoint (C2SP signed note)
    GET /tile/<L>/<N>[.p/<W>]           hash tiles: 256 hashes of 32 bytes, concatenated
    GET /tile/entries/<N>[.p/<W>]       entry bundles: the canonical event records

Checkpoint and hash tiles are public: the log's leaves are SHA-256 hashes, so they show how
many events there are and nothing of what they say. Entry bundles hold every event, hidden
subjects and withheld content included, so only a `finance_bureau` or `auditor` token gets
them (as the raw `events` query). See docs/security.md, "Remote audit".

Full tiles never change (`immutable`); partial tiles and the checkpoint move with the log.
What is served comes from ledger.integrity.tiles; nothing is decided here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ledger.application import Ledger
from ledger.errors import NotFound
from ledger.integrity.service import latest_checkpoint
from ledger.integrity.tiles import StoreChanged, entry_bundle, hash_tile, parse_tile_path
from ledger.runtime import Actor
from projections.views import ReadModel
from projections.visibility import READ_ALL

T = TypeVar("T")
log = logging.getLogger("jixiao.api")
Run = Callable[[Callable[[], T]], Awaitable[T]]
IMMUTABLE = "public, max-age=31536000, immutable"
TILE_TYPE = "application/octet-stream"
ENTRIES_NEED = "entry bundles hold every event: they need a finance_bureau or auditor token"
STORE_CHANGED = ("the event store no longer matches the sealed log; the operator's log and "
                 "`jixiao verify` say where")


def _text(body: str, status: int, **headers: str) -> Response:
    return PlainTextResponse(body, status_code=status,
                             headers={"Cache-Control": "no-store", **headers})


def tlog_routes(read_model_getter: Callable[[Request], ReadModel],
                ledger_getter: Callable[[Request], Ledger], *, run: Run[Any],
                actor_of: Callable[[Request], Actor]) -> list[Route]:
    """`/checkpoint` and `/tile/…`; `run` moves the store reads off the event loop."""

    async def checkpoint(request: Request) -> Response:
        read = read_model_getter(request)
        found = await run(lambda: latest_checkpoint(read.db))
        if found is None:
            return _text("no signed checkpoint yet\n", 404)
        return Response(found.note, media_type="text/plain; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    async def tile(request: Request) -> Response:
        try:
            wanted = parse_tile_path(request.path_params["path"])
        except ValueError as exc:
            return _text(f"{exc}\n", 404)
        read = read_model_getter(request)
        if wanted.level is None:
            if actor_of(request).role not in READ_ALL:
                return _text(ENTRIES_NEED + "\n", 403, Vary="Authorization")
            ledger = ledger_getter(request)
            produce: Callable[[], bytes] = lambda: entry_bundle(read.db, ledger, wanted)  # noqa: E731
            cache = "private, max-age=31536000, immutable" if wanted.full else "private, no-cache"
            headers = {"Cache-Control": cache, "Vary": "Authorization"}
        else:
            produce = lambda: hash_tile(read.db, wanted)  # noqa: E731
            headers = {"Cache-Control": IMMUTABLE if wanted.full else "no-cache"}
        try:
            body = await run(produce)
        except NotFound:
            return _text(f"{wanted.path()} is not covered by the latest signed checkpoint\n",
                         404)
        except StoreChanged as exc:
            log.warning("tlog: %s: %s", wanted.path(), exc)
            return _text(STORE_CHANGED + "\n", 503)
        except ValueError as exc:  # an entry too long for the format's uint16 length
            log.warning("tlog: %s: %s", wanted.path(), exc)
            return _text(f"{wanted.path()} cannot be served in this format: {exc}\n", 500)
        return Response(body, media_type=TILE_TYPE, headers=headers)

    return [Route("/checkpoint", checkpoint, methods=["GET"]),
            Route("/tile/{path:path}", tile, methods=["GET"])]
