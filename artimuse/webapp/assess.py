"""The Assess tab: one picture, scores first, then the eight comments streaming in (`run` is a
generator: each `yield` goes to the page, and Stop ends it at its next step), a progress line
("Comments: 3 of 8 · 5 s") and the two exports, written once the assessment is complete."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from artimuse.errors import ImageError
from artimuse.images import ORIENTATION_IGNORED, image_warnings
from artimuse.prompts import ASPECTS
from artimuse.results import Assessment, CommentDelta, CommentDone, Finished, Scores, ScoresReady
from artimuse.webapp import common, export
from artimuse.webapp.charts import distribution_figure, radar_figure
from artimuse.webapp.common import EXAMPLES_DIR, Tab, download, downloads, plot, run_stop
from artimuse.webapp.i18n import EN, Message, image_problem, language, text, ui
from artimuse.webapp.jobs import Job
from artimuse.webapp.state import image_digest
from artimuse.webapp.views import aspect_label, comments_markdown, notice, score_markdown

STREAM_INTERVAL_S = 0.1  # at most ~10 page updates a second while comments stream


@dataclass
class AssessView:
    """What the Assess panels show. `finished` None: every comment is complete."""

    name: str = ""
    scores: Scores | None = None
    comments: dict[str, str] = field(default_factory=dict)
    finished: set[str] | None = field(default_factory=set)
    stopped: bool = False
    message: Message | None = None  # instead of a score card: why there is none (yet)
    progress: Message | None = None
    notes: list[Message] = field(default_factory=list)  # what the decoder noticed (EXIF)
    files: tuple = (None, None)  # the JSON and Markdown exports, once complete
    shown: tuple | None = None  # the cache key of a complete result (the page's `gr.State`)


class Assess(Tab):
    def run(self, upload: Any, comment_length: Any = None, shown: tuple | None = None,
            lang: Any = EN, request: gr.Request = None) -> Iterator[tuple]:  # fmt: skip
        """Stream one assessment: the outputs of `outputs` after each step. `shown`: what the
        page shows now (a `gr.State`, kept on the server: a client cannot set it)."""
        lang, view = language(lang), AssessView()
        try:
            image, view.name = self.shared.read(upload)
        except ImageError as error:
            view.message = image_problem(error, common.upload_name(upload))
            yield self.outputs(view, lang, clear_picture=True)
            return
        if image is None:
            view.progress = Message("assess.no_picture")
            yield self.outputs(view, lang)
            return
        try:
            tokens = self.shared.comment_length(comment_length)
        except ValueError:
            view.message = Message("length.invalid")
            yield self.outputs(view, lang)
            return
        key = self.shared.cache_key(request, image_digest(image), tokens, ASPECTS)
        if key == shown:  # Assess pressed for the result on the page: say so, change nothing
            yield (*[gr.skip()] * 5, text("assess.shown", lang), *[gr.skip()] * 3, shown)
            return
        if ORIENTATION_IGNORED in image_warnings(image):  # EXIF unreadable: scored as stored
            view.notes = [Message("note.exif_ignored")]
        cached = self.shared.cache.get(key)

        def say(message: Message) -> tuple:
            queued = message.key == "progress.queued"
            view.progress, view.message = (message, None) if queued else (None, message)
            return self.outputs(view, lang, charts=not queued)

        def work(job: Job) -> Iterator[tuple]:
            if cached is not None:
                yield self._complete(view, cached, Message("progress.cached"), key, request, lang)
            else:
                yield from self._assess(job, key, image, tokens, view, lang, request)

        yield from self.shared.run(request, "assess", say, work, wait=cached is None)

    def _assess(self, job: Job, key, image, tokens, view, lang, request) -> Iterator[tuple]:
        started = time.monotonic()
        view.progress = Message("assess.looking")
        yield self.outputs(view, lang, charts=False)
        self.shared.ready()
        sent = 0.0
        for event in self.shared.steps(image, ASPECTS, tokens):
            now = time.monotonic()
            elapsed = {"elapsed": now - started}
            if not job.wanted:  # a newer picture of this session, or the time limit
                view.stopped, done = True, {"done": len(view.finished), "total": len(ASPECTS)}
                stop = "progress.time_limit" if job.expired else "progress.stopped"
                view.progress = Message(stop, elapsed | done)
                yield self.outputs(view, lang, charts=False)
                return
            if isinstance(event, ScoresReady):
                view.scores, view.progress = event.scores, Message("progress.scores", elapsed)
                yield self.outputs(view, lang)
            elif isinstance(event, CommentDone):
                view.comments[event.aspect] = event.text
                view.finished.add(event.aspect)
            elif isinstance(event, CommentDelta):
                view.comments[event.aspect] = view.comments.get(event.aspect, "") + event.text
            elif isinstance(event, Finished):
                self.shared.cache.put(key, event.assessment)
                done = Message("progress.done", elapsed)
                yield self._complete(view, event.assessment, done, key, request, lang, False)
            if isinstance(event, (CommentDelta, CommentDone)) and now > sent + STREAM_INTERVAL_S:
                sent = now
                done = {"done": len(view.finished), "total": len(ASPECTS)}
                view.progress = Message("progress.comments", elapsed | done)
                yield self.outputs(view, lang, charts=False)

    def _complete(self, view, assessment: Assessment, progress, key, request, lang, charts=True):
        """The finished assessment on the page, its two exports written (once)."""
        view.scores, view.comments = assessment.scores, dict(assessment.comments)
        view.finished, view.progress, view.shown = None, progress, key
        folder = self.shared.export_folder(request, "assess")
        view.files = export.write_result(assessment, view.name, folder, lang)
        return self.outputs(view, lang, charts=charts)

    def build(self, length: gr.Radio, lang: gr.Textbox, total: int) -> None:
        examples = sorted(str(p) for p in EXAMPLES_DIR.glob("*.jpg"))
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=280):
                image = gr.Image(type="filepath", sources=["upload", "clipboard"], height=340,
                                 label=ui("assess.picture"), elem_id="assess-image")  # fmt: skip
                run, stop = run_stop("assess.run", "assess-run")
                progress = gr.Markdown(elem_id="assess-progress")
                if examples:  # labelled with their names
                    label, names = ui("assess.examples"), [Path(p).stem for p in examples]
                    shown_examples = gr.Examples([[p] for p in examples], [image], label=label,
                                                 example_labels=names)  # fmt: skip
            with gr.Column(scale=4, min_width=280):
                score = gr.Markdown(ui("assess.invite"), elem_id="assess-score")
                aspects = gr.Label(label=ui("assess.aspects"), show_heading=False,
                                   elem_id="assess-aspects")  # fmt: skip
                to_json, to_md = downloads(("export.json", "export-json"),
                                            ("export.markdown", "export-markdown"))  # fmt: skip
            with gr.Column(scale=4, min_width=280):
                radar = plot(radar_figure({}), "chart.radar", "assess-radar")
                distribution = plot(distribution_figure(), "chart.spread", "assess-distribution")
                gr.Markdown(ui("note.aspects"), elem_classes="am-note")
        comments = gr.Markdown(elem_id="assess-comments")
        shown = gr.State()  # the result on the page (its cache key), so Assess can say it is shown
        outputs = [score, aspects, radar, distribution, comments, progress, to_json, to_md, image,
                   shown]  # fmt: skip
        # `input`: the visitor's own change only, so the handler clearing a bad file starts nothing.
        triggers = [image.input, run.click]
        if examples:
            triggers.append(shown_examples.load_input_event.then)
        self.events(triggers, stop, [image, length, shown, lang], outputs, total, progress,
                    show_progress="minimal")  # fmt: skip

    def outputs(self, view: AssessView, lang: str, charts: bool = True,
                clear_picture: bool = False) -> tuple:  # fmt: skip
        """(score, aspects, radar, distribution, comments, progress, JSON file, Markdown file,
        picture, what is shown); `charts` False leaves the charts as they are."""
        s, radar, distribution = view.scores, gr.skip(), gr.skip()
        if charts:
            radar = radar_figure({view.name: s.aspects} if s else {}, lang)
            distribution = distribution_figure(*((s.distribution, s.total, s.spread) if s else ()),
                                               lang=lang)  # fmt: skip
        card = f"**{notice(view.message, lang)}**" if view.message else text("assess.invite", lang)
        card = score_markdown(s, lang) if s else card
        card += "".join(f"\n\n> {notice(note, lang)}" for note in view.notes)
        comments = comments_markdown(view.comments, s, view.finished, view.stopped, lang=lang)
        return (card, aspect_label(s, lang), radar, distribution, comments if s else "",
                notice(view.progress, lang), *map(download, view.files),
                None if clear_picture else gr.skip(), view.shown)  # fmt: skip
