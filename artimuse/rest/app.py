"""The REST service: `create_app()` builds it, `main()` serves it (demo_api.py, `artimuse api`).

    GET  /health          liveness, whether the model is loaded (open even with an API key)
    GET  /meta            aspects, device, dtype, checkpoint name, version, limits
    POST /infer           scores + comments (the original demo's answer, behaviour §9, plus extras)
    POST /score           total + 7 aspect scores + distribution, no comments (fast)
    POST /infer/stream    newline-delimited JSON events: scores, comment deltas, done
    POST /score/batch     up to ARTIMUSE_MAX_BATCH files in one request
    GET  /docs, /redoc    the API's documentation, served with its own assets (no CDN: works
                          offline, from fastapi-offline); GET / redirects to /docs

With ARTIMUSE_API_KEY set, every path but /health (the docs included) needs
`Authorization: Bearer <key>`. The model loads in `lifespan`, never at import. All model work
runs on one worker thread behind a bounded queue (`rest.work_queue`); uploads are decoded once,
on a thread of their own (`rest.uploads`, with the upload checks); refusals and auth live in
`rest.auth`, connection limits in `rest.connections`, answer shapes in `artimuse.serialization`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, StreamingResponse
from fastapi.security import HTTPBearer
from fastapi_offline import FastAPIOffline

from artimuse import __version__
from artimuse.api import ArtiMuse, load
from artimuse.config import (
    API_PORT,
    DEFAULT_BATCH_SIZE,
    ServiceSettings,
    UploadLimits,
    environment_help,
    listen_address,
    max_pixels,
    max_side,
    model_options,
    resolve_device,
    settings_from_args,
)
from artimuse.errors import ArtiMuseError, ItemFailed
from artimuse.images import ImageError, PreparedImage
from artimuse.inference.batcher import ScoreBatcher
from artimuse.loading.checkpoint import resolve_checkpoint
from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.rest.auth import ApiKeyMiddleware, add_error_handlers
from artimuse.rest.connections import (
    BodyTimeout,
    limit_logging,
    raise_open_file_limit,
    server_options,
)
from artimuse.rest.uploads import (
    BodySizeLimit,
    Decoder,
    check_image_bytes,
    read_upload,
    single_file,
    upload_label,
)
from artimuse.rest.work_queue import WorkQueue
from artimuse.results import Event, Scores
from artimuse.serialization import event_payload, infer_payload, score_payload

log = logging.getLogger(__name__)
NDJSON = "application/x-ndjson"
ScoreUpload = Callable[[PreparedImage], Awaitable[Scores]]  # how `/score` scores one upload

# Declares bearer auth in the OpenAPI schema (the "Authorize" button of /docs); the check
# itself is `ApiKeyMiddleware`, which runs before a body is read.
BEARER = HTTPBearer(auto_error=False, description="ARTIMUSE_API_KEY, when the server sets one")


def create_app(model: ArtiMuse | None = None, settings: ServiceSettings | None = None) -> FastAPI:
    """The service; with `model=None` it loads `settings.model` when it starts (lifespan)."""
    settings = settings or ServiceSettings.from_env()
    app = FastAPIOffline(
        title="ArtiMuse",
        version=__version__,
        summary="Image aesthetics: a 0-100 score, seven aspect scores and expert comments.",
        lifespan=_lifespan,
    )
    app.state.settings, app.state.model, app.state.queue = settings, model, None
    app.state.decoder = None
    app.state.batcher = None
    app.get("/health", tags=["service"])(health)
    app.get("/", include_in_schema=False)(lambda: RedirectResponse("/docs"))
    app.include_router(_api_router(), dependencies=[Depends(BEARER)])
    add_error_handlers(app)
    # Added last = runs first: the key is checked before the size, both before any body read.
    app.add_middleware(BodyTimeout, seconds=settings.connections.body_timeout)
    app.add_middleware(BodySizeLimit, limits=settings.limits)
    if settings.api_key:
        app.add_middleware(ApiKeyMiddleware, key=settings.api_key)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI):
    state = app.state
    loaded_here = state.model is None
    if loaded_here:
        s = state.settings.model
        log.info("loading %s", s.ckpt)
        state.model = await asyncio.to_thread(load, s.ckpt, **s.load_options())
    size = state.settings.queue_size
    state.queue, state.decoder = WorkQueue(size), Decoder(size)
    state.batcher = ScoreBatcher(lambda batch: state.model.score_prepared(batch),
                                 state.settings.score_batch)
    try:
        yield
    finally:
        state.queue.shutdown()
        state.decoder.shutdown()
        if loaded_here:
            state.model = None


# --- dependencies -------------------------------------------------------------------------


def get_model(request: Request) -> ArtiMuse:
    model = request.app.state.model
    if model is None:
        raise HTTPException(503, "the model is not loaded yet", headers={"Retry-After": "5"})
    return model


def get_queue(request: Request) -> WorkQueue:
    queue = request.app.state.queue
    if queue is None:
        raise HTTPException(503, "the service is starting", headers={"Retry-After": "5"})
    return queue


def get_limits(request: Request) -> UploadLimits:
    return request.app.state.settings.limits


async def accepted_upload(
    request: Request,
    file: UploadFile = File(..., description="the image (PNG, JPEG, WebP, ...)"),
    limits: UploadLimits = Depends(get_limits),
    model: ArtiMuse = Depends(get_model),
) -> PreparedImage:
    """The upload, checked (size, format), decoded and preprocessed once, off the model thread."""
    single_file(await request.form())  # parsed already: Starlette keeps it on the request
    label = upload_label(file)
    async with _decoder(request).admit() as decoder:
        data = await read_upload(file, limits)
        kind = check_image_bytes(data, label)
        log.info("upload %s: %s, %d bytes", label, kind, len(data))  # never the bytes
        return await decoder.prepare(model, data, label)


def _decoder(request: Request) -> Decoder:
    decoder = request.app.state.decoder
    if decoder is None:
        raise HTTPException(503, "the service is starting", headers={"Retry-After": "5"})
    return decoder


# --- routes ---------------------------------------------------------------------------------


async def health(request: Request) -> dict:
    """Liveness: always 200 while the process serves; says whether the model is loaded."""
    queue: WorkQueue | None = request.app.state.queue
    return {
        "status": "ok",
        "model_loaded": request.app.state.model is not None,
        "queue": {"pending": queue.pending, "capacity": queue.capacity} if queue else None,
    }


def _api_router() -> APIRouter:
    router = APIRouter()
    router.get("/meta", tags=["service"])(meta)
    router.post("/infer", tags=["assessment"])(infer)
    router.post("/score", tags=["assessment"])(score)
    router.post("/infer/stream", response_class=StreamingResponse, tags=["assessment"])(
        infer_stream
    )
    router.post("/score/batch", tags=["assessment"])(score_batch)
    return router


async def meta(request: Request, model: ArtiMuse = Depends(get_model)) -> dict:
    """Aspect names, device, dtype, checkpoint, version and the service's limits."""
    settings: ServiceSettings = request.app.state.settings
    return {
        "dimensions": list(RADAR_ASPECTS),
        "aspects": list(ASPECTS),
        "device": str(model.device),
        "dtype": str(model.dtype).removeprefix("torch."),
        "checkpoint": model.name,  # the name only: where it lies is the server's business
        "model_name": model.name,
        "version": __version__,
        "max_new_tokens": model.max_new_tokens,
        "limits": {
            "max_upload_bytes": settings.limits.max_bytes,
            "max_batch_files": settings.limits.max_files,
            "max_pixels": max_pixels(),
            "max_side": max_side(),
            "queue_size": settings.queue_size,
        },
    }


async def infer(
    upload: PreparedImage = Depends(accepted_upload),
    model: ArtiMuse = Depends(get_model),
    queue: WorkQueue = Depends(get_queue),
) -> dict:
    """Total and aspect scores with the comments of all eight aspects.

    `total_score`, `aspect_scores` and `aspect_comments` (seven) are the original demo's
    answer; `comprehensive_evaluation`, `score_std` and `score_distribution` are added."""
    assessment = await queue.run(lambda: model.assess(upload, ASPECTS))
    return infer_payload(assessment)


def get_scorer(request: Request, queue: WorkQueue = Depends(get_queue)) -> ScoreUpload:
    """How `/score` scores an upload: with the requests waiting at the same time, as one batch
    (`inference.batcher`) on the work queue. A Ray Serve replica overrides this dependency with
    its own `@serve.batch` (artimuse.distributed.serve)."""
    batcher: ScoreBatcher = request.app.state.batcher

    async def score_waiting(upload: PreparedImage) -> Scores:
        ticket = batcher.submit(upload)
        try:
            return await queue.run(lambda: batcher.result(ticket))
        finally:
            batcher.discard(ticket)  # a client gone before its turn: nobody scores its image

    return score_waiting


async def score(
    upload: PreparedImage = Depends(accepted_upload),
    scorer: ScoreUpload = Depends(get_scorer),
) -> dict:
    """Total score, the seven aspect scores and the total's distribution; no comments.

    Requests waiting at the same time are scored as one batch (`get_scorer`)."""
    return score_payload(await scorer(upload))


async def infer_stream(
    upload: PreparedImage = Depends(accepted_upload),
    model: ArtiMuse = Depends(get_model),
    queue: WorkQueue = Depends(get_queue),
) -> StreamingResponse:
    """One JSON object a line: `scores`, then `comment` deltas and `comment_done` per aspect,
    then `done` with the whole `/infer` answer. Hanging up stops the generation."""
    events = queue.stream(lambda: model.stream(upload, ASPECTS))
    # Wait for the scores before answering, so a bad image still gets its 422 status.
    first = await anext(events)
    return StreamingResponse(_ndjson(first, events), media_type=NDJSON)


async def _ndjson(first: Event, events: AsyncIterator[Event]) -> AsyncIterator[str]:
    try:
        yield _event_line(first)
        async for event in events:
            yield _event_line(event)
    except Exception:  # the status line is sent: report in-band, without the trace
        log.exception("stream failed")
        yield json.dumps({"event": "error", "detail": "internal error"}) + "\n"
    finally:
        await events.aclose()


def _event_line(event: Event) -> str:
    return json.dumps(event_payload(event), ensure_ascii=False) + "\n"


async def score_batch(
    request: Request,
    files: list[UploadFile] = File(..., description="images, at most ARTIMUSE_MAX_BATCH"),
    model: ArtiMuse = Depends(get_model),
    queue: WorkQueue = Depends(get_queue),
    limits: UploadLimits = Depends(get_limits),
) -> dict:
    """`/score` for several files, in order. A bad file gets its own `status` and `detail`;
    the others are still scored. More than ARTIMUSE_MAX_BATCH files: 413."""
    if len(files) > limits.max_files:
        raise HTTPException(413, limits.too_many(len(files)))
    async with _decoder(request).admit() as decoder:
        items = [await _batch_item(upload, limits, decoder, model) for upload in files]
    good = [item for item in items if "prepared" in item]
    images = [item.pop("prepared") for item in good]
    scored = (
        await queue.run(lambda: list(model.score_many(images, DEFAULT_BATCH_SIZE, aspects=True)))
        if images
        else []
    )
    for item, result in zip(good, scored, strict=True):
        if isinstance(result, ItemFailed):  # logged with its traceback where it happened
            item.update(status=500, detail="internal error while scoring this file")
        elif isinstance(result, ImageError):
            item.update(status=422, detail=str(result))
        else:
            item.update(status=200, **score_payload(result))
    return {"count": len(items), "failed": sum(x["status"] != 200 for x in items), "results": items}


async def _batch_item(upload: UploadFile, limits: UploadLimits, decoder: Decoder, model) -> dict:
    """{"filename", "prepared"} for a good upload, {"filename", "status", "detail"} else."""
    item = {"filename": upload.filename or ""}
    label = upload_label(upload)
    try:
        data = await read_upload(upload, limits)
        check_image_bytes(data, label)
        return {**item, "prepared": await decoder.prepare(model, data, label)}
    except HTTPException as error:
        return {**item, "status": error.status_code, "detail": error.detail}
    except ImageError as error:
        return {**item, "status": 422, "detail": str(error)}
    except Exception:  # one file's unexpected failure must not lose the others
        log.exception("batch item %s failed", label)
        return {**item, "status": 500, "detail": "internal error while reading this file"}


# --- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """`python demo_api.py [--host H] [--port P]`; the model comes from ARTIMUSE_* or flags."""
    import uvicorn

    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:  # fail here with one line, not in the server's start-up with a trace
        model = settings_from_args(args)
        resolve_device(model.device)
        resolve_checkpoint(model.ckpt)
        settings = ServiceSettings.from_env(model=model)
    except ArtiMuseError as error:
        raise SystemExit(f"artimuse api: {error}") from None
    config = uvicorn.Config(
        create_app(settings=settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        **server_options(settings.connections),
    )
    limit_logging()  # after uvicorn.Config, which sets up its loggers
    raise_open_file_limit(settings.connections.max_connections + 256)
    uvicorn.Server(config).run()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artimuse api",
        description=(
            "Serve ArtiMuse over HTTP (OpenAPI docs at /docs). Connection limits: past "
            "ARTIMUSE_MAX_CONNECTIONS open connections requests get 503; request headers must "
            "arrive within ARTIMUSE_HEADER_TIMEOUT s, a body may stall at most "
            "ARTIMUSE_BODY_TIMEOUT s (408); idle keep-alive connections close after "
            "ARTIMUSE_KEEP_ALIVE s; repeated log messages are rate-limited. For public hosting "
            "put a reverse proxy (nginx, Caddy, a load balancer) in front and set "
            "ARTIMUSE_API_KEY."
        ),
        epilog=environment_help(),
        parents=[model_options()],
    )
    host, port = listen_address(API_PORT)
    parser.add_argument("--host", "--listen", default=host, help="listen address (HOST)")
    parser.add_argument("--port", type=int, default=port, help="port (PORT)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    return parser
