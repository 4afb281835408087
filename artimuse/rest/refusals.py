"""How the REST service refuses, in one place: what each route declares in the OpenAPI document
and the handlers that write those answers, so the two cannot drift apart.

400 unparsable multipart body    401 no or wrong bearer key (only with ARTIMUSE_API_KEY)
403 a cross-origin page not allowed
408 the body stalled      413 upload or batch too large    415 not an image
422 corrupt / truncated / animated / too many pixels / malformed request
429 this client has ARTIMUSE_CLIENT_JOBS jobs already (Retry-After; written by `rest.gate`)
503 queue full (`rest.gate`) or still starting (Retry-After)
500 anything else, `internal error`, no trace
Every one is an `ErrorAnswer`: `{"detail": "...why..."}` (+ `errors` for a malformed request).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter
from starlette.exceptions import HTTPException as StarletteHTTPException

from artimuse.errors import ArtiMuseError, ItemFailed
from artimuse.images import FORMATS
from artimuse.rest.answers import ErrorAnswer
from artimuse.serialization import StreamEvent

log = logging.getLogger(__name__)
NDJSON = "application/x-ndjson"
RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds after which a retry is likely to be admitted",
        "schema": {"type": "integer", "minimum": 1},
    }
}
MEANINGS = {
    400: "the multipart body cannot be parsed",
    401: "no API key, or a wrong one: send `Authorization: Bearer <key>`",
    403: "a cross-origin request from a page whose origin is not in ARTIMUSE_CORS_ORIGINS",
    408: "the request body stalled for ARTIMUSE_BODY_TIMEOUT seconds",
    413: "the upload (ARTIMUSE_MAX_UPLOAD_MB) or the request body is too large",
    415: "the upload is not an image of a supported format",
    422: "the image cannot be read (corrupt, truncated, animated, too many pixels), or the "
    "request is malformed (`errors` says where)",
    429: "this client already has ARTIMUSE_CLIENT_JOBS jobs running or waiting",
    500: "an internal error (logged; no details are sent)",
    503: "the queue is full (ARTIMUSE_QUEUE_SIZE jobs), or the model is still loading",
}
KINDS = {  # what each kind of route can refuse, besides 401 with a key
    "health": (500,),
    "meta": (403, 500, 503),
    "upload": (400, 403, 408, 413, 415, 422, 429, 500, 503),
    "batch": (400, 403, 408, 413, 422, 429, 500, 503),  # a non-image: one file's 415, inside
}


def responses(kind: str, keyed: bool) -> dict:
    """The `responses=` of a route of this kind: every error status it can give."""
    statuses = sorted({*KINDS[kind], *((401,) if keyed else ())})
    return {status: _declared(status) for status in statuses}


def _declared(status: int) -> dict:
    declared = {"model": ErrorAnswer, "description": MEANINGS[status]}
    if status in (429, 503):
        declared["headers"] = RETRY_AFTER
    return declared


def image_parts(field: str) -> dict:
    """`openapi_extra` saying which media types the `field` part(s) may have: the accepted
    image formats (`images.FORMATS`); what the bytes must be is in the field's description."""
    types = ", ".join(f"image/{f.name.lower()}" for f in FORMATS)
    multipart = {"encoding": {field: {"contentType": types}}}
    return {"requestBody": {"content": {"multipart/form-data": multipart}}}


def stream_responses() -> dict:
    """`/infer/stream`'s 200: newline-delimited `StreamEvent` objects (see `stream_schemas`)."""
    return {
        200: {
            "description": "one `StreamEvent` JSON object a line",
            "content": {NDJSON: {"schema": {"$ref": "#/components/schemas/StreamEvent"}}},
        }
    }


def stream_schemas() -> dict:
    """The components `stream_responses` refers to: the union and each of its events."""
    schema = TypeAdapter(StreamEvent).json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    return {**schema.pop("$defs"), "StreamEvent": schema}


def add_error_handlers(app: FastAPI) -> None:
    """Every refusal as an `ErrorAnswer` with its status; nothing else leaks out."""

    async def user_error(request: Request, error: ArtiMuseError) -> JSONResponse:
        if isinstance(error, ItemFailed):  # a bug behind one image, logged where it happened
            return _answer(500, "internal error")
        # ImageError and the rest of the hierarchy: the request was at fault, and says why.
        return _answer(422, str(error))

    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _answer(error.status_code, str(error.detail), getattr(error, "headers", None))

    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the offending input; an upload must never come back.
        issues = [{k: e[k] for k in ("type", "loc", "msg")} for e in error.errors()]
        return _answer(422, malformed(error.errors()), errors=issues)

    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=error)
        return _answer(500, "internal error")

    app.add_exception_handler(ArtiMuseError, user_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, internal_error)


def malformed(errors) -> str:
    """One sentence for a request that failed validation: where and what, the first problem."""
    first = errors[0] if errors else {"loc": (), "msg": "malformed"}
    where = ".".join(str(part) for part in first["loc"][1:]) or "the request"
    if first.get("type") == "too_long" and where == "files":
        context = first.get("ctx", {})
        return (
            f"too many files: {context.get('actual_length')}, at most "
            f"{context.get('max_length')} per request (ARTIMUSE_MAX_BATCH)"
        )
    return f"malformed request: {where}: {first['msg']}"


def _answer(status: int, detail: str, headers=None, errors=None) -> JSONResponse:
    body = ErrorAnswer(detail=detail, errors=errors).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)
