"""Admission at the door: a model route's request is admitted (`inference.admission`) as soon as
its headers are in, before its body is read, and holds its pass until its answer is sent (a
stream: until its last line). A refused client costs the server its headers, not its upload."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from artimuse.inference.admission import Refused

MODEL_ROUTES = ("/infer", "/infer/stream", "/score", "/score/batch")


def client_key(scope) -> str:
    """Who a request counts against: its client's address (uvicorn takes it from
    X-Forwarded-For when the connection comes from a trusted proxy, 127.0.0.1 by default).

    Not the API key: the service has one key, shared by every client it lets in, so a cap per
    key would put all of them under one client's share."""
    client = scope.get("client")
    return client[0] if client else "unknown"


class AdmissionGate:
    """ASGI middleware: 429 / 503 with Retry-After for a model route's request not admitted."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        admission = scope["app"].state.admission if "app" in scope else None
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] not in MODEL_ROUTES
            or admission is None  # still starting: the route answers 503 itself
        ):
            return await self.app(scope, receive, send)
        try:
            held = admission.admit(client_key(scope))
        except Refused as refused:
            headers = {"Retry-After": str(refused.retry_after)}
            response = JSONResponse({"detail": str(refused)}, refused.status, headers=headers)
            return await response(scope, receive, send)
        try:
            await self.app(scope, receive, send)
        finally:
            held.release()
