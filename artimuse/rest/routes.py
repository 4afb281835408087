"""The REST service's routes and the dependencies they take (model, queue, limits, decoder,
scorer); `rest.app.create_app` mounts them. What each route answers is in `rest.app`'s
docstring and the OpenAPI page."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPBearer

from artimuse import __version__
from artimuse.api import ArtiMuse
from artimuse.config import (
    DEFAULT_BATCH_SIZE,
    ServiceSettings,
    UploadLimits,
    max_pixels,
    max_side,
)
from artimuse.errors import ItemFailed
from artimuse.images import ImageError, PreparedImage
from artimuse.inference.batcher import ScoreBatcher
from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.rest.uploads import (
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


def api_router() -> APIRouter:
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
        "kernels": model.kernels,  # quantization and CPU kernels, with why (api.load)
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
