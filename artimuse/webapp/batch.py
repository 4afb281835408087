"""The Batch tab: up to ARTIMUSE_MAX_BATCH pictures scored in model batches, ranked as they
come, downloadable as CSV and JSON once the batch ends; one bad file is named and skipped,
never failing the batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import gradio as gr

from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.webapp import export
from artimuse.webapp.assess import refusal
from artimuse.webapp.common import ModelUnavailable, Shared, session_of
from artimuse.webapp.i18n import EN, Message, aspect_name, band_name, language, text
from artimuse.webapp.jobs import Refused
from artimuse.webapp.state import image_digest
from artimuse.webapp.views import notice, problems_markdown


def batch_table(rows: Sequence[dict], lang: str = EN) -> dict:
    """A `gr.Dataframe` value: the scored pictures ranked by total."""
    headers = [
        text("batch.rank", lang),
        text("batch.file", lang),
        text("compare.total", lang),
        text("batch.band", lang),
        text("batch.spread", lang),
        *(aspect_name(a, lang, short=True) for a in RADAR_ASPECTS),
    ]
    ranked = sorted(rows, key=lambda r: -r["scores"].total)
    data = [
        [
            rank,
            row["name"],
            round(row["scores"].total, 1),
            band_name(row["scores"].band, lang),
            round(row["scores"].spread, 1),
            *(round(row["scores"].aspects.get(a, float("nan")), 1) for a in RADAR_ASPECTS),
        ]
        for rank, row in enumerate(ranked, 1)
    ]
    return {"headers": headers, "data": data}


class Batch:
    def __init__(self, shared: Shared):
        self.shared = shared

    def run(
        self,
        files: Sequence[Any] | None,
        with_comments: bool = False,
        comment_length: Any = None,
        lang: Any = EN,
        request: gr.Request = None,
    ) -> Iterator[tuple]:
        """(table, summary, CSV file, JSON file), growing chunk by chunk."""
        lang, with_comments = language(lang), with_comments is True
        files = list(files) if isinstance(files, list) else []
        rows: list[dict] = []
        if not files:
            yield self.outputs(rows, [], 0, lang, Message("batch.choose"))
            return
        limit = self.shared.limits.max_files
        if len(files) > limit:
            yield self.outputs(rows, [], len(files), lang, Message("batch.too_many", {"n": limit}))
            return
        try:
            tokens = self.shared.comment_length(comment_length) if with_comments else None
        except ValueError:
            yield self.outputs(rows, [], len(files), lang, Message("length.invalid"))
            return
        problems: list = []
        try:
            with self.shared.admit(request, "batch") as job:
                for ahead in job.wait_turn():
                    note = Message("progress.queued", {"n": ahead})
                    yield self.outputs(rows, problems, len(files), lang, note)
                self.shared.ready()
                size = self.shared.batch_size
                for start in range(0, len(files), size):
                    if job.expired:
                        break
                    self._chunk(files[start : start + size], rows, problems, tokens, job)
                    yield self.outputs(rows, problems, len(files), lang)
                folder = self.shared.exports.fresh(session_of(request), "batch")
                paths = export.write_batch(rows, problems, folder, lang)
                note = Message("progress.time_limit_batch") if job.expired else None
                yield self.outputs(rows, problems, len(files), lang, note, paths)
        except Refused as error:
            yield self.outputs(rows, problems, len(files), lang, refusal(error))
        except ModelUnavailable:
            name = self.shared.holder.status.name
            note = Message("model.unavailable", {"ckpt": name})
            yield self.outputs(rows, problems, len(files), lang, note)

    def _chunk(self, chunk: list, rows: list, problems: list, tokens, job) -> None:
        """Decode a chunk (bad files -> problems), score it as one model batch, and write the
        comments when asked (until the job's time is up)."""
        pictures, bad = self.shared.read_many(chunk)
        problems += bad
        if not pictures:
            return
        scores = self.shared.scores([image for _, image in pictures])
        for (name, image), result in zip(pictures, scores, strict=True):
            row = {"name": name, "scores": result, "digest": image_digest(image)}
            if tokens and not job.expired:
                for event in self.shared.steps(image, ASPECTS, tokens):
                    if job.expired:
                        break
                    if hasattr(event, "assessment"):
                        row["comments"] = dict(event.assessment.comments)
            rows.append(row)

    def outputs(
        self, rows, problems, total: int, lang: str, note: Message | None = None, paths=None
    ) -> tuple:
        summary = ""
        if total:
            done = len(rows) + len(problems)
            summary = text("batch.summary", lang, done=done, total=total, scored=len(rows))
        parts = (summary, problems_markdown(problems, lang), notice(note, lang))
        csv_path, json_path = paths or (None, None)
        return (
            batch_table(rows, lang),
            "\n\n".join(filter(None, parts)),
            gr.update(value=csv_path, interactive=csv_path is not None),
            gr.update(value=json_path, interactive=json_path is not None),
        )
