"""The Batch tab's handlers: many pictures scored in batches, ranked as they come, downloadable
as CSV and JSON; one bad file is named and skipped, never failing the batch.

What the tab shows is a `BatchView`, kept in a `gr.State` so that a language switch re-draws it
(`redraw`) and the downloads know whether there is anything to download.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from artimuse.errors import ImageError
from artimuse.prompts import ASPECTS
from artimuse.webapp import export
from artimuse.webapp.common import ModelUnavailable, Shared, read_upload, upload_name
from artimuse.webapp.i18n import EN
from artimuse.webapp.messages import Message, image_problem
from artimuse.webapp.state import image_digest
from artimuse.webapp.tables import batch_html
from artimuse.webapp.views import notice_html, status_html, thumbnail_uri

UPDATE_INTERVAL_S = 1.0  # the table and the downloads are rewritten at most once a second


@dataclass
class BatchView:
    rows: list[dict] = field(default_factory=list)  # name, thumb, digest, scores[, comments]
    problems: list[tuple[str, Message]] = field(default_factory=list)  # file name, what is wrong
    total: int = 0  # files asked for
    note: Message | None = None
    unavailable: bool = False


class Batch:
    def __init__(self, shared: Shared):
        self.shared = shared

    def run(
        self,
        files: Sequence[Any] | None,
        with_comments: bool = False,
        max_new_tokens: Any = None,
        lang: str | None = EN,
        request: gr.Request = None,
        progress=gr.Progress(),
    ) -> Iterator[tuple]:
        """Many images, in batches: (ranked table, CSV download, JSON download, view), growing."""
        language = lambda: self.shared.language(lang, request)  # noqa: E731 - follows the switch
        files = list(files or [])
        view = BatchView(total=len(files))
        if not files:
            view.note = Message("batch.choose")
            yield self.outputs(view, language(), None)
            return
        try:
            model = self.shared.model()
        except ModelUnavailable:
            view.unavailable = True
            yield self.outputs(view, language(), None)
            return
        tokens = int(max_new_tokens or model.max_new_tokens) if with_comments else None
        last_update, size = 0.0, self.shared.batch_size
        for start in range(0, len(files), size):
            progress((start, len(files)), unit="images")
            self._chunk(model, files[start : start + size], view, tokens)
            done = start + size >= len(files)
            if done or time.monotonic() - last_update >= UPDATE_INTERVAL_S:
                last_update = time.monotonic()
                lang_now = language()
                paths = export.write_batch(
                    view.rows, view.problems, self.shared.export_dir, lang_now
                )
                yield self.outputs(view, lang_now, paths)

    def _chunk(self, model, chunk: list, view: BatchView, tokens: int | None) -> None:
        """Decode a chunk (bad files -> problems), score the uncached ones as one batch, and
        write their comments when asked."""
        decoded = []
        for upload in chunk:
            try:
                image, name = read_upload(upload)
            except ImageError as error:
                name = upload_name(upload)
                view.problems.append((name, image_problem(error, name)))
                continue
            row = {"name": name, "thumb": thumbnail_uri(image), "digest": image_digest(image)}
            # Batched scores equal single ones to ~1e-5, not bit for bit: their own cache key.
            row["scores"] = self.shared.cache.get(self.shared.cache_key(row["digest"], "batch"))
            decoded.append((row, image))
        todo = [(row, image) for row, image in decoded if row["scores"] is None]
        if todo:
            with self.shared.holder.lock:
                results = list(model.score_many([im for _, im in todo], len(todo), aspects=True))
            for (row, _), scores in zip(todo, results, strict=True):
                row["scores"] = scores
                self.shared.cache.put(self.shared.cache_key(row["digest"], "batch"), scores)
        for row, image in decoded:
            if tokens:
                assessment = self.shared.assessment(model, image, row["digest"], tokens, ASPECTS)
                row["comments"] = dict(assessment.comments)
            view.rows.append(row)

    def outputs(self, view: BatchView, lang: str, paths: tuple[str, str] | None) -> tuple:
        """(table, CSV download, JSON download, view); `paths` None leaves the downloads empty."""
        if view.unavailable:
            table = status_html(self.shared.holder.status, lang)
        elif view.rows or view.problems:
            table = batch_html(view.rows, view.problems, view.total, lang)
        else:
            table = ""
        csv_path, json_path = paths or (None, None)
        return table + notice_html(view.note, lang), csv_path, json_path, view

    def redraw(self, lang: str | None, view: BatchView | None, request: gr.Request = None) -> str:
        """The table again in `lang` (the language switch), from what it showed."""
        lang = self.shared.set_language(lang, request)
        return self.outputs(view or BatchView(), lang, None)[0]

    def download(self, view: BatchView | None, lang: str | None = EN) -> str:
        """A download button clicked: the note beside it says when there is nothing yet (with
        results, the button itself downloads and the note is cleared)."""
        if view is None or not view.rows and not view.problems:
            return notice_html(Message("batch.nothing"), lang)
        return ""
