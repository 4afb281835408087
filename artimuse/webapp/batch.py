"""The Batch tab: up to ARTIMUSE_MAX_BATCH pictures scored in model batches, ranked as they
come, as CSV and JSON once the batch ends; a bad file is named and skipped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import gradio as gr

from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.results import Finished
from artimuse.webapp import export
from artimuse.webapp.common import Tab, download, downloads, files_box, run_stop
from artimuse.webapp.i18n import EN, Message, aspect_name, band_name, language, text, ui
from artimuse.webapp.views import notice, problems_markdown


def batch_table(rows: Sequence[dict], lang: str = EN) -> dict:
    """A `gr.Dataframe` value: the scored pictures ranked by total."""
    headers = [text(key, lang) for key in ("batch.rank", "batch.file", "compare.total",
                                           "batch.band", "batch.spread")]  # fmt: skip
    data = [
        [rank, row["name"], round(s.total, 1), band_name(s.band, lang), round(s.spread, 1),
         *(round(s.aspects.get(a, float("nan")), 1) for a in RADAR_ASPECTS)]
        for rank, row in enumerate(sorted(rows, key=lambda r: -r["scores"].total), 1)
        for s in [row["scores"]]
    ]  # fmt: skip
    return {"headers": headers + [aspect_name(a, lang, short=True) for a in RADAR_ASPECTS],
            "data": data}  # fmt: skip


class Batch(Tab):
    def run(self, files: Sequence[Any] | None, with_comments: bool = False,
            comment_length: Any = None, lang: Any = EN,
            request: gr.Request = None) -> Iterator[tuple]:  # fmt: skip
        """(table, summary, CSV file, JSON file), growing chunk by chunk."""
        lang, with_comments = language(lang), with_comments is True
        files, rows, problems = list(files) if isinstance(files, list) else [], [], []
        limit, note = self.shared.limits.max_files, None
        if not files:
            note = Message("batch.choose")
        elif len(files) > limit:
            note = Message("batch.too_many", {"n": limit})
        try:
            tokens = self.shared.comment_length(comment_length) if with_comments else None
        except ValueError:
            note = note or Message("length.invalid")
        if note:
            yield self.outputs(rows, problems, len(files), lang, note)
            return

        def work(job) -> Iterator[tuple]:
            self.shared.ready()
            size = self.shared.batch_size
            for start in range(0, len(files), size):
                if job.expired:
                    break
                self._chunk(files[start : start + size], rows, problems, tokens, job)
                yield self.outputs(rows, problems, len(files), lang)
            paths = export.write_batch(rows, problems, self.shared.export_folder(request, "batch"),
                                       lang)  # fmt: skip
            note = Message("progress.time_limit_batch") if job.expired else None
            yield self.outputs(rows, problems, len(files), lang, note, paths)

        def say(message: Message) -> tuple:
            return self.outputs(rows, problems, len(files), lang, message)

        yield from self.shared.run(request, "batch", say, work)

    def _chunk(self, chunk: list, rows: list, problems: list, tokens, job) -> None:
        """Decode a chunk (bad files -> problems), score it as one model batch, and write the
        comments when asked, until the job's time is up."""
        pictures, bad = self.shared.read_many(chunk)
        problems += bad
        scores = self.shared.scores([image for _, image in pictures]) if pictures else []
        for (name, image), result in zip(pictures, scores, strict=True):
            row, wanted = {"name": name, "scores": result}, tokens and not job.expired
            for event in self.shared.steps(image, ASPECTS, tokens) if wanted else ():
                if job.expired:
                    break
                if isinstance(event, Finished):
                    row["comments"] = dict(event.assessment.comments)
            rows.append(row)

    def build(self, length: gr.Radio, lang: gr.Textbox, total: int) -> None:
        with gr.Row(equal_height=False):
            files = files_box("batch.files", "batch-files", scale=3)
            with gr.Column(scale=2, min_width=280):
                with_comments = gr.Checkbox(False, label=ui("batch.with_comments"))
                run, stop = run_stop("batch.run", "batch-run")
                files_out = downloads(("batch.csv", "batch-csv"), ("batch.json", "batch-json"))
                summary = gr.Markdown(elem_id="batch-summary")
        table = gr.Dataframe(label=ui("batch.table"), interactive=False, max_height=600,
                             elem_id="batch-table")  # fmt: skip
        inputs, outputs = [files, with_comments, length, lang], [table, summary, *files_out]
        self.events([run.click], stop, inputs, outputs, total, summary)

    def outputs(self, rows, problems, total: int, lang: str, note=None, paths=None) -> tuple:
        counts = dict(done=len(rows) + len(problems), total=total, scored=len(rows))
        summary = text("batch.summary", lang, **counts) if total else ""
        parts = (summary, problems_markdown(problems, lang), notice(note, lang))
        return (batch_table(rows, lang), "\n\n".join(filter(None, parts)),
                *map(download, paths or (None, None)))  # fmt: skip
