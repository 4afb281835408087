"""How the REST service refuses: API-key check and the mapping of errors to statuses.

401 no or wrong bearer key      413 upload or batch too large    415 not an image
422 corrupt / truncated / animated / too many pixels / malformed request
503 queue full (with Retry-After)   500 anything else, as `internal error`, no trace
"""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from artimuse.errors import ArtiMuseError
from artimuse.rest.work_queue import QueueFull

log = logging.getLogger(__name__)
OPEN_PATHS = ("/health",)  # liveness probes carry no key; the docs too are behind it


def add_error_handlers(app: FastAPI) -> None:
    """Every refusal as `{"detail": ...}` with its status; nothing else leaks out."""

    async def user_error(request: Request, error: ArtiMuseError) -> JSONResponse:
        # ImageError and the rest of the hierarchy: the request was at fault, and says why.
        return JSONResponse({"detail": str(error)}, status_code=422)

    async def queue_full(request: Request, error: QueueFull) -> JSONResponse:
        headers = {"Retry-After": str(error.retry_after)}
        return JSONResponse({"detail": str(error)}, status_code=503, headers=headers)

    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail
        return JSONResponse(
            {"detail": detail},
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the offending input; an upload must never come back.
        detail = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in error.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=error)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    app.add_exception_handler(ArtiMuseError, user_error)
    app.add_exception_handler(QueueFull, queue_full)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, internal_error)


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
