"""Schemathesis hooks for this service's OpenAPI document: real images for the upload parts and
a reader for the `/infer/stream` lines. The tests load it; from the command line:

    SCHEMATHESIS_HOOKS=tests.rest.schemathesis_hooks \\
        schemathesis run http://127.0.0.1:8000/openapi.json --checks all

The document says which media types an upload part may have (`image/png, image/jpeg, ...`) but
no schema can say "decodable pixels": without these, generated parts are random bytes, which
the service rightly refuses (415) and schemathesis then counts as "valid data rejected".
"""

from __future__ import annotations

import io
import json

import schemathesis
from hypothesis import strategies as st
from PIL import Image
from pydantic import TypeAdapter, ValidationError

from artimuse.serialization import StreamEvent

STREAM_EVENT = TypeAdapter(StreamEvent)


@st.composite
def pictures(draw, kind: str) -> bytes:
    """A small image of random size and colour in the format `kind` (PIL's name)."""
    size = (draw(st.integers(1, 48)), draw(st.integers(1, 48)))
    colour = tuple(draw(st.integers(0, 255)) for _ in range(3))
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, kind)
    return buffer.getvalue()


schemathesis.openapi.media_type("image/png", pictures("PNG"))
schemathesis.openapi.media_type("image/jpeg", pictures("JPEG"))


@schemathesis.deserializer("application/x-ndjson")
def stream_lines(ctx, response):
    """Every line must be a `StreamEvent` (checked here, with pydantic: OpenAPI 3.1 cannot say
    "a sequence of"); the schema check then sees the last line, `done` or `error`."""
    lines = [line for line in response.content.decode("utf-8").splitlines() if line]
    events = [json.loads(line) for line in lines]
    for event in events:
        try:
            STREAM_EVENT.validate_python(event)
        except ValidationError as error:
            raise ValueError(f"a stream line is not a StreamEvent: {error}") from None
    if not events:
        raise ValueError("the stream is empty")
    return events[-1]

