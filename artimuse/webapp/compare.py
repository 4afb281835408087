"""The Compare tab: 2-4 pictures on one radar, in one table (the best of each row starred) and
a gallery, optionally with each picture's Comprehensive Evaluation. Every file that cannot be
read is named with what is wrong with it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import gradio as gr

from artimuse.prompts import COMPREHENSIVE, RADAR_ASPECTS
from artimuse.results import Finished, Scores
from artimuse.webapp.charts import radar_figure
from artimuse.webapp.common import Tab, files_box, plot, run_stop
from artimuse.webapp.i18n import EN, Message, aspect_name, language, text, ui
from artimuse.webapp.state import image_digest
from artimuse.webapp.views import md, notice, problems_markdown

COMPARE_LIMITS = (2, 4)


def compare_table(entries: Sequence[tuple[str, Scores]], lang: str = EN) -> dict:
    """A `gr.Dataframe` value: a row per score (total, then the aspects), a column per
    picture, the best of each row starred."""
    rows = []
    for key in ("total", *RADAR_ASPECTS):
        label = text("compare.total", lang) if key == "total" else aspect_name(key, lang)
        values = [s.total if key == "total" else s.aspects.get(key) for _, s in entries]
        best = max((v for v in values if v is not None), default=None)
        star = len(values) > 1
        rows.append([label, *("–" if v is None else f"★ {v:.1f}" if v == best and star
                              else f"{v:.1f}" for v in values)])  # fmt: skip
    return {"headers": [text("md.aspect", lang), *(name for name, _ in entries)], "data": rows}


class Compare(Tab):
    def run(self, files: Sequence[Any] | None, with_comments: bool = False,
            comment_length: Any = None, lang: Any = EN,
            request: gr.Request = None) -> Iterator[tuple]:  # fmt: skip
        """(radar, table, gallery, notes, comments) after each picture."""
        lang, files = language(lang), list(files) if isinstance(files, list) else []
        low, high = COMPARE_LIMITS
        if not low <= len(files) <= high:
            yield self.outputs([], [], Message("compare.count", {"n": len(files)}), {}, lang)
            return
        pictures, problems = self.shared.read_many(files)
        note = Message("compare.need_two", {"n": len(pictures)}) if len(pictures) < low else None
        try:
            tokens = self.shared.comment_length(comment_length)
        except ValueError:
            note = note or Message("length.invalid")
        if note:
            yield self.outputs([], problems, note, {}, lang)
            return
        entries, comments = [], {}

        def work(job) -> Iterator[tuple]:
            self.shared.ready()
            for name, image in pictures:
                entries.append((name, self._scores(image, request), image))
                yield self.outputs(entries, problems, None, comments, lang)
            for name, image in pictures if with_comments is True else ():
                if job.expired:
                    break
                for event in self.shared.steps(image, [COMPREHENSIVE], tokens):
                    if isinstance(event, Finished):
                        comments[name] = event.assessment.comments[COMPREHENSIVE]
                yield self.outputs(entries, problems, None, comments, lang)

        def say(message: Message) -> tuple:
            return self.outputs([], problems, message, {}, lang)

        yield from self.shared.run(request, "compare", say, work)

    def _scores(self, image, request) -> Scores:
        key = self.shared.cache_key(request, image_digest(image), "scores")
        scores = self.shared.cache.get(key)
        if scores is None:
            (scores,) = self.shared.scores([image])
            self.shared.cache.put(key, scores)
        return scores

    def build(self, length: gr.Radio, lang: gr.Textbox, total: int) -> None:
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=280):
                files = files_box("compare.files", "compare-files")
                with_comments = gr.Checkbox(False, label=ui("compare.with_comments"))
                run, stop = run_stop("compare.run", "compare-run")
                notes = gr.Markdown(elem_id="compare-notes")
            with gr.Column(scale=3, min_width=280):
                radar = plot(radar_figure({}), "chart.radar", "compare-radar")
        gallery = gr.Gallery(label=ui("compare.pictures"), columns=4, height=180,
                             elem_id="compare-gallery")  # fmt: skip
        table = gr.Dataframe(label=ui("compare.table"), interactive=False, wrap=True,
                             elem_id="compare-table")  # fmt: skip
        comments = gr.Markdown(elem_id="compare-comments")
        outputs = [radar, table, gallery, notes, comments]
        self.events([run.click], stop, [files, with_comments, length, lang], outputs, total, notes)

    def outputs(self, entries, problems, note: Message | None, comments: dict, lang: str) -> tuple:
        radar = radar_figure({name: scores.aspects for name, scores, _ in entries}, lang)
        table = compare_table([(name, scores) for name, scores, _ in entries], lang)
        gallery = [(image, name) for name, _, image in entries]
        notes = "\n\n".join(filter(None, (problems_markdown(problems, lang), notice(note, lang))))
        verdicts = "\n\n".join(f"### {md(name)}\n\n{md(body)}" for name, body in comments.items())
        return radar, table, gallery, notes, verdicts
