"""What the three tabs share: the model and its cache (`Shared`), reading an upload, the
visitor's language, and the gradio event options every tab uses.

The tabs' handlers (`assess`, `compare`, `batch`) are plain (generator) methods that gradio
calls and tests call directly: they take what the page sends (upload paths, checkbox values,
the language) and return what the page shows (HTML, plotly figures, file paths).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from artimuse.images import open_image
from artimuse.results import Assessment, Scores
from artimuse.webapp.i18n import EN, language
from artimuse.webapp.state import READY, ModelHolder, ModelStatus, ResultCache, RunTickets

log = logging.getLogger(__name__)

MODEL_WAIT_S = 900.0  # a job arriving while the model loads waits this long for it
MODEL_JOB = dict(concurrency_id="model", concurrency_limit=1)  # every event that runs the model
QUICK = dict(queue=False, show_progress="hidden")  # bookkeeping that must not wait for the model
HTML = dict(js_on_load=None, apply_default_css=False)  # our panels bring their own CSS


class ModelUnavailable(Exception):
    """The model is not loaded (missing checkpoint, or a failed load): the page says why."""

    def __init__(self, status: ModelStatus):
        super().__init__(status.detail or status.state)
        self.status = status


@dataclass
class Shared:
    """The server's model, result cache, run tickets and export folder, and each browser
    session's language; one instance serves every tab and every visitor."""

    holder: ModelHolder
    cache: ResultCache = field(default_factory=ResultCache)
    tickets: RunTickets = field(default_factory=RunTickets)
    export_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="artimuse-")))
    batch_size: int = 8
    languages: dict[str, str] = field(default_factory=dict)  # session -> its chosen language

    def model(self):
        """The loaded model, waiting for a load in progress; ModelUnavailable otherwise."""
        status = self.holder.wait(MODEL_WAIT_S)
        if status.state != READY or self.holder.model is None:
            raise ModelUnavailable(status)
        return self.holder.model

    def cache_key(self, digest: str, *settings: Any) -> tuple:
        return (digest, self.holder.status.ckpt, *settings)

    def scores(self, model, image: Image.Image, digest: str) -> Scores:
        """Exactly `model.score(image)`, answered from the cache when seen before."""
        key = self.cache_key(digest, "scores")
        scores = self.cache.get(key)
        if scores is None:
            scores = self.holder.score(image)  # batched with other sessions' score passes
            self.cache.put(key, scores)
        return scores

    def assessment(
        self, model, image: Image.Image, digest: str, tokens: int, aspects: Sequence[str]
    ) -> Assessment:
        """Exactly `model.assess(image, aspects, tokens)`, from the cache when seen before."""
        key = self.cache_key(digest, tokens, tuple(aspects))
        assessment = self.cache.get(key)
        if assessment is None:
            with self.holder.lock:
                assessment = model.assess(image, aspects, tokens)
            self.cache.put(key, assessment)
        return assessment

    def set_language(self, lang: str | None, request: gr.Request | None = None) -> str:
        """The language switch: remembered per session, so a stream already running follows."""
        chosen = language(lang)
        session = session_of(request)
        if session is not None:
            self.languages[session] = chosen
        return chosen

    def language(self, lang: str | None, request: gr.Request | None = None) -> str:
        """The session's language: the switch's latest choice, else `lang` (the page's)."""
        session = session_of(request)
        chosen = self.languages.get(session) if session is not None else None
        return chosen or language(lang or EN)


def read_upload(upload: Any) -> tuple[Image.Image | None, str]:
    """What gradio sends for a file (a path, a FileData dict, None) -> (RGB image, file name).

    The bytes are decoded here, not by gradio, so that a bad file gets our specific message.
    """
    if upload is None:
        return None, ""
    path = upload.get("path") if isinstance(upload, dict) else getattr(upload, "path", upload)
    if path is None:
        return None, ""
    name = upload_name(upload)
    return open_image(Path(path), name=name), name


def upload_name(upload: Any) -> str:
    if isinstance(upload, dict):
        return upload.get("orig_name") or Path(upload.get("path") or "image").name
    return getattr(upload, "orig_name", None) or Path(getattr(upload, "path", upload)).name


def unique_name(name: str, taken: Sequence[str]) -> str:
    """Two uploads with the same file name must not share a legend entry."""
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


def session_of(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None)
