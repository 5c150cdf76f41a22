"""API keys with names and roles (SPEC §6, §10): every request — the API description included — needs
``Authorization: Bearer <key>`` with one of the configured keys, and a role that covers what it asks for."""
from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from .. import access
from ..settings import ApiKey
from .errors import error_response

CALLER = "segmenter.caller"  # the ASGI scope key where RequireKey leaves the matched ApiKey
OPEN_TO_VIEWERS = ("/api/segments/preview", "/api/segments/overlap", "/api/segments/split")  # counts only
READS = ("GET", "HEAD", "OPTIONS")


def role_needed(method: str, path: str, query: bytes) -> str:
    """The least role a request needs, decided before its body is read: writes need an editor (contacts: an
    admin), CSV export an editor; previews, overlaps and splits are open to viewers. The core checks again,
    including the 100-row limit on a viewer's JSON pages."""
    path = path.rstrip("/") or "/"
    if method in READS:
        wants_csv = "csv" in parse_qs(query.decode("latin-1")).get("format", [])
        return access.EDITOR if wants_csv and path.startswith("/api/") else access.VIEWER
    if path in OPEN_TO_VIEWERS:
        return access.VIEWER
    return access.ADMIN if path == "/api/contacts" or path.startswith("/api/contacts/") else access.EDITOR


class RequireKey:
    """ASGI middleware: a request without a configured key gets 401, one whose key's role is too low 403, both
    before anything of the request is parsed; otherwise the key rides along in the scope (``CALLER``)."""

    def __init__(self, app: ASGIApp, keys: list[ApiKey]):
        self.app = app
        self.keys = [(k, k.key.encode()) for k in keys]

    def _caller(self, scope: Scope) -> ApiKey | None:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        token = token.strip()
        found = None
        for key, secret in self.keys:  # every key is compared, in constant time, whichever matches
            if hmac.compare_digest(token, secret) and found is None:
                found = key
        return found if scheme.lower() == b"bearer" else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        caller = self._caller(scope)
        if caller is None:
            response = error_response(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                                      {"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        needed = role_needed(scope["method"], scope["path"], scope.get("query_string", b""))
        if not access.may(caller.role, needed):
            as_csv = " as CSV" if needed == access.EDITOR and scope["method"] in READS else ""
            response = error_response(403, f"the API key {caller.name!r} has the {caller.role} role; "
                                           f"{scope['method']} {scope['path']}{as_csv} needs the {needed} role")
            return await response(scope, receive, send)
        scope[CALLER] = caller
        await self.app(scope, receive, send)
