"""The web app's event handlers: plain (generator) methods that gradio calls and tests call
directly. They take what the page sends (upload paths, checkbox values) and return what the
page shows (HTML, plotly figures, file paths); the model comes from a `ModelHolder`.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from artimuse.images import ImageError, open_image
from artimuse.prompts import ASPECTS, COMPREHENSIVE
from artimuse.results import Assessment, CommentDelta, CommentDone, Finished, Scores, ScoresReady
from artimuse.serialization import assessment_json
from artimuse.webapp import export
from artimuse.webapp.charts import distribution_figure, radar_figure
from artimuse.webapp.state import (
    LOADING,
    READY,
    ModelHolder,
    ModelStatus,
    ResultCache,
    RunTickets,
    image_digest,
)
from artimuse.webapp.views import (
    batch_html,
    comments_html,
    compare_comments_html,
    compare_html,
    error_html,
    placeholder_html,
    score_html,
    status_html,
    thumbnail_uri,
)

log = logging.getLogger(__name__)

STREAM_INTERVAL_S = 0.1  # at most ~10 page updates a second while comments stream
COMPARE_LIMITS = (2, 4)
MODEL_WAIT_S = 900.0  # a job arriving while the model loads waits this long for it


class ModelUnavailable(Exception):
    """The model is not loaded (missing checkpoint, or a failed load): the page says why."""


@dataclass
class Handlers:
    holder: ModelHolder
    cache: ResultCache = field(default_factory=ResultCache)
    tickets: RunTickets = field(default_factory=RunTickets)
    export_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="artimuse-")))
    batch_size: int = 8

    # ---- the model -------------------------------------------------------------------------
    def model_status(self) -> tuple[str, Any]:
        """The status line, and the poll timer switched off once loading has ended."""
        status = self.holder.status
        return status_html(status), gr.Timer(active=status.state == LOADING)

    def _model(self):
        status = self.holder.wait(MODEL_WAIT_S)
        if status.state != READY or self.holder.model is None:
            raise ModelUnavailable(status_html(status))
        return self.holder.model

    def _cache_key(self, digest: str, *settings: Any) -> tuple:
        return (digest, self.holder.status.ckpt, *settings)

    def _scores(self, model, image: Image.Image, digest: str) -> Scores:
        """Exactly `model.score(image)`, answered from the cache when seen before."""
        key = self._cache_key(digest, "scores")
        scores = self.cache.get(key)
        if scores is None:
            with self.holder.lock:
                scores = model.score(image)
            self.cache.put(key, scores)
        return scores

    def switch_checkpoint(self, ckpt: str) -> Iterator[tuple[str, Any]]:
        """Free the current model, then load `ckpt` (the status line follows)."""
        ckpt = (ckpt or "").strip()
        if not ckpt:
            raise gr.Error("Choose a checkpoint directory first.")
        yield status_html(ModelStatus(LOADING, ckpt)), gr.skip()
        self.holder.load(ckpt)
        yield self.model_status()

    def new_run(self, request: gr.Request = None) -> int:
        """A new picture, Run or Stop (handled outside the queue): a new ticket for this
        browser session. A run streams only while its ticket is the session's newest, so the
        one before stops at its next token and keeps what it wrote."""
        return self.tickets.issue(_session(request))

    # ---- Assess tab ------------------------------------------------------------------------
    def assess(
        self,
        upload: Any,
        max_new_tokens: Any = None,
        ticket: int | None = None,
        request: gr.Request = None,
    ) -> Iterator[tuple]:
        """Stream one assessment: (score card, radar, distribution, comment cards, result).

        The scores come first (one forward), then the eight comments grow together; the
        result (hidden JSON, the export's source) always holds what the page shows.
        `ticket` comes from `new_run`; without one, the run is the session's current one.
        """
        session = _session(request)
        ticket = self.tickets.current(session) if ticket is None else ticket
        if ticket != self.tickets.current(session):
            return  # stopped, or replaced by a newer picture, while it waited in the queue
        try:
            image, name = read_upload(upload)
        except ImageError as error:
            gr.Warning(str(error), duration=6)
            yield error_html(str(error)), *empty_charts(), "", None
            return
        if image is None:
            yield placeholder_html(), *empty_charts(), "", None
            return
        waiting = "Loading the model; your picture is next…"
        if self.holder.status.state != LOADING:
            waiting = "Looking at the picture…"
        yield placeholder_html(waiting), gr.skip(), gr.skip(), "", None
        try:
            model = self._model()
        except ModelUnavailable as error:
            yield str(error), *empty_charts(), "", None
            return
        tokens = int(max_new_tokens or model.max_new_tokens)
        key = self._cache_key(image_digest(image), tokens, ASPECTS)
        cached: Assessment | None = self.cache.get(key)
        if cached is not None:
            yield self._assess_outputs(cached, name, charts=True)
            return
        current = lambda: ticket == self.tickets.current(session)  # noqa: E731
        yield from self._stream(model, image, name, tokens, key, current)

    def _stream(self, model, image, name, tokens, key, still_wanted) -> Iterator[tuple]:
        stream = model.stream(image, ASPECTS, tokens)
        comments: dict[str, str] = {}
        finished: set[str] = set()
        scores, last_update = None, 0.0
        try:
            while True:
                if not still_wanted():  # Stop or a newer picture: keep what was written
                    if scores is not None:
                        partial = Assessment(scores, comments, model.name)
                        yield self._assess_outputs(partial, name, False, finished, stopped=True)
                    return
                with self.holder.lock:  # one step of the model at a time, whoever asks
                    event = next(stream, None)
                if event is None:
                    return
                if isinstance(event, ScoresReady):
                    scores = event.scores  # computed exactly as `model.score` computes it
                    self.cache.put(self._cache_key(key[0], "scores"), scores)
                    partial = Assessment(scores, comments, model.name)
                    yield self._assess_outputs(partial, name, True, finished)
                elif isinstance(event, (CommentDelta, CommentDone)):
                    if isinstance(event, CommentDone):
                        comments[event.aspect] = event.text
                        finished.add(event.aspect)
                    else:
                        comments[event.aspect] = comments.get(event.aspect, "") + event.text
                    if time.monotonic() - last_update >= STREAM_INTERVAL_S:
                        last_update = time.monotonic()
                        partial = Assessment(scores, comments, model.name)
                        yield self._assess_outputs(partial, name, False, finished)
                elif isinstance(event, Finished):
                    self.cache.put(key, event.assessment)
                    yield self._assess_outputs(event.assessment, name, False)
        finally:
            stream.close()  # stopped, replaced or failed: free the generation's memory now

    def _assess_outputs(
        self,
        assessment: Assessment,
        name: str,
        charts: bool,
        finished: set[str] | None = None,
        stopped: bool = False,
    ) -> tuple:
        """The five outputs; `finished` None means the assessment is complete."""
        s = assessment.scores
        radar = radar_figure({name: s.aspects}) if charts else gr.skip()
        distribution = (
            distribution_figure(s.distribution, s.total, s.spread) if charts else gr.skip()
        )
        card = score_html(s) if charts else gr.skip()
        cards = comments_html(dict(assessment.comments), s, finished, stopped)
        complete = finished is None
        result = {"image": name, "complete": complete, "assessment": assessment_json(assessment)}
        return card, radar, distribution, cards, result

    # ---- Export ----------------------------------------------------------------------------
    def export_json(self, result: dict | None) -> Any:
        return gr.File(str(export.write_result(result, self.export_dir, "json")), visible=True)

    def export_markdown(self, result: dict | None) -> Any:
        return gr.File(str(export.write_result(result, self.export_dir, "md")), visible=True)

    # ---- Compare tab -----------------------------------------------------------------------
    def compare(
        self, files: Sequence[Any] | None, with_comments: bool = False, max_new_tokens: Any = None
    ) -> Iterator[tuple]:
        """2-4 images: (overlaid radar, score table, Comprehensive Evaluation cards)."""
        files = list(files or [])
        low, high = COMPARE_LIMITS
        if not low <= len(files) <= high:
            raise gr.Error(f"Choose {low} to {high} pictures to compare (got {len(files)}).")
        try:
            model = self._model()
        except ModelUnavailable as error:
            yield None, str(error), ""
            return
        entries, errors, comments = [], [], {}
        for upload in files:
            try:
                image, name = read_upload(upload)
            except ImageError as error:
                errors.append(str(error))
                continue
            scores = self._scores(model, image, image_digest(image))
            entries.append((_unique(name, entries), thumbnail_uri(image), scores, image))
            yield self._compare_outputs(entries, errors, comments)
        if with_comments:
            tokens = int(max_new_tokens or model.max_new_tokens)
            for name, _, _, image in entries:
                assessment = self._assessment(
                    model, image, image_digest(image), tokens, [COMPREHENSIVE]
                )
                comments[name] = assessment.comments[COMPREHENSIVE]
                yield self._compare_outputs(entries, errors, comments)

    def _compare_outputs(self, entries, errors, comments) -> tuple:
        radar = radar_figure({name: scores.aspects for name, _, scores, _ in entries})
        table = compare_html([(name, thumb, scores) for name, thumb, scores, _ in entries])
        table += "".join(error_html(message) for message in errors)
        return radar, table, compare_comments_html(comments)

    # ---- Batch tab -------------------------------------------------------------------------
    def batch(
        self,
        files: Sequence[Any] | None,
        with_comments: bool = False,
        max_new_tokens: Any = None,
        progress=gr.Progress(),
    ) -> Iterator[tuple]:
        """Many images, in batches: (ranked table, CSV download, JSON download), growing."""
        files = list(files or [])
        if not files:
            raise gr.Error("Choose some pictures first.")
        try:
            model = self._model()
        except ModelUnavailable as error:
            yield str(error), None, None
            return
        tokens = int(max_new_tokens or model.max_new_tokens)
        rows, errors, last_update = [], [], 0.0
        for start in range(0, len(files), self.batch_size):
            progress((start, len(files)), desc="Scoring", unit="images")
            chunk = files[start : start + self.batch_size]
            self._batch_chunk(model, chunk, rows, errors, tokens if with_comments else None)
            done = start + len(chunk) == len(files)
            if done or time.monotonic() - last_update >= 1.0:
                last_update = time.monotonic()
                csv_path, json_path = export.write_batch(rows, errors, self.export_dir)
                yield batch_html(rows, errors, len(files)), csv_path, json_path

    def _batch_chunk(self, model, chunk, rows: list, errors: list, tokens: int | None) -> None:
        """Decode a chunk (bad files -> errors), score the uncached ones as one batch, and
        write their comments when asked."""
        decoded = []
        for upload in chunk:
            try:
                image, name = read_upload(upload)
            except ImageError as error:
                errors.append((_upload_name(upload), str(error)))
                continue
            row = {"name": name, "thumb": thumbnail_uri(image), "digest": image_digest(image)}
            # Batched scores equal single ones to ~1e-5, not bit for bit: their own cache key.
            row["scores"] = self.cache.get(self._cache_key(row["digest"], "batch"))
            decoded.append((row, image))
        todo = [(row, image) for row, image in decoded if row["scores"] is None]
        if todo:
            with self.holder.lock:
                results = list(model.score_many([im for _, im in todo], len(todo), aspects=True))
            for (row, _), scores in zip(todo, results, strict=True):
                row["scores"] = scores
                self.cache.put(self._cache_key(row["digest"], "batch"), scores)
        for row, image in decoded:
            if tokens:
                row["comments"] = dict(
                    self._assessment(model, image, row["digest"], tokens, ASPECTS).comments
                )
            rows.append(row)

    def _assessment(
        self, model, image: Image.Image, digest: str, tokens: int, aspects: Sequence[str]
    ) -> Assessment:
        """Exactly `model.assess(image, aspects, tokens)`, from the cache when seen before."""
        key = self._cache_key(digest, tokens, tuple(aspects))
        assessment = self.cache.get(key)
        if assessment is None:
            with self.holder.lock:
                assessment = model.assess(image, aspects, tokens)
            self.cache.put(key, assessment)
        return assessment


def empty_charts() -> tuple:
    """The radar's grid and the distribution's axes, before (or instead of) a result."""
    return radar_figure({}), distribution_figure()


def read_upload(upload: Any) -> tuple[Image.Image | None, str]:
    """What gradio sends for a file (a path, a FileData dict, None) -> (RGB image, file name).

    The bytes are decoded here, not by gradio, so that a bad file gets our specific message.
    """
    if upload is None:
        return None, ""
    path = upload.get("path") if isinstance(upload, dict) else getattr(upload, "path", upload)
    if path is None:
        return None, ""
    name = _upload_name(upload)
    return open_image(Path(path), name=name), name


def _upload_name(upload: Any) -> str:
    if isinstance(upload, dict):
        return upload.get("orig_name") or Path(upload.get("path") or "image").name
    return getattr(upload, "orig_name", None) or Path(getattr(upload, "path", upload)).name


def _unique(name: str, entries: Sequence[tuple]) -> str:
    """Two uploads with the same file name must not share a legend entry."""
    taken = {entry[0] for entry in entries}
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


def _session(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None)
