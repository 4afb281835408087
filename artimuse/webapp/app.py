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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    settings_from_args,
)
from artimuse.config import auto_download as auto_download_from_env
from artimuse.devices import resolve_device
from artimuse.errors import ArtiMuseError
from artimuse.loading.downloads import DownloadService
from artimuse.webapp import download
from artimuse.webapp.assess import Assess
from artimuse.webapp.batch import Batch
from artimuse.webapp.common import HTML, MODEL_JOB, QUICK, Shared
from artimuse.webapp.compare import Compare
from artimuse.webapp.i18n import EN, LANGUAGES, gradio_i18n, language, ui
from artimuse.webapp.layout import assess_tab, batch_tab, compare_tab
from artimuse.webapp.messages import Message
from artimuse.webapp.state import LOADING, ModelHolder, ModelStatus, list_checkpoints
from artimuse.webapp.style import (
    CSS,
    REMEMBER_LANGUAGE,
    SCRIPT,
    START_LANGUAGE,
    SWITCH_LANGUAGE,
)
from artimuse.webapp.views import notice_html, status_html

log = logging.getLogger(__name__)

TITLE = "ArtiMuse · image aesthetics"
COMMENT_LENGTHS = (("length.short", 200), ("length.medium", 600))  # tokens; "full": the cap


@dataclass
class WebApp:
    """The page's handlers: the shared model and cache, one object per tab, the model panel."""

    shared: Shared
    assess: Assess = field(init=False)
    compare: Compare = field(init=False)
    batch: Batch = field(init=False)

    def __post_init__(self):
        self.assess, self.compare, self.batch = (
            Assess(self.shared),
            Compare(self.shared),
            Batch(self.shared),
        )

    @property
    def holder(self) -> ModelHolder:
        return self.shared.holder

    def model_status(self, lang: str | None = EN) -> tuple[str, Any]:
        """The status pill, and the poll timer switched off once loading has ended."""
        status = self.holder.status
        return status_html(status, language(lang)), gr.Timer(active=status.state == LOADING)

    def switch_checkpoint(self, ckpt: str | None, lang: str | None = EN) -> Iterator[tuple]:
        """Check `ckpt`, then swap it in for the working model (which stays if it fails)."""
        ckpt, lang = (ckpt or "").strip(), language(lang)
        if not ckpt:
            yield notice_html(Message("model.choose"), lang), gr.skip()
            return
        yield status_html(ModelStatus(LOADING, ckpt), lang), gr.skip()
        self.holder.load(ckpt)
        yield self.model_status(lang)


def comment_lengths(cap: int) -> list[tuple[Any, int]]:
    """The comment-length choices (label, max new tokens), each shorter than the cap."""
    shorter = [(ui(key), tokens) for key, tokens in COMMENT_LENGTHS if tokens < cap]
    return [*shorter, (ui("length.full"), cap)]


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
    web = WebApp(Shared(holder, batch_size=batch_size))
    fetch = download.DownloadHandlers(holder, downloads)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        app.artimuse = web  # tests and embedders reach the state through the app
        app.artimuse_download = fetch
        status, timer, lang = _header(web)
        length = _model_panel(web, settings, status, timer, lang)
        download.download_panel(app, fetch, status, Path(settings.ckpt).name, lang)
        with gr.Tabs():
            with gr.Tab(ui("tab.assess"), id="assess"):
                assess_tab(web.assess, length, lang)
            with gr.Tab(ui("tab.compare"), id="compare"):
                compare_tab(web.compare, length, lang)
            with gr.Tab(ui("tab.batch"), id="batch"):
                batch_tab(web.batch, length, lang)
        # The page starts in the remembered or the browser's language (see style.SCRIPT).
        app.load(web.shared.set_language, lang, lang, js=START_LANGUAGE, **QUICK)
        lang.input(None, lang, None, js=REMEMBER_LANGUAGE)
        lang.change(None, lang, None, js=SWITCH_LANGUAGE)
        lang.change(web.model_status, lang, [status, timer], **QUICK)
        timer.tick(web.model_status, lang, [status, timer], **QUICK)
    app.queue(max_size=queue_size, default_concurrency_limit=1)
    return app


def _header(web: WebApp) -> tuple[gr.HTML, gr.Timer, gr.Radio]:
    with gr.Row(elem_classes="am-header", equal_height=False):
        with gr.Column(scale=3, min_width=300):
            gr.Markdown(ui("app.header"), elem_classes="am-title")
        with gr.Column(scale=1, min_width=300, elem_classes="am-header-side"):
            lang = gr.Radio(
                [(name, code) for code, name in LANGUAGES.items()],
                value=EN,
                label=ui("app.language"),
                container=False,
                elem_id="language",
                elem_classes="am-language",
            )
            status = gr.HTML(status_html(web.holder.status), **HTML, elem_id="model-status")
    return status, gr.Timer(1.0), lang


def _model_panel(web: WebApp, settings: Settings, status, timer, lang) -> gr.Radio:
    with gr.Accordion(ui("model.title"), open=False, elem_id="model-panel"):
        with gr.Row():
            checkpoint = gr.Dropdown(
                list_checkpoints(settings.ckpt),
                value=settings.ckpt,
                label=ui("model.checkpoint"),
                info=ui("model.checkpoint_info"),
                allow_custom_value=True,
                scale=3,
                elem_id="checkpoint",
            )
            load = gr.Button(ui("model.load"), scale=1, elem_id="checkpoint-load")
            length = gr.Radio(
                comment_lengths(settings.max_new_tokens),
                value=settings.max_new_tokens,
                label=ui("length.label"),
                info=ui("length.info"),
                scale=2,
                elem_id="comment-length",
            )
    checkpoint.focus(
        lambda: gr.Dropdown(choices=list_checkpoints(settings.ckpt)), None, checkpoint, **QUICK
    )
    load.click(web.switch_checkpoint, [checkpoint, lang], [status, timer], **MODEL_JOB)
    return length


def theme() -> gr.themes.Base:
    # System fonts only: a public server must not depend on a font CDN.
    fonts = (
        "ui-sans-serif",
        "system-ui",
        "-apple-system",
        "Segoe UI",
        "PingFang SC",
        "Microsoft YaHei",
        "Noto Sans CJK SC",
        "sans-serif",
    )  # the last three: Chinese
    soft = gr.themes.Soft(
        primary_hue="orange",
        neutral_hue="stone",
        font=fonts,
        font_mono=("ui-monospace", "SFMono-Regular", "monospace"),
    )
    # Soft's subdued grey and orange-500 fall under 4.5:1 contrast: one step darker each.
    return soft.set(
        body_text_color_subdued="*neutral_600",
        body_text_color_subdued_dark="*neutral_400",
        color_accent="*primary_700",
        color_accent_soft="*primary_100",
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover_dark="*primary_800",
        checkbox_label_background_fill_selected="*primary_700",
        checkbox_label_background_fill_selected_dark="*primary_700",
    )


def launch(app: gr.Blocks, host: str, port: int, **options) -> gr.Blocks:
    """Start the server with the app's look; `options` go to `Blocks.launch`."""
    app.launch(
        server_name=host,
        server_port=port,
        theme=theme(),
        css=CSS + download.CSS,
        js=SCRIPT,
        i18n=gradio_i18n(),
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
