"""Who is on a GraphQL WebSocket: the bearer token from the upgrade request's Authorization
header (schema.auth.Authenticate), or from the `connection_init` payload, which is the only
place a browser can put one.

Both subprotocols (graphql-transport-ws and the legacy graphql-ws) take the payload
`{"Authorization": "Bearer <secret>"}` (the key in any case). A token in the payload wins over
the header's. No token at all is the public role, as over HTTP. A token that is present but
malformed, unknown or revoked closes the socket with 4401 and a reason saying so (the legacy
protocol sends `connection_error` first); storage being down closes it with 1013 (try again
later). A live token without the right to a subscription is not a close: that subscription
gets a GraphQL error (code FORBIDDEN) and the socket stays open for others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyInitMessage,
)

from ledger.errors import Unavailable
from ledger.tokens import TokenInfo, TokenStore
from schema.auth import ACTOR_KEY, BAD_TOKEN, UNAVAILABLE, token_info
from schema.context import Context

UNAUTHENTICATED = 4401  # the graphql-ws family's "Unauthorized"
TRY_AGAIN_LATER = 1013  # RFC 6455 registry: the server cannot serve the socket just now


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def init_secret(payload: object) -> str | None:
    """The secret in a connection_init payload: None when there is none, '' when the
    Authorization entry is not `Bearer <secret>`."""
    if not isinstance(payload, Mapping):
        return None
    values = [v for k, v in payload.items() if isinstance(k, str) and k.lower() == "authorization"]
    if not values:
        return None
    if len(values) > 1 or not isinstance(values[0], str):
        return ""
    scheme, _, secret = values[0].partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


async def authenticate_init(view: object, context: Context, payload: object) -> None:
    """Put the payload's token's actor on the connection; raise Refused for a bad one."""
    secret = init_secret(payload)
    if secret is None:
        return
    tokens = getattr(view, "tokens", None)
    info: TokenInfo | None = None
    if secret and isinstance(tokens, TokenStore):
        try:
            info = await token_info(tokens, secret)
        except Unavailable:
            raise Refused(TRY_AGAIN_LATER, UNAVAILABLE) from None
    if info is None:
        raise Refused(UNAUTHENTICATED, BAD_TOKEN)
    context.actor = info.actor
    if context.connection is not None:
        context.connection.scope[ACTOR_KEY] = info.actor


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, with the token of the connection_init payload."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if not (self.connection_init_received or self.connection_timed_out):
            try:
                await authenticate_init(self.view, self.context, message.get("payload"))
            except Refused as refused:
                self.connection_init_received = True
                await self.websocket.close(code=refused.code, reason=refused.reason)
                return
        await super().handle_connection_init(message)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws (subscriptions-transport-ws), likewise."""

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        try:
            await authenticate_init(self.view, self.context, message.get("payload"))
        except Refused as refused:
            error: dict[str, Any] = {"message": refused.reason}
            await self.send_message({"type": "connection_error", "payload": error})
            await self.websocket.close(code=refused.code, reason=refused.reason)
            return
        await super().handle_connection_init(message)
