"""The page's components and events. Static texts are `ui("key")` (translated in the browser by
`gr.I18n`); what the handlers build is in the page's language, which every event reads from
the page itself (`LANG`, the locale gradio shows) into the hidden `lang` input.

Every event is private (`PRIVATE`): the named API is `endpoints.py`'s two functions. Model
events start at once (admission, not gradio's queue, decides who waits: see `jobs`); Stop is
`cancels=`.
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
    """The backend of Stop (its work is `cancels=`): an event without one, called by
    `fn_index`, makes gradio print a traceback."""


def model_job(total: int) -> dict:
    """Options of every event that runs the model: they start at once, up to the admission
    cap (`total`), and the handler itself admits or refuses."""
    return dict(concurrency_id="model", concurrency_limit=total, js=LANG, **PRIVATE)


def example_images() -> list[str]:
    return sorted(str(p) for p in Path(EXAMPLES_DIR).glob("*.jpg"))


def _plot(figure, key: str, elem_id: str) -> gr.Plot:
    return gr.Plot(figure, label=ui(key), elem_classes="am-plot", elem_id=elem_id)


def _downloads(*buttons: tuple[str, str]) -> list[gr.DownloadButton]:
    """(text key, element id) each: disabled until a run has written its file."""
    with gr.Row():
        return [
            gr.DownloadButton(ui(key), interactive=False, size="sm", elem_id=elem_id)
            for key, elem_id in buttons
        ]


def assess_tab(tab: Assess, length: gr.Radio, lang: gr.Textbox, total: int) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=280):
            image = gr.Image(
                type="filepath",
                sources=["upload", "clipboard"],
                label=ui("assess.picture"),
                height=340,
                elem_id="assess-image",
            )
            with gr.Row():
                run = gr.Button(ui("assess.run"), variant="primary", elem_id="assess-run")
                stop = gr.Button(ui("assess.stop"), variant="stop", elem_id="assess-stop")
            progress = gr.Markdown(elem_id="assess-progress")
            examples = None
            if example_images():
                examples = gr.Examples(
                    [[p] for p in example_images()],
                    inputs=[image],
                    label=ui("assess.examples"),
                    example_labels=[Path(p).stem for p in example_images()],  # their names
                )
        with gr.Column(scale=4, min_width=280):
            score = gr.Markdown(ui("assess.invite"), elem_id="assess-score")
            aspects = gr.Label(
                label=ui("assess.aspects"), show_heading=False, elem_id="assess-aspects"
            )
            to_json, to_md = _downloads(
                ("export.json", "export-json"), ("export.markdown", "export-markdown")
            )
        with gr.Column(scale=4, min_width=280):
            radar = _plot(radar_figure({}), "chart.radar", "assess-radar")
            distribution = _plot(distribution_figure(), "chart.spread", "assess-distribution")
            gr.Markdown(ui("note.aspects"), elem_classes="am-note")
    comments = gr.Markdown(elem_id="assess-comments")
    shown = gr.State()  # the result on the page (its cache key), so Assess can say it is shown
    outputs = [score, aspects, radar, distribution, comments, progress, to_json, to_md, image]
    stream = dict(
        fn=tab.run,
        inputs=[image, length, shown, lang],
        outputs=[*outputs, shown],
        show_progress="minimal",
        show_progress_on=[progress],
        **model_job(total),
    )
    # `input`: the visitor's own change only, so the handler clearing a bad file starts nothing.
    jobs = [image.input(**stream), run.click(**stream)]
    if examples is not None:
        jobs.append(examples.load_input_event.then(**stream))
    stop.click(nothing, cancels=jobs, **QUICK)


def compare_tab(tab: Compare, length: gr.Radio, lang: gr.Textbox, total: int) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=280):
            files = gr.File(
                file_count="multiple",
                label=ui("compare.files"),
                height=200,
                elem_id="compare-files",
            )
            with_comments = gr.Checkbox(False, label=ui("compare.with_comments"))
            with gr.Row():
                run = gr.Button(ui("compare.run"), variant="primary", elem_id="compare-run")
                stop = gr.Button(ui("assess.stop"), variant="stop")
            notes = gr.Markdown(elem_id="compare-notes")
        with gr.Column(scale=3, min_width=280):
            radar = _plot(radar_figure({}), "chart.radar", "compare-radar")
    gallery = gr.Gallery(
        label=ui("compare.pictures"), columns=4, height=180, elem_id="compare-gallery"
    )
    table = gr.Dataframe(
        label=ui("compare.table"), interactive=False, wrap=True, elem_id="compare-table"
    )
    comments = gr.Markdown(elem_id="compare-comments")
    job = run.click(
        tab.run,
        [files, with_comments, length, lang],
        [radar, table, gallery, notes, comments],
        show_progress_on=[notes],
        **model_job(total),
    )
    stop.click(nothing, cancels=[job], **QUICK)


def batch_tab(tab: Batch, length: gr.Radio, lang: gr.Textbox, total: int) -> None:
    with gr.Row(equal_height=False):
        files = gr.File(
            file_count="multiple",
            label=ui("batch.files"),
            height=200,
            scale=3,
            elem_id="batch-files",
        )
        with gr.Column(scale=2, min_width=280):
            with_comments = gr.Checkbox(False, label=ui("batch.with_comments"))
            with gr.Row():
                run = gr.Button(ui("batch.run"), variant="primary", elem_id="batch-run")
                stop = gr.Button(ui("assess.stop"), variant="stop")
            csv_file, json_file = _downloads(
                ("batch.csv", "batch-csv"), ("batch.json", "batch-json")
            )
            summary = gr.Markdown(elem_id="batch-summary")
    table = gr.Dataframe(
        label=ui("batch.table"), interactive=False, max_height=600, elem_id="batch-table"
    )
    job = run.click(
        tab.run,
        [files, with_comments, length, lang],
        [table, summary, csv_file, json_file],
        show_progress_on=[summary],
        **model_job(total),
    )
    stop.click(nothing, cancels=[job], **QUICK)
