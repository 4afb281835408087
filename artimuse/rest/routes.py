"""The REST service's routes and the dependencies they take (model, admission, decoder, batcher);
`rest.app.create_app` mounts them. What each answers is a model of `artimuse.serialization` or
`rest.answers`; what each refuses is declared with it (`rest.refusals`). Every model route's
request was admitted before its body was read (`rest.gate`)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import StreamingResponse

from artimuse import __version__
from artimuse.api import ArtiMuse
from artimuse.config import ServiceSettings, UploadLimits, max_pixels, max_side
from artimuse.errors import ItemFailed
from artimuse.images import ImageError, PreparedImage
from artimuse.inference.admission import Admission
from artimuse.inference.batcher import ScoreBatcher
from artimuse.inference.work_queue import WorkQueue
from artimuse.prompts import ASPECTS
from artimuse.rest.answers import (
    BatchAnswer,
    FailedFile,
    HealthAnswer,
    Limits,
    MetaAnswer,
    QueueState,
    ScoredFile,
)
from artimuse.rest.refusals import image_parts, responses, stream_responses
from artimuse.rest.uploads import (
    Decoder,
    check_image_bytes,
    read_upload,
    single_file,
    upload_label,
)
from artimuse.results import Event
from artimuse.serialization import (
    ErrorEvent,
    InferAnswer,
    ScoreAnswer,
    aspect_lists,
    stream_event,
)

log = logging.getLogger(__name__)
NDJSON = "application/x-ndjson"
STARTING = "the service is starting"
INTERNAL = "internal error while"


# --- dependencies -------------------------------------------------------------------------


def get_model(request: Request) -> ArtiMuse:
    model = request.app.state.model
    if model is None:
        raise HTTPException(503, "the model is not loaded yet", headers={"Retry-After": "5"})
    return model


def _started(request: Request, name: str):
    part = getattr(request.app.state, name)
    if part is None:
        raise HTTPException(503, STARTING, headers={"Retry-After": "5"})
    return part


def get_queue(request: Request) -> WorkQueue:
    return _started(request, "queue")


def get_batcher(request: Request) -> ScoreBatcher:
    return _started(request, "batcher")


def get_limits(request: Request) -> UploadLimits:
    return request.app.state.settings.limits


async def accepted_upload(
    request: Request,
    file: UploadFile = File(
        ..., description="the image (PNG, JPEG, WebP, GIF, BMP, TIFF, AVIF)",
        json_schema_extra={"minLength": 1},  # an empty upload is refused (422)
    ),
    limits: UploadLimits = Depends(get_limits),
    model: ArtiMuse = Depends(get_model),
) -> PreparedImage:
    """The upload, checked (size, format), decoded and preprocessed once, off the model thread."""
    single_file(await request.form())  # parsed already: Starlette keeps it on the request
    label = upload_label(file)
    data = await read_upload(file, limits)
    kind = check_image_bytes(data, label)
    log.info("upload %s: %s, %d bytes", label, kind, len(data))  # never the bytes
    return await _decoder(request).prepare(model, data, label)


def _decoder(request: Request) -> Decoder:
    return _started(request, "decoder")


# --- routes ---------------------------------------------------------------------------------


async def health(request: Request) -> HealthAnswer:
    """Liveness: always 200 while the process serves; says whether the model is loaded."""
    admission: Admission | None = request.app.state.admission
    queue = None
    if admission is not None:
        queue = QueueState(
            pending=admission.pending, capacity=admission.capacity,
            per_client=admission.per_client,
        )
    return HealthAnswer(status="ok", model_loaded=request.app.state.model is not None, queue=queue)


def api_router(settings: ServiceSettings) -> APIRouter:
    """The routes, each with the refusals it can give under these settings."""
    keyed, one_image = bool(settings.api_key), image_parts("file")
    router = APIRouter()
    router.get("/meta", tags=["service"], responses=responses("meta", keyed))(meta)
    for path, endpoint, answer in (("/infer", infer, InferAnswer), ("/score", score, ScoreAnswer)):
        router.post(path, tags=["assessment"], response_model=answer, openapi_extra=one_image,
                    responses=responses("upload", keyed))(endpoint)
    router.post("/infer/stream", response_class=StreamingResponse, tags=["assessment"],
                openapi_extra=one_image,
                responses={**stream_responses(), **responses("upload", keyed)})(infer_stream)
    router.post("/score/batch", tags=["assessment"], response_model=BatchAnswer,
                responses=responses("batch", keyed))(batch_route(settings.limits))
    return router


async def meta(request: Request, model: ArtiMuse = Depends(get_model)) -> MetaAnswer:
    """Aspect names, device, dtype, checkpoint, version and the service's limits.

    `dimensions`: the 7 scored aspects (the keys of `aspect_scores`); `aspects`: the 8
    commented aspects, those 7 and Comprehensive Evaluation (`serialization.ASPECT_FIELDS`).
    """
    settings: ServiceSettings = request.app.state.settings
    return MetaAnswer(
        **aspect_lists(),
        device=str(model.device),
        dtype=str(model.dtype).removeprefix("torch."),
        checkpoint=model.name,  # the name only: where it lies is the server's business
        model_name=model.name,
        version=__version__,
        max_new_tokens=model.max_new_tokens,
        kernels=getattr(model, "kernels", {}),  # quantization, CPU kernels, why (api.load)
        limits=Limits(
            max_upload_bytes=settings.limits.max_bytes,
            max_batch_files=settings.limits.max_files,
            max_pixels=max_pixels(),
            max_side=max_side(),
            queue_size=settings.queue_size,
            client_jobs=settings.client_jobs,
        ),
    )


async def infer(
    upload: PreparedImage = Depends(accepted_upload),
    model: ArtiMuse = Depends(get_model),
    queue: WorkQueue = Depends(get_queue),
) -> InferAnswer:
    """Total and aspect scores with the comments of all eight aspects.

    `total_score`, `aspect_scores` and `aspect_comments` (seven) are the original demo's
    answer; `comprehensive_evaluation`, `score_std`, `score_distribution` and `warnings` are
    added."""
    return InferAnswer.of(await queue.run(lambda: model.assess(upload, ASPECTS)))


async def score(
    upload: PreparedImage = Depends(accepted_upload),
    batcher: ScoreBatcher = Depends(get_batcher),
    queue: WorkQueue = Depends(get_queue),
) -> ScoreAnswer:
    """Total score, the seven aspect scores and the total's distribution; no comments.

    Requests waiting at the same time are scored as one batch (`inference.batcher`)."""
    ticket = batcher.submit(upload)
    try:
        return ScoreAnswer.of(await queue.run(lambda: batcher.result(ticket)))
    finally:
        batcher.discard(ticket)  # a client gone before its turn: nobody scores its image


async def infer_stream(
    upload: PreparedImage = Depends(accepted_upload),
    model: ArtiMuse = Depends(get_model),
    queue: WorkQueue = Depends(get_queue),
) -> StreamingResponse:
    """One JSON object a line (`StreamEvent`): `scores`, then `comment` deltas and
    `comment_done` per aspect, then `done` with the whole `/infer` answer. Hanging up stops
    the generation."""
    events = queue.stream(lambda: model.stream(upload, ASPECTS))
    # Wait for the scores before answering, so a bad image still gets its 422 status.
    first = await anext(events)
    return StreamingResponse(_ndjson(first, events), media_type=NDJSON)


async def _ndjson(first: Event, events: AsyncIterator[Event]) -> AsyncIterator[str]:
    try:
        yield _line(stream_event(first))
        async for event in events:
            yield _line(stream_event(event))
    except Exception:  # the status line is sent: report in-band, without the trace
        log.exception("stream failed")
        yield _line(ErrorEvent(detail="internal error"))
    finally:
        await events.aclose()


def _line(event) -> str:
    """One NDJSON line, `event` first (the model's field order puts it last in two events)."""
    return json.dumps({"event": event.event, **event.model_dump(mode="json")},
                      ensure_ascii=False) + "\n"


def batch_route(limits: UploadLimits):
    """`/score/batch`, its file count bounded in the document as in validation."""
    files_field = File(
        ..., min_length=1, max_length=limits.max_files,
        description="the images, 1 to ARTIMUSE_MAX_BATCH (formats as `/score`); a file that "
        "is no image gets its own status in the answer, the others are still scored",
        # Any bytes are a file part (answered per file), so the items have no JSON type that a
        # request could violate; FastAPI's own items say `type: string`.
        json_schema_extra={"items": {"contentMediaType": "application/octet-stream"}},
    )

    async def score_batch(
        request: Request,
        files: list[UploadFile] = files_field,
        model: ArtiMuse = Depends(get_model),
        batcher: ScoreBatcher = Depends(get_batcher),
        queue: WorkQueue = Depends(get_queue),
    ) -> BatchAnswer:
        """`/score` for several files, in order, in the same batches as `/score` requests. A
        bad file gets its own `status` and `detail`; the others are still scored."""
        decoder = _decoder(request)
        items = [await _batch_item(upload, limits, decoder, model) for upload in files]
        good = [i for i, item in enumerate(items) if isinstance(item, PreparedImage)]
        tickets = batcher.submit_many([items[i] for i in good])
        try:
            scored = await queue.run(lambda: [batcher.outcome(t) for t in tickets])
        finally:
            for ticket in tickets:
                batcher.discard(ticket)
        for i, result in zip(good, scored, strict=True):
            items[i] = _scored_file(files[i], result)
        failed = sum(isinstance(item, FailedFile) for item in items)
        return BatchAnswer(count=len(items), failed=failed, results=items)

    return score_batch


def _scored_file(upload: UploadFile, result) -> ScoredFile | FailedFile:
    name = upload.filename or ""
    if isinstance(result, ImageError) and not isinstance(result, ItemFailed):
        return FailedFile(filename=name, status=422, detail=str(result))
    if isinstance(result, Exception):  # a bug; ItemFailed was logged where it happened
        if not isinstance(result, ItemFailed):
            log.error("batch scoring failed", exc_info=result)
        return FailedFile(filename=name, status=500, detail=f"{INTERNAL} scoring this file")
    return ScoredFile(filename=name, **ScoreAnswer.of(result).model_dump())


async def _batch_item(upload: UploadFile, limits: UploadLimits, decoder: Decoder, model):
    """The prepared image of a good upload, a `FailedFile` saying why not for a bad one."""
    name, label = upload.filename or "", upload_label(upload)
    try:
        data = await read_upload(upload, limits)
        check_image_bytes(data, label)
        return await decoder.prepare(model, data, label)
    except HTTPException as error:
        return FailedFile(filename=name, status=error.status_code, detail=error.detail)
    except ImageError as error:
        return FailedFile(filename=name, status=422, detail=str(error))
    except Exception:  # one file's unexpected failure must not lose the others
        log.exception("batch item %s failed", label)
        return FailedFile(filename=name, status=500, detail=f"{INTERNAL} reading this file")
