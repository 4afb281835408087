"""The tabs' components and events. Static texts are `ui("key")` (translated by `gr.I18n`);
the handlers build theirs in the language every event reads from the page (`LANG`). Every event
is private (the named API is `endpoints`); model events start at once (`jobs` decides who
waits); Stop is `cancels=`.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from artimuse.webapp.assess import Assess
from artimuse.webapp.batch import Batch
from artimuse.webapp.charts import distribution_figure, radar_figure
from artimuse.webapp.common import EXAMPLES_DIR
from artimuse.webapp.compare import Compare
from artimuse.webapp.i18n import ui

# The page's current language (gradio sets <html lang> from its locale) as the last input.
LANG = "(...args) => [...args.slice(0, -1), document.documentElement.lang || navigator.language]"
# Every event is private, and takes what the client sends as it is (`preprocess=False`): the
# handlers check every value themselves, and a hostile one never makes gradio's preprocessing
# print its traceback (with the value in it) into the server's log.
PRIVATE = dict(api_visibility="private", preprocess=False)
QUICK = dict(queue=False, show_progress="hidden", **PRIVATE)


def nothing() -> None:
    """Stop's backend (its work is `cancels=`): a bare event called by `fn_index` makes gradio
    print a traceback."""


def model_job(total: int, progress: gr.Component) -> dict:
    """Options of the model's events: they start at once, up to the admission cap (`total`),
    and the handler itself admits or refuses."""
    return dict(concurrency_id="model", concurrency_limit=total, js=LANG,
                show_progress_on=[progress], **PRIVATE)  # fmt: skip


def _run_stop(key: str, elem_id: str) -> tuple[gr.Button, gr.Button]:
    with gr.Row():
        run = gr.Button(ui(key), variant="primary", elem_id=elem_id)
        return run, gr.Button(ui("assess.stop"), variant="stop", elem_id=f"{elem_id[:-4]}-stop")


def _plot(figure, key: str, elem_id: str) -> gr.Plot:
    return gr.Plot(figure, label=ui(key), elem_classes="am-plot", elem_id=elem_id)


def _downloads(*buttons: tuple[str, str]) -> list[gr.DownloadButton]:
    """(text key, element id) each: disabled until a run has written its file."""
    with gr.Row():
        return [gr.DownloadButton(ui(key), interactive=False, size="sm", elem_id=elem_id)
                for key, elem_id in buttons]  # fmt: skip


def _files(key: str, elem_id: str, **options) -> gr.File:
    return gr.File(file_count="multiple", label=ui(key), height=200, elem_id=elem_id, **options)


def assess_tab(tab: Assess, length: gr.Radio, lang: gr.Textbox, total: int) -> None:
    examples = sorted(str(p) for p in EXAMPLES_DIR.glob("*.jpg"))
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=280):
            image = gr.Image(type="filepath", sources=["upload", "clipboard"], height=340,
                             label=ui("assess.picture"), elem_id="assess-image")  # fmt: skip
            run, stop = _run_stop("assess.run", "assess-run")
            progress = gr.Markdown(elem_id="assess-progress")
            if examples:  # labelled with their names
                label, names = ui("assess.examples"), [Path(p).stem for p in examples]
                shown_examples = gr.Examples([[p] for p in examples], [image], label=label,
                                             example_labels=names)  # fmt: skip
        with gr.Column(scale=4, min_width=280):
            score = gr.Markdown(ui("assess.invite"), elem_id="assess-score")
            aspects = gr.Label(label=ui("assess.aspects"), show_heading=False,
                               elem_id="assess-aspects")  # fmt: skip
            to_json, to_md = _downloads(("export.json", "export-json"),
                                        ("export.markdown", "export-markdown"))  # fmt: skip
        with gr.Column(scale=4, min_width=280):
            radar = _plot(radar_figure({}), "chart.radar", "assess-radar")
            distribution = _plot(distribution_figure(), "chart.spread", "assess-distribution")
            gr.Markdown(ui("note.aspects"), elem_classes="am-note")
    comments = gr.Markdown(elem_id="assess-comments")
    shown = gr.State()  # the result on the page (its cache key), so Assess can say it is shown
    outputs = [score, aspects, radar, distribution, comments, progress, to_json, to_md, image,
               shown]  # fmt: skip
    stream = dict(fn=tab.run, inputs=[image, length, shown, lang], outputs=outputs,
                  show_progress="minimal", **model_job(total, progress))  # fmt: skip
    # `input`: the visitor's own change only, so the handler clearing a bad file starts nothing.
    jobs = [image.input(**stream), run.click(**stream)]
    if examples:
        jobs.append(shown_examples.load_input_event.then(**stream))
    stop.click(nothing, cancels=jobs, **QUICK)


def compare_tab(tab: Compare, length: gr.Radio, lang: gr.Textbox, total: int) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=280):
            files = _files("compare.files", "compare-files")
            with_comments = gr.Checkbox(False, label=ui("compare.with_comments"))
            run, stop = _run_stop("compare.run", "compare-run")
            notes = gr.Markdown(elem_id="compare-notes")
        with gr.Column(scale=3, min_width=280):
            radar = _plot(radar_figure({}), "chart.radar", "compare-radar")
    gallery = gr.Gallery(label=ui("compare.pictures"), columns=4, height=180,
                         elem_id="compare-gallery")  # fmt: skip
    table = gr.Dataframe(label=ui("compare.table"), interactive=False, wrap=True,
                         elem_id="compare-table")  # fmt: skip
    comments = gr.Markdown(elem_id="compare-comments")
    outputs, inputs = [radar, table, gallery, notes, comments], [files, with_comments, length, lang]
    job = run.click(tab.run, inputs, outputs, **model_job(total, notes))
    stop.click(nothing, cancels=[job], **QUICK)


def batch_tab(tab: Batch, length: gr.Radio, lang: gr.Textbox, total: int) -> None:
    with gr.Row(equal_height=False):
        files = _files("batch.files", "batch-files", scale=3)
        with gr.Column(scale=2, min_width=280):
            with_comments = gr.Checkbox(False, label=ui("batch.with_comments"))
            run, stop = _run_stop("batch.run", "batch-run")
            files_out = _downloads(("batch.csv", "batch-csv"), ("batch.json", "batch-json"))
            summary = gr.Markdown(elem_id="batch-summary")
    table = gr.Dataframe(label=ui("batch.table"), interactive=False, max_height=600,
                         elem_id="batch-table")  # fmt: skip
    job = run.click(tab.run, [files, with_comments, length, lang],
                    [table, summary, *files_out], **model_job(total, summary))  # fmt: skip
    stop.click(nothing, cancels=[job], **QUICK)
