"""The disclosure portal (公开门户): one page at `/`, its static files, and the verify panel's data.

The page is hand-written HTML with a little JavaScript (schema/static/): it reads everything
through the public GraphQL API and downloads through /exports, so it shows exactly what any
other client of the API would see, with the same permissions. Only what GraphQL lacks is
served here, as plain JSON and text:

    GET /                         the page (Chinese first; English toggle in the page)
    GET /portal/static/{file}     portal.js, portal.css, i18n.js (no build step, no CDN)
    GET /portal/info.json         the fiscal years the caller can read something of, the
                                  latest signed checkpoint, the public key (and whether it is
                                  a development key), the grades' codes and words (from
                                  ledger.grades); never a server path
    GET /portal/public.key        the verifier key, as `jixiao audit verify --key` takes it
    GET /portal/checkpoint.note   the latest signed checkpoint, as `--known` takes it

Mount with `portal_routes(lambda request: services.read_model, run=services.run,
actor_of=resolve_actor)`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ledger.grades import GRADE_NAMES_EN, Grade
from ledger.integrity.keys import is_dev_key
from ledger.integrity.service import CheckpointInfo, latest_checkpoint, load_key
from ledger.runtime import Actor
from projections.views import ReadModel
from projections.visibility import Visibility, visibility

T = TypeVar("T")
PUBLIC = Actor(id="public", role="public")
log = logging.getLogger("jixiao.api")
NO_KEY = "this server has no signing key configured"
BAD_KEY = "this server's signing key cannot be read"
ReadModelGetter = Callable[[Request], ReadModel]
STATIC = Path(__file__).with_name("static")
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8"}

# Everything the page needs is on this origin; nothing inline, nothing from a CDN. The
# policy makes that a property the browser enforces rather than a habit.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer"}


class Run(Protocol):
    """How a blocking call leaves the event loop (e.g. `Services.run`)."""

    def __call__(self, func: Callable[[], T], /) -> Awaitable[T]: ...


@dataclass(frozen=True)
class Asset:
    """A static file held in memory: a handful of small files, read once at mount time."""

    body: bytes
    media_type: str
    etag: str

    @classmethod
    def read(cls, path: Path) -> Asset:
        body = path.read_bytes()
        return cls(body=body, media_type=MEDIA_TYPES[path.suffix],
                   etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"')

    def response(self, request: Request, security: Mapping[str, str] = SECURITY_HEADERS
                 ) -> Response:
        # no-cache, not max-age: a redeploy must show at once, and a 304 costs one round trip.
        headers = {"ETag": self.etag, "Cache-Control": "no-cache", **security}
        if request.headers.get("if-none-match") == self.etag:
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def load_assets(directory: Path = STATIC) -> dict[str, Asset]:
    """The servable files by name; anything else under static/ (or outside it) is a 404."""
    return {p.name: Asset.read(p) for p in sorted(directory.iterdir())
            if p.is_file() and p.suffix in MEDIA_TYPES}


def fiscal_years(read: ReadModel, vis: Visibility) -> list[int]:
    """Fiscal years with at least one subject the caller may read at the projected head,
    newest first: a year that holds only hidden subjects is not offered."""
    if vis.everything:
        rows = read.rows("SELECT DISTINCT fiscal_year FROM subject_rows")
        return sorted({int(r[0]) for r in rows}, reverse=True)
    rows = read.rows("SELECT DISTINCT fiscal_year, code, unit_code FROM subject_rows")
    return sorted({int(year) for year, code, unit in rows if vis.allows(code, unit)},
                  reverse=True)


def public_key(read: ReadModel) -> tuple[str | None, str | None]:
    """(verifier key text, None), or (None, why there is none, in words that name no path:
    the operator's log has the details). Never the signing key."""
    try:
        return load_key(read.db).verifier().text(), None
    except FileNotFoundError as exc:
        log.warning("portal: no public key: %s", exc)
        return None, NO_KEY
    except ValueError as exc:
        log.warning("portal: the signing key cannot be read: %s", exc)
        return None, BAD_KEY


def checkpoint_json(found: CheckpointInfo | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"origin": found.origin, "size": found.size, "root": found.root,
            "lastPosition": found.last_position, "madeAt": found.made_at.isoformat(),
            "note": found.note}


def grade_words() -> list[dict[str, str]]:
    """The grades, best first, with their words: the page has no list of its own."""
    return [{"code": g.value, "label": g.label, "labelEn": GRADE_NAMES_EN[g]} for g in Grade]


def portal_info(read: ReadModel, actor: Actor) -> dict[str, Any]:
    """What the page cannot ask GraphQL: the years to offer `actor`, what the log is proven
    by, and the grades' words."""
    position = read.catch_up()
    key, key_problem = public_key(read)
    vis = visibility(read, actor, read.resolve(position=position))
    return {"position": position, "fiscalYears": fiscal_years(read, vis),
            "checkpoint": None if read.integrity.views.differ  # it would vouch for them
            else checkpoint_json(latest_checkpoint(read.db)),
            "publicKey": key, "keyProblem": key_problem,
            "developmentKey": key is not None and is_dev_key(key.split("+", 1)[0]),
            "grades": grade_words()}


def portal_routes(read_model_getter: ReadModelGetter, *, run: Run | None = None,
                  actor_of: Callable[[Request], Actor] | None = None) -> list[BaseRoute]:
    """The page, its files and its JSON; `run` moves blocking reads off the event loop;
    `actor_of` says who asks (default: the public)."""
    assets = load_assets()
    page = assets.pop("index.html")

    async def blocking(func: Callable[[], T]) -> T:
        return await (run(func) if run is not None else run_in_threadpool(func))

    async def index(request: Request) -> Response:
        return page.response(request)

    async def static(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        return found.response(request)

    async def info(request: Request) -> Response:
        read = read_model_getter(request)
        actor = PUBLIC if actor_of is None else actor_of(request)
        found = await blocking(lambda: portal_info(read, actor))
        return JSONResponse(found, headers={"Cache-Control": "no-store"})

    async def key_file(request: Request) -> Response:
        read = read_model_getter(request)
        key, problem = await blocking(lambda: public_key(read))
        if key is None:
            return PlainTextResponse(f"no public key: {problem}", status_code=404)
        return PlainTextResponse(key + "\n", headers=_attachment("public.key"))

    async def note_file(request: Request) -> Response:
        read = read_model_getter(request)
        found = await blocking(lambda: latest_checkpoint(read.db))
        if found is None:
            return PlainTextResponse("no signed checkpoint yet", status_code=404)
        return PlainTextResponse(found.note, headers=_attachment(f"checkpoint-{found.size}.note"))

    return [Route("/", index, methods=["GET"]),
            Route("/portal/static/{name}", static, methods=["GET"]),
            Route("/portal/info.json", info, methods=["GET"]),
            Route("/portal/public.key", key_file, methods=["GET"]),
            Route("/portal/checkpoint.note", note_file, methods=["GET"])]


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
