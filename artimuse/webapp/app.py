"""The ArtiMuse web app (gradio 6 Blocks): assess one picture with a live radar and streamed
expert comments, compare 2-4 pictures, rank a batch, export the results.

    python demo_gradio.py [--host 0.0.0.0] [--port 7860] [--public]      # or: artimuse ui

The model loads in a background thread once the app starts (never at import). Who may switch
the checkpoint or download one is `access.py`'s business; how many model jobs a visitor may
have is `jobs.py`'s; the named API (`/assess`, `/score`) is `endpoints.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from artimuse import __version__
from artimuse.config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_QUEUE_SIZE,
    WEBAPP_PORT,
    WEBAPP_VARIABLES,
    Settings,
    UploadLimits,
    WebSettings,
    check_variables,
    environment_help,
    listen_options,
    model_options,
    read,
    settings_from_args,
)
from artimuse.config import auto_download as auto_download_from_env
from artimuse.devices import resolve_device
from artimuse.errors import ArtiMuseError
from artimuse.loading.downloads import DownloadService
from artimuse.startup import check_listen, exit_with
from artimuse.webapp import download, layout
from artimuse.webapp.access import Access
from artimuse.webapp.assess import Assess
from artimuse.webapp.batch import Batch
from artimuse.webapp.common import Shared, quoted
from artimuse.webapp.compare import Compare
from artimuse.webapp.endpoints import Endpoints
from artimuse.webapp.guards import SafeStream, UploadQuota
from artimuse.webapp.i18n import EN, gradio_i18n, language, text, ui
from artimuse.webapp.jobs import Admission
from artimuse.webapp.state import FAILED, LOADING, ModelHolder, checkpoint_name, list_checkpoints
from artimuse.webapp.style import CSS
from artimuse.webapp.views import status_markdown

log = logging.getLogger(__name__)

TITLE = "ArtiMuse · image aesthetics"
DELETE_CACHE = (600, 3600)  # every 10 min, gradio deletes uploads and outputs older than 1 h
WATCH_S = 1.0  # how often a page hears about a model that is loading


@dataclass
class WebApp:
    """The handlers of the page's header and operator panel, and one object per tab."""

    shared: Shared
    downloads: download.DownloadPanel

    def __post_init__(self):
        self.assess, self.compare = Assess(self.shared), Compare(self.shared)
        self.batch, self.api = Batch(self.shared), Endpoints(self.shared)

    @property
    def holder(self) -> ModelHolder:
        return self.shared.holder

    @property
    def access(self) -> Access:
        return self.shared.access

    def status(self, lang: Any = EN, request: gr.Request = None, password: Any = None) -> str:
        operator = self.access.is_operator(request, password)
        return status_markdown(self.holder.status, language(lang), operator)

    async def watch_status(self, lang: Any = EN, request: gr.Request = None) -> AsyncIterator:
        """The status line while the model loads (an async generator: no thread held)."""
        yield self.status(lang, request)
        while self.holder.status.state == LOADING:
            await asyncio.sleep(WATCH_S)
            yield self.status(lang, request)

    def page(self, lang: Any = EN, request: gr.Request = None) -> tuple:
        """On page load: the operator's controls for an operator, the sign-in box where asked
        for (`?operator=1`), nothing of either for a visitor."""
        operator = self.access.is_operator(request)
        params = getattr(request, "query_params", None) or {}
        asked = "operator" in params and self.access.sign_in_offered and not operator
        return self._operator_view(operator, language(lang)) + (gr.Column(visible=asked),)

    def sign_in(self, password: Any, lang: Any = EN, request: gr.Request = None) -> tuple:
        lang = language(lang)
        if not self.access.is_operator(request, password):
            log.warning("operator sign-in refused from %s", quoted(getattr(request, "client", "")))
            return self._operator_view(False, lang) + (text("operator.wrong", lang),)
        return self._operator_view(True, lang) + (text("operator.signed_in", lang),)

    def _operator_view(self, operator: bool, lang: str) -> tuple:
        """(operator panel, checkpoint choices, status): names only, and only for operators."""
        names = list(list_checkpoints(self.holder.settings.ckpt)) if operator else []
        value = (
            checkpoint_name(self.holder.source or self.holder.settings.ckpt) if operator else None
        )
        return (
            gr.Accordion(visible=operator, open=operator and self.holder.status.state == FAILED),
            gr.Dropdown(choices=names, value=value),
            status_markdown(self.holder.status, lang, operator),
        )

    def switch_checkpoint(
        self, ckpt: Any, password: Any = None, lang: Any = EN, request: gr.Request = None
    ) -> Iterator[str]:
        """An operator's switch: a name from the list, or (operator-typed) a folder or a hub id
        already downloaded; the working model stays if it fails."""
        lang = language(lang)
        if not self.access.is_operator(request, password):
            yield text("operator.refused", lang)
            return
        ckpt = ckpt.strip() if isinstance(ckpt, str) else ""
        if not ckpt:
            yield text("model.choose", lang)
            return
        ckpt = list_checkpoints(self.holder.settings.ckpt).get(ckpt, ckpt)
        log.info("operator switches the checkpoint to %s", quoted(ckpt))
        yield (
            status_markdown(self.holder.status, lang, True) + "\n\n" + text("model.switching", lang)
        )
        self.holder.load(ckpt)
        yield status_markdown(self.holder.status, lang, True)


def build_app(
    holder: ModelHolder | None = None,
    settings: Settings | None = None,
    queue_size: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    downloads: DownloadService | None = None,
    auto_download: bool | None = None,
    web: WebSettings | None = None,
) -> gr.Blocks:
    """The whole page. Without a `holder`, one is made from `settings` (default: the
    environment) and starts loading its checkpoint in the background now, or downloading it
    first (`auto_download`, default ARTIMUSE_AUTO_DOWNLOAD; or a hub id as the checkpoint).
    `queue_size`: model jobs admitted at once (default ARTIMUSE_QUEUE_SIZE). `web`: public
    mode, operator password, time limit (default: the environment)."""
    settings = settings or (holder.settings if holder else Settings.from_env())
    total = queue_size or read("ARTIMUSE_QUEUE_SIZE")
    web = web or WebSettings.from_env()
    downloads = downloads or DownloadService()
    if holder is None:
        holder = ModelHolder(settings)
        auto = auto_download_from_env() if auto_download is None else auto_download
        download.start_model(holder, downloads, auto)
    elif downloads.on_done is None:
        downloads.on_done = lambda folder: holder.start_loading(str(folder))
    access = Access(web)
    shared = Shared(
        holder,
        access=access,
        admission=Admission(total, web.job_time_limit, per_client=read("ARTIMUSE_CLIENT_JOBS")),
        limits=UploadLimits.from_env(),
        batch_size=batch_size,
    )
    app_state = WebApp(shared, download.DownloadPanel(holder, downloads, access))
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as app:
        app.artimuse = app_state  # tests and embedders reach the state through the app
        _page(app, app_state, total)
    app.queue(default_concurrency_limit=1)
    return app


def _page(app: gr.Blocks, web: WebApp, total: int) -> None:
    lang = gr.Textbox(EN, visible=False)  # the page's language, read by `layout.LANG`
    with gr.Row(elem_classes="am-header", equal_height=False):
        gr.Markdown(ui("app.header"), elem_classes="am-title")
        status = gr.Markdown(elem_id="model-status")
    lengths = [(str(n), n) for n in web.shared.comment_lengths()]
    length = gr.Radio(
        lengths, value=web.shared.max_new_tokens, label=ui("length.label"),
        info=ui("length.info"), elem_id="comment-length",
    )  # fmt: skip
    with gr.Column(visible=False, elem_id="operator-sign-in") as sign_in_box:
        password = gr.Textbox(label=ui("operator.password"), type="password", elem_id="password")
        sign_in = gr.Button(ui("operator.sign_in"), elem_id="sign-in")
        sign_in_note = gr.Markdown()
    panel, checkpoint, download_outputs = _operator_panel(web, password, lang, status)
    with gr.Tabs():
        with gr.Tab(ui("tab.assess"), id="assess"):
            layout.assess_tab(web.assess, length, lang, total)
        with gr.Tab(ui("tab.compare"), id="compare"):
            layout.compare_tab(web.compare, length, lang, total)
        with gr.Tab(ui("tab.batch"), id="batch"):
            layout.batch_tab(web.batch, length, lang, total)
    operator_outputs = [panel, checkpoint, status]
    browser_lang = "() => [document.documentElement.lang || navigator.language]"
    load = app.load(language, lang, lang, js=browser_lang, **layout.QUICK)
    load.then(web.page, lang, [*operator_outputs, sign_in_box], **layout.QUICK)
    load.then(web.downloads.view_for, [password, lang], download_outputs, **layout.QUICK)
    load.then(web.watch_status, lang, status, concurrency_limit=None, **layout.PRIVATE,
              show_progress="hidden")  # fmt: skip
    signed = sign_in.click(web.sign_in, [password, lang], [*operator_outputs, sign_in_note],
                           js=layout.LANG, **layout.QUICK)  # fmt: skip
    signed.then(web.downloads.view_for, [password, lang], download_outputs, **layout.QUICK)
    app.unload(web.shared.forget)
    model = dict(concurrency_id="model", concurrency_limit=total)  # admission decides who waits
    gr.api(web.api.assess, api_name="assess", **model)
    gr.api(web.api.score, api_name="score", **model)


def _operator_panel(web: WebApp, password: gr.Textbox, lang: gr.Textbox, status) -> tuple:
    """The checkpoint switcher and the Download panel: built hidden, shown to operators. A
    download's events also follow the model it brought until it is ready (`status`)."""
    panel_handlers = web.downloads
    with gr.Accordion(ui("model.title"), open=False, visible=False, elem_id="model-panel") as panel:
        with gr.Row():
            checkpoint = gr.Dropdown(
                [], label=ui("model.checkpoint"), info=ui("model.checkpoint_info"),
                allow_custom_value=True, scale=3, elem_id="checkpoint",
            )  # fmt: skip
            load = gr.Button(ui("model.load"), scale=1, elem_id="checkpoint-load")
        switch_note = gr.Markdown(elem_id="switch-note")
        with gr.Column(visible=False, elem_id="download-panel") as box:
            shown = gr.Markdown(elem_id="download-progress")
            with gr.Row():
                choice = gr.Dropdown(
                    download.choices(), value=download.DEFAULT_CHECKPOINT.name,
                    label=ui("download.choice"), info=ui("download.choice_info"), scale=3,
                    elem_id="download-choice",
                )  # fmt: skip
                start = gr.Button(ui("download.start"), variant="primary", scale=2,
                                  elem_id="download-start")  # fmt: skip
                cancel = gr.Button(ui("download.cancel"), variant="stop", visible=False, scale=1,
                                   elem_id="download-cancel")  # fmt: skip
    outputs = [box, shown, start, cancel]
    following = [*outputs, status]
    load.click(web.switch_checkpoint, [checkpoint, password, lang], switch_note, js=layout.LANG,
               concurrency_id="switch", **layout.PRIVATE)  # fmt: skip
    started = start.click(panel_handlers.start, [choice, password, lang], following,
                          js=layout.LANG, concurrency_limit=None, **layout.PRIVATE)  # fmt: skip
    cancel.click(panel_handlers.cancel, [password, lang], following, js=layout.LANG,
                 **layout.QUICK)  # fmt: skip
    panel.expand(panel_handlers.reopened, [password, lang], following, concurrency_limit=None,
                 cancels=[started], **layout.PRIVATE)  # fmt: skip
    return panel, checkpoint, outputs


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
    )  # fmt: skip  (the last 3: Chinese)
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
        block_label_text_color="*primary_800",  # on Soft's light orange label: 4.5:1
        block_title_text_color="*primary_800",
        block_label_text_color_dark="*primary_100",
        block_title_text_color_dark="*primary_100",
        block_label_background_fill_dark="*primary_800",
        button_secondary_background_fill_dark="*primary_800",
        button_secondary_background_fill_hover_dark="*primary_700",
    )


def launch(app: gr.Blocks, host: str, port: int, **options) -> gr.Blocks:
    """Start the server with the app's look and limits; `options` go to `Blocks.launch`."""
    limits = UploadLimits.from_env()
    quota = Middleware(UploadQuota, max_bytes=limits.max_bytes)
    app.launch(
        server_name=host,
        server_port=port,
        theme=theme(),
        css=CSS,
        i18n=gradio_i18n(),
        max_file_size=limits.max_bytes,
        app_kwargs={"middleware": [quota]},
        **options,
    )
    return app


def parse_args(argv: list[str] | None = None, prog: str = "artimuse ui") -> argparse.Namespace:
    """The web app's command line (`listen_options` reads HOST and PORT: check them first)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="The ArtiMuse web app: assess, compare and rank pictures in the browser.",
        epilog=environment_help(WEBAPP_VARIABLES),
        parents=[model_options(), listen_options(WEBAPP_PORT)],
    )
    parser.add_argument(
        "--queue-size", type=int, metavar="N",
        help=f"model jobs admitted at once (ARTIMUSE_QUEUE_SIZE, else {DEFAULT_QUEUE_SIZE})",
    )  # fmt: skip
    parser.add_argument(
        "--public", action="store_true", default=None,
        help="public demo: no checkpoint switch or downloads but for a signed-in operator "
        "(ARTIMUSE_PUBLIC; on when SPACE_ID is set)",
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, prog: str = "artimuse ui") -> None:
    """`artimuse ui` / `python demo_gradio.py`: the variables and the listen address checked
    first (one line each, exit 2, before anything loads), then the model loads in the
    background and the page is served."""
    from artimuse.rest.connections import limit_logging

    try:
        check_variables(WEBAPP_VARIABLES)  # all of them, before the parser reads HOST and PORT
        args = parse_args(argv, prog)
        check_listen(args.host, args.port)
        settings = settings_from_args(args)
        resolve_device(settings.device)
        web = WebSettings.from_env(public=args.public)
    except ArtiMuseError as error:
        raise SystemExit(exit_with(prog, error)) from None
    sys.stderr = SafeStream(sys.stderr)  # gradio's tracebacks of hostile values: bounded
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    limit_logging()  # a flood of bad requests must not flood the log
    app = build_app(settings=settings, queue_size=args.queue_size, web=web)
    mode = "public" if web.public else "local"
    log.info("serving on http://%s:%d (%s mode)", args.host, args.port, mode)
    launch(app, args.host, args.port)
