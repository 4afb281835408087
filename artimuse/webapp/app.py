"""The ArtiMuse web app (gradio 6 Blocks): assess one picture with a live radar and streamed
expert comments, compare 2-4 pictures, rank a batch, export the results.

    python demo_gradio.py [--host 0.0.0.0] [--port 7860]      # or: artimuse ui

The model loads in a background thread once the app starts (never at import); until then, and
when no checkpoint is found, the page says so. Model jobs run one at a time, behind a bounded
queue whose position gradio shows.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import gradio as gr

from artimuse.config import (
    DEFAULT_BATCH_SIZE,
    WEBAPP_PORT,
    ServiceSettings,
    Settings,
    UploadLimits,
    environment_help,
    listen_address,
    model_options,
    resolve_device,
    settings_from_args,
)
from artimuse.config import auto_download as auto_download_from_env
from artimuse.errors import ArtiMuseError
from artimuse.loading.downloads import DownloadService
from artimuse.webapp import download
from artimuse.webapp.handlers import Handlers, empty_charts
from artimuse.webapp.state import ModelHolder, list_checkpoints
from artimuse.webapp.views import (
    ASPECT_SCORE_NOTE,
    CSS,
    placeholder_html,
    status_html,
)
from artimuse.webapp.zerogpu import assess_duration, many_duration, on_gpu

log = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
MODEL_JOB = dict(concurrency_id="model", concurrency_limit=1)  # every event that runs the model
QUICK = dict(queue=False, show_progress="hidden")  # bookkeeping that must not wait for the model
TITLE = "ArtiMuse · image aesthetics"
HTML = dict(js_on_load=None, apply_default_css=False)  # our panels bring their own CSS


def theme() -> gr.themes.Base:
    # System fonts only: a public server must not depend on a font CDN.
    fonts = ("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif")
    return gr.themes.Soft(
        primary_hue="orange",
        neutral_hue="stone",
        font=fonts,
        font_mono=("ui-monospace", "SFMono-Regular", "monospace"),
    )


def example_images() -> list[str]:
    return sorted(str(p) for p in EXAMPLES_DIR.glob("*.jpg"))


def build_app(
    holder: ModelHolder | None = None,
    settings: Settings | None = None,
    queue_size: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    downloads: DownloadService | None = None,
    auto_download: bool | None = None,
) -> gr.Blocks:
    """The whole page. Without a `holder`, one is made from `settings` (default: the
    environment) and starts loading its checkpoint in the background now, or downloading it
    first (`auto_download`, default ARTIMUSE_AUTO_DOWNLOAD; or a hub id as the checkpoint).
    `queue_size`: model jobs admitted at once (default ARTIMUSE_QUEUE_SIZE). `downloads`: the
    server's one download (default: a new one, from huggingface_hub's endpoint)."""
    settings = settings or (holder.settings if holder else Settings.from_env())
    queue_size = queue_size or ServiceSettings.from_env().queue_size
    downloads = downloads or DownloadService()
    if holder is None:
        holder = ModelHolder(settings)
        auto = auto_download_from_env() if auto_download is None else auto_download
        download.start_model(holder, downloads, auto)
    elif downloads.on_done is None:
        downloads.on_done = lambda folder: holder.start_loading(str(folder))
    handlers = Handlers(holder, batch_size=batch_size)
    fetch = download.DownloadHandlers(holder, downloads)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        app.artimuse = handlers  # tests and embedders reach the state through the app
        app.artimuse_download = fetch
        status, timer, checkpoint, tokens = _header(handlers, settings)
        download.download_panel(app, fetch, status, Path(settings.ckpt).name)
        with gr.Tabs():
            with gr.Tab("Assess", id="assess"):
                _assess_tab(handlers, tokens)
            with gr.Tab("Compare", id="compare"):
                _compare_tab(handlers, tokens)
            with gr.Tab("Batch", id="batch"):
                _batch_tab(handlers, tokens)
        app.load(handlers.model_status, None, [status, timer], **QUICK)
        timer.tick(handlers.model_status, None, [status, timer], **QUICK)
    app.queue(max_size=queue_size, default_concurrency_limit=1)
    return app


def _header(handlers: Handlers, settings: Settings):
    with gr.Row(elem_classes="am-header"):
        gr.HTML(
            "<div><h1>ArtiMuse</h1><p>An aesthetic score, seven aspects and an expert's "
            "comments for any picture.</p></div>",
            **HTML,
        )
        status = gr.HTML(status_html(handlers.holder.status), **HTML, elem_id="model-status")
    timer = gr.Timer(1.0)
    with gr.Accordion("Model", open=False):
        with gr.Row():
            checkpoint = gr.Dropdown(
                list_checkpoints(settings.ckpt),
                value=settings.ckpt,
                label="Checkpoint",
                info="directories under checkpoints/, or a path or hub repo id",
                allow_custom_value=True,
                scale=3,
            )
            load = gr.Button("Load checkpoint", scale=1)
            tokens = gr.Slider(
                1,
                max(8192, settings.max_new_tokens),
                value=settings.max_new_tokens,
                step=1,
                label="Max new tokens per comment",
                info="shorter is faster",
                scale=2,
            )
    checkpoint.focus(
        lambda: gr.Dropdown(choices=list_checkpoints(settings.ckpt)), None, checkpoint, **QUICK
    )
    load.click(handlers.switch_checkpoint, checkpoint, [status, timer], **MODEL_JOB)
    return status, timer, checkpoint, tokens


def _assess_tab(handlers: Handlers, tokens: gr.Slider) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            image = gr.Image(
                type="filepath",
                image_mode=None,
                sources=["upload", "clipboard"],
                label="Your picture",
                height=360,
                elem_id="assess-image",
            )
            with gr.Row():
                run = gr.Button("Assess", variant="primary", elem_id="assess-run")
                stop = gr.Button("Stop", variant="stop", elem_id="assess-stop")
            examples = example_images()
            if examples:
                gr.Examples([[p] for p in examples], inputs=[image], label="Or try one of these")
        with gr.Column(scale=4, min_width=300):
            score = gr.HTML(placeholder_html(), **HTML, elem_id="assess-score")
            empty_radar, empty_distribution = empty_charts()
            distribution = gr.Plot(
                empty_distribution,
                show_label=False,
                elem_classes="am-plot",
                elem_id="assess-distribution",
            )
        with gr.Column(scale=5, min_width=340):
            radar = gr.Plot(
                empty_radar, show_label=False, elem_classes="am-plot", elem_id="assess-radar"
            )
            gr.HTML(f'<div class="am-note"><b>Note:</b> {ASPECT_SCORE_NOTE}</div>', **HTML)
    comments = gr.HTML(**HTML, elem_id="assess-comments")
    result = gr.JSON(visible=False)
    with gr.Row():
        to_json = gr.Button("Export JSON", size="sm", elem_id="export-json")
        to_markdown = gr.Button("Export Markdown", size="sm", elem_id="export-markdown")
        exported = gr.File(
            label="Download", interactive=False, visible=False, height=80, elem_id="export-file"
        )

    outputs = [score, radar, distribution, comments, result]
    ticket = gr.State()
    stream = dict(
        fn=on_gpu(handlers.assess, assess_duration),  # ZeroGPU: a GPU for this event
        inputs=[image, tokens, ticket],
        outputs=outputs,
        preprocess=False,  # the handler decodes the upload itself, to name what is wrong
        show_progress="minimal",
        show_progress_on=[score],
        **MODEL_JOB,
    )
    # A new picture, a click or Stop first takes a new ticket (outside the queue): the
    # session's previous run stops at its next token, keeping what it wrote; the queued job
    # then streams the new picture.
    image.change(handlers.new_run, None, ticket, **QUICK).then(api_name="assess", **stream)
    run.click(handlers.new_run, None, ticket, **QUICK).then(api_name=False, **stream)
    stop.click(handlers.new_run, None, ticket, **QUICK)
    to_json.click(_safe(handlers.export_json), result, exported, **QUICK)
    to_markdown.click(_safe(handlers.export_markdown), result, exported, **QUICK)


def _compare_tab(handlers: Handlers, tokens: gr.Slider) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=280):
            files = gr.File(
                file_count="multiple", label="2 to 4 pictures", height=220, elem_id="compare-files"
            )
            with_comments = gr.Checkbox(
                False, label="Also write each picture's Comprehensive Evaluation (slower)"
            )
            with gr.Row():
                run = gr.Button("Compare", variant="primary")
                stop = gr.Button("Stop", variant="stop")
        with gr.Column(scale=3, min_width=340):
            radar = gr.Plot(
                empty_charts()[0], show_label=False, elem_classes="am-plot", elem_id="compare-radar"
            )
    table = gr.HTML(**HTML, elem_id="compare-table")
    comments = gr.HTML(**HTML, elem_id="compare-comments")
    job = run.click(
        on_gpu(handlers.compare, many_duration),
        [files, with_comments, tokens],
        [radar, table, comments],
        api_name="compare",
        show_progress_on=[table],
        **MODEL_JOB,
    )
    stop.click(None, cancels=[job])


def _batch_tab(handlers: Handlers, tokens: gr.Slider) -> None:
    with gr.Row(equal_height=False):
        files = gr.File(
            file_count="multiple", label="Pictures", height=200, scale=3, elem_id="batch-files"
        )
        with gr.Column(scale=2, min_width=280):
            with_comments = gr.Checkbox(
                False, label="Also write the eight comments per picture (much slower)"
            )
            with gr.Row():
                run = gr.Button("Score all", variant="primary")
                stop = gr.Button("Stop", variant="stop")
            with gr.Row():
                csv_file = gr.DownloadButton("Download CSV", size="sm")
                json_file = gr.DownloadButton("Download JSON", size="sm")
    table = gr.HTML(**HTML, elem_id="batch-table")
    job = run.click(
        on_gpu(handlers.batch, many_duration),
        [files, with_comments, tokens],
        [table, csv_file, json_file],
        api_name="batch",
        show_progress_on=[table],
        **MODEL_JOB,
    )
    stop.click(None, cancels=[job])


def _safe(export):
    """An export with nothing to export shows a message instead of failing."""

    def run(result):
        try:
            return export(result)
        except ArtiMuseError as error:
            raise gr.Error(str(error)) from error

    run.__name__ = export.__name__
    return run


def launch(app: gr.Blocks, host: str, port: int, **options) -> gr.Blocks:
    """Start the server with the app's look; `options` go to `Blocks.launch`."""
    app.launch(
        server_name=host,
        server_port=port,
        theme=theme(),
        css=CSS + download.CSS,
        max_file_size=UploadLimits.from_env().max_bytes,
        **options,
    )
    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The ArtiMuse web app.", epilog=environment_help(), parents=[model_options()]
    )
    host, port = listen_address(WEBAPP_PORT)
    parser.add_argument("--host", default=host, help=f"listen address (HOST, default {host})")
    parser.add_argument("--port", type=int, default=port, help=f"port (PORT, default {port})")
    parser.add_argument(
        "--queue-size", type=int, help="model jobs admitted at once (ARTIMUSE_QUEUE_SIZE)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """`python demo_gradio.py [--ckpt ...] [--device ...]` / `artimuse ui`: load the model in
    the background and serve."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        settings = settings_from_args(args)
        resolve_device(settings.device)
    except ArtiMuseError as error:
        raise SystemExit(f"artimuse ui: {error}") from None
    app = build_app(settings=settings, queue_size=args.queue_size)
    log.info("serving on http://%s:%d", args.host, args.port)
    launch(app, args.host, args.port)
