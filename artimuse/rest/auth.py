"""Who may call the REST service: the API key and the origins of web pages.

Both are checked before a request's body is read. The statuses they answer with are declared
with the rest in `rest.refusals`.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer

log = logging.getLogger(__name__)
OPEN_PATHS = ("/health",)  # liveness probes carry no key; the docs too are behind it
# Declares bearer auth in the OpenAPI document (the "Authorize" button of /docs) when a key is
# set; the check itself is `ApiKeyMiddleware`, which runs before a body is read.
BEARER = HTTPBearer(auto_error=False, description="ARTIMUSE_API_KEY")


class ApiKeyMiddleware:
    """`Authorization: Bearer <key>` on every path but /health, checked before the body is
    read (an unauthenticated client cannot make the server spool 20 MB)."""

    def __init__(self, app, key: str):
        self.app, self.key = app, key.encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or self._authorized(scope):
            return await self.app(scope, receive, send)
        response = JSONResponse(
            {"detail": "missing or wrong API key: send 'Authorization: Bearer <key>'"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)

    def _authorized(self, scope) -> bool:
        headers = dict(scope["headers"])
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        return scheme.lower() == b"bearer" and secrets.compare_digest(token.strip(), self.key)


class OriginGuard:
    """ASGI middleware: 403 for a request sent by a web page of another origin that is not
    allowed (ARTIMUSE_CORS_ORIGINS), before anything else runs: otherwise any page could make
    its visitors' browsers spend this server's model time (a cross-site multipart POST needs no
    CORS preflight). Requests without an `Origin` header (curl, scripts, servers) and the
    service's own pages (/docs) pass; Starlette's CORSMiddleware, inside this one, answers the
    allowed origins' preflights and adds their headers."""

    def __init__(self, app, allowed: tuple[str, ...]):
        self.app, self.allowed = app, set(allowed)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self._passes(dict(scope["headers"])):
            return await self.app(scope, receive, send)
        response = JSONResponse(
            {"detail": "cross-origin requests from this origin are not allowed "
                       "(the service's ARTIMUSE_CORS_ORIGINS lists the allowed ones)"},
            status_code=403,
        )
        await response(scope, receive, send)

    def _passes(self, headers: dict[bytes, bytes]) -> bool:
        origin = headers.get(b"origin")
        if origin is None or "*" in self.allowed:
            return True
        text = origin.decode("latin-1").rstrip("/")
        if text in self.allowed:
            return True
        # Same origin: the page was served by this service (host:port as the browser sent it;
        # the scheme may differ behind a TLS-terminating proxy).
        host = headers.get(b"host", b"").decode("latin-1").lower()
        return bool(host) and urlsplit(text).netloc.lower() == host


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
