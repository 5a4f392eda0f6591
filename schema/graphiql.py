"""GraphiQL at GET /graphql, served from this package: no CDN, so it works on a closed network.

The page (schema/static/graphiql/index.html) loads pinned upstream builds of React, ReactDOM
and GraphiQL (versions and hashes in vendor.json, licences beside them) from
/graphiql/{file}, each with an `integrity` hash, then ide.js. Its Content-Security-Policy is
the portal's plus the one thing GraphiQL needs: its stylesheet's fonts are inlined as data:
URLs. Scripts and styles stay 'self' only: nothing inline, nothing evaluated (the browser
test fails on any violation the page reports).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from schema.portal import STATIC, Asset, load_assets

DIRECTORY = STATIC / "graphiql"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer"}


class Page:
    """The GraphiQL page, answered with its own policy."""

    def __init__(self, asset: Asset) -> None:
        self.asset = asset

    def response(self, request: Request) -> Response:
        return self.asset.response(request, SECURITY_HEADERS)


def graphiql_page() -> Page:
    return Page(Asset.read(DIRECTORY / "index.html"))


def graphiql_routes() -> list[BaseRoute]:
    """The page's files at /graphiql/{name}; anything else is a 404."""
    assets = load_assets(DIRECTORY)
    assets.pop("index.html")

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        return found.response(request, SECURITY_HEADERS)

    return [Route("/graphiql/{name}", asset, methods=["GET"])]
