"""The Assess tab's handlers: one picture, scores first, then eight comments streaming in, with
a progress line ("Comments: 3 of 8 · 5 s", "Done in 12 s") and the exports.

What the page shows is an `AssessView`; its JSON form is the hidden `result` component, so the
exports read it and a language switch re-draws the panels from it (`redraw`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from artimuse.errors import ImageError
from artimuse.prompts import ASPECTS
from artimuse.results import Assessment, CommentDelta, CommentDone, Finished, Scores, ScoresReady
from artimuse.serialization import assessment_from_json, assessment_json
from artimuse.webapp import export
from artimuse.webapp.charts import distribution_figure, radar_figure
from artimuse.webapp.common import ModelUnavailable, Shared, read_upload, session_of, upload_name
from artimuse.webapp.i18n import EN, text
from artimuse.webapp.messages import Message, image_notes, image_problem
from artimuse.webapp.state import LOADING, image_digest
from artimuse.webapp.views import (
    comments_html,
    error_html,
    notice_html,
    placeholder_html,
    progress_html,
    score_html,
    status_html,
)

STREAM_INTERVAL_S = 0.1  # at most ~10 page updates a second while comments stream


@dataclass
class AssessView:
    """Everything the Assess panels show. `finished` None: every comment is complete.
    `notice` (before there are scores): "invite", "error" (with `message`), "model"
    (the model is unavailable: its status) or "busy" (with `message`)."""

    name: str = ""
    scores: Scores | None = None
    comments: dict[str, str] = field(default_factory=dict)
    finished: set[str] | None = field(default_factory=set)
    stopped: bool = False
    checkpoint: str = ""
    notice: str = "invite"
    message: Message | None = None
    progress: Message | None = None
    busy: bool = False
    notes: list[Message] = field(default_factory=list)  # what the decoder noticed (EXIF)

    def to_result(self) -> dict:
        result = {"image": self.name, "complete": self.finished is None, "stopped": self.stopped}
        result |= {
            "finished": sorted(self.finished or ()),
            "notice": self.notice,
            "busy": self.busy,
        }
        result |= {"message": _json(self.message), "progress": _json(self.progress)}
        result["notes"] = [note.to_json() for note in self.notes]
        if self.scores is not None:
            assessment = Assessment(self.scores, self.comments, self.checkpoint)
            result["assessment"] = assessment_json(assessment)
        return result

    @classmethod
    def from_result(cls, result: dict | None) -> AssessView:
        if not result:
            return cls()
        view = cls(result.get("image", ""), notice=result.get("notice", "invite"))
        view.message = Message.from_json(result.get("message"))
        view.progress = Message.from_json(result.get("progress"))
        view.stopped, view.busy = bool(result.get("stopped")), bool(result.get("busy"))
        view.notes = [Message.from_json(note) for note in result.get("notes", ())]
        if export.has_assessment(result):
            assessment = assessment_from_json(result["assessment"])
            view.scores, view.comments = assessment.scores, dict(assessment.comments)
            view.checkpoint = assessment.checkpoint
            view.finished = None if result.get("complete") else set(result.get("finished", ()))
        return view


def _json(message: Message | None) -> list | None:
    return message.to_json() if message else None


class Assess:
    def __init__(self, shared: Shared):
        self.shared = shared

    def new_run(self, request: gr.Request = None) -> int:
        """A new picture, Assess or Stop (handled outside the queue): a new ticket for this
        browser session. A run streams only while its ticket is the session's newest, so the
        one before stops at its next token and keeps what it wrote."""
        return self.shared.tickets.issue(session_of(request))

    def start(self, lang: str | None = EN, request: gr.Request = None) -> tuple:
        """A new picture or Assess: a new ticket, and the page shows at once that the job is in
        line (gradio's queue position appears beside it until the model takes the job)."""
        lang = self.shared.language(lang, request)
        queued = progress_html(Message("progress.queued"), lang, busy=True)
        return self.new_run(request), queued, _button(True, lang)

    def stop(self, lang: str | None = EN, request: gr.Request = None) -> tuple:
        """Stop: a new ticket (the running job ends at its next token, a queued one never
        starts), and the button is ready again."""
        lang = self.shared.language(lang, request)
        return self.new_run(request), progress_html(None, lang), _button(False, lang)

    def run(
        self,
        upload: Any,
        max_new_tokens: Any = None,
        ticket: int | None = None,
        lang: str | None = EN,
        request: gr.Request = None,
    ) -> Iterator[tuple]:
        """Stream one assessment: (score card, radar, distribution, comment cards, result,
        progress line, Assess button, picture box). The scores come first (one forward), then
        the eight comments grow together. A bad file is explained once and leaves the box."""
        session, tickets = session_of(request), self.shared.tickets
        ticket = tickets.current(session) if ticket is None else ticket
        if ticket != tickets.current(session):
            return  # stopped, or replaced by a newer picture, while it waited in the queue
        language = lambda: self.shared.language(lang, request)  # noqa: E731 - follows the switch
        view, started = AssessView(), time.monotonic()
        try:
            image, view.name = read_upload(upload)
        except ImageError as error:
            view.notice, view.message = "error", image_problem(error, upload_name(upload))
            yield self.outputs(view, language(), charts=True, clear_picture=True)
            return
        if image is None:
            yield self.outputs(view, language(), charts=True)
            return
        view.notes = image_notes(image)
        loading = self.shared.holder.status.state == LOADING
        view.notice, view.busy = "busy", True
        view.message = view.progress = Message(
            "assess.waiting_model" if loading else "assess.looking"
        )
        yield self.outputs(view, language(), charts=False)
        try:
            model = self.shared.model()
        except ModelUnavailable:
            view.notice, view.busy, view.progress = "model", False, None
            yield self.outputs(view, language(), charts=True)
            return
        tokens = int(max_new_tokens or model.max_new_tokens)
        key = self.shared.cache_key(image_digest(image), tokens, ASPECTS)
        cached: Assessment | None = self.shared.cache.get(key)
        if cached is not None:
            self._complete(view, cached, Message("progress.cached"))
            yield self.outputs(view, language(), charts=True)
            return
        still_wanted = lambda: ticket == tickets.current(session)  # noqa: E731
        steps = self._stream(model, image, tokens, key, view, started, still_wanted)
        for charts in steps:
            yield self.outputs(view, language(), charts)

    def _stream(self, model, image, tokens, key, view, started, still_wanted) -> Iterator[bool]:
        """Run the model, updating `view`; yields whether the charts changed."""
        stream = model.stream(image, ASPECTS, tokens)
        elapsed = lambda: time.monotonic() - started  # noqa: E731
        last_update = 0.0
        try:
            while True:
                if not still_wanted():  # Stop or a newer picture: keep what was written
                    view.busy = False
                    if view.scores is None:  # nothing yet: back to the invitation
                        view.notice, view.progress = "invite", None
                        yield True
                        return
                    view.stopped, done = True, len(view.finished or ())
                    fields = dict(elapsed=elapsed(), done=done, total=len(ASPECTS))
                    view.progress = Message("progress.stopped", fields)
                    yield False
                    return
                with self.shared.holder.lock:  # one step of the model at a time, whoever asks
                    event = next(stream, None)
                if event is None:
                    return
                if isinstance(event, ScoresReady):
                    view.scores, view.checkpoint = event.scores, model.name
                    self.shared.cache.put(self.shared.cache_key(key[0], "scores"), event.scores)
                    view.progress = Message("progress.scores", {"elapsed": elapsed()})
                    yield True
                elif isinstance(event, (CommentDelta, CommentDone)):
                    _add_comment(view, event)
                    if time.monotonic() - last_update >= STREAM_INTERVAL_S:
                        last_update = time.monotonic()
                        fields = dict(done=len(view.finished), total=len(ASPECTS))
                        view.progress = Message(
                            "progress.comments", fields | {"elapsed": elapsed()}
                        )
                        yield False
                elif isinstance(event, Finished):
                    self.shared.cache.put(key, event.assessment)
                    self._complete(
                        view, event.assessment, Message("progress.done", {"elapsed": elapsed()})
                    )
                    yield False
        finally:
            stream.close()  # stopped, replaced or failed: free the generation's memory now

    @staticmethod
    def _complete(view: AssessView, assessment: Assessment, progress: Message) -> None:
        view.scores, view.comments = assessment.scores, dict(assessment.comments)
        view.checkpoint, view.finished, view.busy = assessment.checkpoint, None, False
        view.progress = progress

    def outputs(
        self, view: AssessView, lang: str, charts: bool, clear_picture: bool = False
    ) -> tuple:
        """The eight outputs of `run` for `view`; `charts` False leaves the charts as they are."""
        s = view.scores
        if charts:
            radar = radar_figure({view.name: s.aspects} if s else {}, lang)
            distribution = distribution_figure(
                *((s.distribution, s.total, s.spread) if s else ()), lang=lang
            )
        else:
            radar = distribution = gr.skip()
        card = score_html(s, lang) if s else self._notice(view, lang)
        card += "".join(notice_html(note, lang) for note in view.notes)
        cards = comments_html(view.comments, s, view.finished, view.stopped, lang=lang) if s else ""
        button = _button(view.busy, lang)
        picture = None if clear_picture else gr.skip()
        progress = progress_html(view.progress, lang, view.busy)
        return card, radar, distribution, cards, view.to_result(), progress, button, picture

    def _notice(self, view: AssessView, lang: str) -> str:
        if view.notice == "error" and view.message:
            return error_html(view.message, lang)
        if view.notice == "model":
            return status_html(self.shared.holder.status, lang)
        if view.notice == "busy" and view.message:
            return placeholder_html(view.message.render(lang))
        return placeholder_html(text("assess.invite", lang))

    def redraw(self, lang: str | None, result: dict | None, request: gr.Request = None) -> tuple:
        """Every Assess panel again in `lang` (the language switch), from what it showed."""
        lang = self.shared.set_language(lang, request)
        view = AssessView.from_result(result)
        return self.outputs(view, lang, charts=True)[:7]

    # ---- exports (quick events: the note beside the buttons is what the visitor sees) -------
    def export(self, kind: str, result: dict | None, lang: str | None = EN) -> tuple[Any, str]:
        """-> (the download, the note beside the buttons): a file, or why there is none yet."""
        if not export.has_assessment(result):
            return gr.File(value=None, visible=False), notice_html(Message("export.nothing"), lang)
        path = export.write_result(result, self.shared.export_dir, kind, lang)
        ready = Message("export.ready", {"name": path.name})
        return gr.File(value=str(path), visible=True), notice_html(ready, lang)


def _button(busy: bool, lang: str) -> gr.Button:
    """The Assess button: "Assessing…" with a spinner while a job is in line or running."""
    words = text("assess.working" if busy else "assess.run", lang)
    return gr.Button(value=words, elem_classes=["am-busy"] if busy else [])


def _add_comment(view: AssessView, event: CommentDelta | CommentDone) -> None:
    if isinstance(event, CommentDone):
        view.comments[event.aspect] = event.text
        view.finished.add(event.aspect)
    else:
        view.comments[event.aspect] = view.comments.get(event.aspect, "") + event.text
