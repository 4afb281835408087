"""What the REST service accepts as an upload, checked before any model work.

Order of the checks, each with its own status: size while reading (413), empty or not an
accepted format judged from the first bytes (422 / 415, `images.FORMATS`: the list every front
end accepts), then decoding, once, on the decoding thread (422 from `ImageError`: corrupt,
truncated, animated, too many pixels, too long). The file name and the declared content type are
never trusted.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi import HTTPException, UploadFile
from fastapi.responses import JSONResponse

from artimuse.config import UploadLimits
from artimuse.images import SUPPORTED, ImageError, PreparedImage, sniff_format

CHUNK = 1 << 20  # read uploads 1 MiB at a time
MULTIPART_SLACK = 64 * 1024  # boundaries, part headers and file name around each file
def body_limit(limits: UploadLimits, path: str) -> int:
    """The largest request body `path` accepts: one image, or a batch of them."""
    files = limits.max_files if path == "/score/batch" else 1
    return files * (limits.max_bytes + MULTIPART_SLACK)


def too_large_body(limits: UploadLimits, limit: int) -> str:
    return (
        f"the request body is larger than {limit:,} bytes: at most {limits.max_bytes:,} bytes "
        f"per image (ARTIMUSE_MAX_UPLOAD_MB) and {limits.max_files} images per batch request "
        "(ARTIMUSE_MAX_BATCH)"
    )


class BodySizeLimit:
    """ASGI middleware: 413 as soon as a request body is known to pass its path's limit.

    A declared Content-Length over the limit is refused before one byte is read; a body sent
    without one (chunked) is counted as it arrives and refused when it passes the limit, so a
    client can never make the server spool more than the limit to disk.
    """

    def __init__(self, app, limits: UploadLimits):
        self.app, self.limits = app, limits

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit(self.limits, scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            response = JSONResponse({"detail": too_large_body(self.limits, limit)}, 413)
            return await response(scope, receive, send)
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:  # FastAPI re-raises HTTPException from body parsing
                raise HTTPException(413, too_large_body(self.limits, limit))
            return message

        await self.app(scope, counted_receive, send)


async def read_upload(upload: UploadFile, limits: UploadLimits) -> bytes:
    """The upload's bytes, reading chunk by chunk and stopping as soon as it is too large."""
    chunks, size = [], 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > limits.max_bytes:
            raise HTTPException(413, limits.too_large())
        chunks.append(chunk)
    return b"".join(chunks)


def check_image_bytes(data: bytes, label: str) -> str:
    """Raise `ImageError` (422) for an empty upload, HTTPException 415 for a non-image."""
    if not data:
        raise ImageError(f"{label} is empty (0 bytes)", kind="empty")
    kind = sniff_format(data)
    if kind is None:
        raise HTTPException(415, f"{label} is not a supported image: send {SUPPORTED}")
    return kind


def upload_label(upload: UploadFile) -> str:
    """How messages name an upload: its file name, cut short, or 'the upload'."""
    name = (upload.filename or "").strip()
    return repr(name[:80]) if name else "the upload"


def single_file(form, field: str = "file") -> None:
    """A request for one image that carries several `file` parts is refused, not cut short."""
    count = len(form.getlist(field)) if form is not None else 0
    if count > 1:
        raise HTTPException(
            422, f"send one image in the `{field}` field, got {count}; /score/batch takes several"
        )


class Decoder:
    """Decoding and preprocessing off the model's thread, one upload at a time: the model
    thread only ever sees pixel values, and at most one full-size image is in memory. How many
    requests hold their bytes meanwhile is bounded by admission (`inference.admission`)."""

    def __init__(self):
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="artimuse-decode")

    async def prepare(self, model, data: bytes, label: str) -> PreparedImage:
        """`model.prepare(data, label)` on the decoding thread (ImageError for a bad image)."""
        future = self._executor.submit(model.prepare, data, label)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:  # the client left while the upload waited its turn
            future.cancel()
            raise

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
