"""The Compare tab's handlers: 2-4 pictures on one radar and in one table, the best of each row
marked, optionally each picture's Comprehensive Evaluation.

Every file that cannot be read is named with what is wrong with it, and when fewer than two
pictures are left the page asks for another. What the tab shows is a `CompareView`, kept in a
`gr.State` so that a language switch re-draws it (`redraw`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from artimuse.errors import ImageError
from artimuse.prompts import COMPREHENSIVE
from artimuse.results import Scores
from artimuse.webapp.charts import radar_figure
from artimuse.webapp.common import ModelUnavailable, Shared, read_upload, unique_name, upload_name
from artimuse.webapp.i18n import EN
from artimuse.webapp.messages import Message, image_problem
from artimuse.webapp.state import image_digest
from artimuse.webapp.tables import compare_comments_html, compare_html, problems_html
from artimuse.webapp.views import notice_html, status_html, thumbnail_uri

COMPARE_LIMITS = (2, 4)


@dataclass
class CompareView:
    entries: list[tuple[str, str, Scores]] = field(default_factory=list)  # name, thumb, scores
    problems: list[tuple[str, Message]] = field(default_factory=list)  # file name, what is wrong
    comments: dict[str, str] = field(default_factory=dict)  # name -> Comprehensive Evaluation
    note: Message | None = None  # what the visitor must do before there is a comparison
    unavailable: bool = False  # the model is not loaded: the status says why


class Compare:
    def __init__(self, shared: Shared):
        self.shared = shared

    def run(
        self,
        files: Sequence[Any] | None,
        with_comments: bool = False,
        max_new_tokens: Any = None,
        lang: str | None = EN,
        request: gr.Request = None,
    ) -> Iterator[tuple]:
        """2-4 images: (overlaid radar, score table, Comprehensive Evaluation cards, view)."""
        language = lambda: self.shared.language(lang, request)  # noqa: E731 - follows the switch
        files, view = list(files or []), CompareView()
        low, high = COMPARE_LIMITS
        if not low <= len(files) <= high:
            view.note = Message("compare.count", {"n": len(files)})
            yield self.outputs(view, language())
            return
        pictures = self._read(files, view)
        if len(pictures) < low:
            view.note = Message("compare.need_two", {"n": len(pictures)})
            yield self.outputs(view, language())
            return
        try:
            model = self.shared.model()
        except ModelUnavailable:
            view.unavailable = True
            yield self.outputs(view, language())
            return
        for name, image, digest in pictures:
            scores = self.shared.scores(model, image, digest)
            view.entries.append((name, thumbnail_uri(image), scores))
            yield self.outputs(view, language())
        if with_comments:
            tokens = int(max_new_tokens or model.max_new_tokens)
            for name, image, digest in pictures:
                assessment = self.shared.assessment(model, image, digest, tokens, [COMPREHENSIVE])
                view.comments[name] = assessment.comments[COMPREHENSIVE]
                yield self.outputs(view, language())

    @staticmethod
    def _read(files: list, view: CompareView) -> list[tuple]:
        """Decode every file; each bad one becomes a problem of `view`, named."""
        pictures: list[tuple] = []
        for upload in files:
            try:
                image, name = read_upload(upload)
            except ImageError as error:
                name = upload_name(upload)
                view.problems.append((name, image_problem(error, name)))
                continue
            name = unique_name(name, [p[0] for p in pictures])
            pictures.append((name, image, image_digest(image)))
        return pictures

    def outputs(self, view: CompareView, lang: str) -> tuple:
        radar = radar_figure({name: scores.aspects for name, _, scores in view.entries}, lang)
        table = compare_html(view.entries, lang) if view.entries else ""
        if view.unavailable:
            table = status_html(self.shared.holder.status, lang)
        table += problems_html(view.problems, lang) + notice_html(view.note, lang)
        return radar, table, compare_comments_html(view.comments, lang), view

    def redraw(self, lang: str | None, view: CompareView | None, request: gr.Request = None):
        """The tab again in `lang` (the language switch), from what it showed."""
        lang = self.shared.set_language(lang, request)
        return self.outputs(view or CompareView(), lang)[:3]
