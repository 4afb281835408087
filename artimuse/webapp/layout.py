"""The three tabs' components and events. Static texts are `ui("key")` (translated in the
browser); every panel built in Python is re-drawn by the tab's `redraw` when the visitor
switches languages (`lang`, the switch)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr

from artimuse.webapp.assess import Assess
from artimuse.webapp.batch import Batch
from artimuse.webapp.charts import distribution_figure, radar_figure
from artimuse.webapp.common import HTML, MODEL_JOB, QUICK
from artimuse.webapp.compare import Compare
from artimuse.webapp.i18n import text, ui
from artimuse.webapp.views import placeholder_html, progress_html
from artimuse.webapp.zerogpu import assess_duration, many_duration, on_gpu

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def example_images() -> list[str]:
    return sorted(str(p) for p in EXAMPLES_DIR.glob("*.jpg"))


def _plot(figure, key: str, elem_id: str) -> gr.Plot:
    gr.Markdown(ui(key), elem_classes="am-chart-title")
    return gr.Plot(figure, label=ui(key), show_label=False, elem_classes="am-plot", elem_id=elem_id)


def assess_tab(tab: Assess, length: gr.Radio, lang: gr.Radio) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=280):
            image = gr.Image(
                type="filepath",
                image_mode=None,
                sources=["upload", "clipboard"],
                label=ui("assess.picture"),
                height=340,
                elem_id="assess-image",
            )
            with gr.Row():
                run = gr.Button(
                    ui("assess.run"), variant="primary", min_width=100, elem_id="assess-run"
                )
                stop = gr.Button(
                    ui("assess.stop"), variant="stop", min_width=100, elem_id="assess-stop"
                )
            progress = gr.HTML(progress_html(None), **HTML, elem_id="assess-progress")
            examples = None
            if example_images():
                examples = gr.Examples(
                    [[p] for p in example_images()], inputs=[image], label=ui("assess.examples")
                )
        with gr.Column(scale=4, min_width=280):
            score = gr.HTML(placeholder_html(text("assess.invite")), **HTML, elem_id="assess-score")
            with gr.Row():
                to_json = gr.Button(ui("export.json"), size="sm", elem_id="export-json")
                to_markdown = gr.Button(ui("export.markdown"), size="sm", elem_id="export-markdown")
            export_note = gr.HTML(**HTML, elem_id="export-note")
            exported = gr.File(
                label=ui("export.file"),
                interactive=False,
                visible=False,
                height=80,
                elem_id="export-file",
            )
            distribution = _plot(distribution_figure(), "chart.spread", "assess-distribution")
        with gr.Column(scale=4, min_width=280):
            radar = _plot(radar_figure({}), "chart.radar", "assess-radar")
            gr.Markdown(ui("note.aspects"), elem_classes="am-note")
    comments = gr.HTML(**HTML, elem_id="assess-comments")
    result = gr.JSON(visible=False)

    outputs = [score, radar, distribution, comments, result, progress, run, image]
    ticket = gr.State()
    stream = dict(
        fn=on_gpu(tab.run, assess_duration),  # ZeroGPU: a GPU for this event
        inputs=[image, length, ticket, lang],
        outputs=outputs,
        preprocess=False,  # the handler decodes the upload itself, to name what is wrong
        show_progress="full",  # over the progress line: gradio's queue position while waiting
        show_progress_on=[progress],
        **MODEL_JOB,
    )
    # A new picture, a click or Stop first takes a new ticket (outside the queue): the
    # session's previous run stops at its next token, keeping what it wrote; the queued job
    # then streams the new picture. `input` is the visitor's own change only, so the handler
    # clearing a bad file from the box starts nothing.
    start = dict(fn=tab.start, inputs=lang, outputs=[ticket, progress, run], **QUICK)
    image.input(**start).then(api_name="assess", **stream)
    if examples is not None:
        examples.load_input_event.then(**start).then(api_name=False, **stream)
    run.click(**start).then(api_name=False, **stream)
    stop.click(tab.stop, lang, [ticket, progress, run], **QUICK)
    for button, kind in ((to_json, "json"), (to_markdown, "md")):
        button.click(partial(tab.export, kind), [result, lang], [exported, export_note], **QUICK)
    lang.change(tab.redraw, [lang, result], outputs[:7], **QUICK)
    lang.change(lambda: "", None, export_note, **QUICK)


def compare_tab(tab: Compare, length: gr.Radio, lang: gr.Radio) -> None:
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
        with gr.Column(scale=3, min_width=280):
            radar = _plot(radar_figure({}), "chart.radar", "compare-radar")
    table = gr.HTML(**HTML, elem_id="compare-table")
    comments = gr.HTML(**HTML, elem_id="compare-comments")
    view = gr.State()
    job = run.click(
        on_gpu(tab.run, many_duration),
        [files, with_comments, length, lang],
        [radar, table, comments, view],
        api_name="compare",
        show_progress_on=[table],
        **MODEL_JOB,
    )
    stop.click(None, cancels=[job])
    lang.change(tab.redraw, [lang, view], [radar, table, comments], **QUICK)


def batch_tab(tab: Batch, length: gr.Radio, lang: gr.Radio) -> None:
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
            with gr.Row():
                csv_file = gr.DownloadButton(ui("batch.csv"), size="sm", elem_id="batch-csv")
                json_file = gr.DownloadButton(ui("batch.json"), size="sm", elem_id="batch-json")
            note = gr.HTML(**HTML, elem_id="batch-note")
    table = gr.HTML(**HTML, elem_id="batch-table")
    view = gr.State()
    job = run.click(
        on_gpu(tab.run, many_duration),
        [files, with_comments, length, lang],
        [table, csv_file, json_file, view],
        api_name="batch",
        show_progress_on=[table],
        **MODEL_JOB,
    )
    run.click(lambda: "", None, note, **QUICK)  # results are coming: no "nothing yet" note
    stop.click(None, cancels=[job])
    for button in (csv_file, json_file):
        button.click(tab.download, [view, lang], note, **QUICK)
    lang.change(tab.redraw, [lang, view], table, **QUICK)
    lang.change(lambda: "", None, note, **QUICK)
