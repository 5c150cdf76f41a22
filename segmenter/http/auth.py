"""The API key: every request — the API description included (SPEC §6) — needs ``Authorization: Bearer <key>``."""
from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_response


class RequireKey:
    """ASGI middleware: every request — the API description included (SPEC §6) — needs
    ``Authorization: Bearer <key>``."""

    def __init__(self, app: ASGIApp, key: str):
        self.app, self.key = app, key.encode()

    def _allowed(self, scope: Scope) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._allowed(scope):
            response = error_response(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                                      {"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        await self.app(scope, receive, send)
