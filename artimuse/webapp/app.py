"""The ArtiMuse web app (gradio 6 Blocks): assess one picture with a live radar and streamed
comments, compare 2-4 pictures, rank a batch, export the results. `artimuse ui` runs `main`;
the model loads in the background once the app is built, never at import.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from artimuse import __version__, config
from artimuse.devices import resolve_device
from artimuse.errors import ArtiMuseError
from artimuse.loading.downloads import DownloadService
from artimuse.startup import check_listen, exit_with
from artimuse.webapp import assess, batch, compare, endpoints, operator_panel
from artimuse.webapp.common import PRIVATE, QUICK, Shared
from artimuse.webapp.guards import Access, SafeStream, UploadQuota
from artimuse.webapp.i18n import EN, gradio_i18n, language, ui
from artimuse.webapp.jobs import Admission
from artimuse.webapp.state import LOADING, ModelHolder
from artimuse.webapp.style import CSS, theme
from artimuse.webapp.views import status_markdown

log = logging.getLogger(__name__)

TITLE = "ArtiMuse · image aesthetics"
DELETE_CACHE = (600, 3600)  # every 10 min, gradio deletes uploads and outputs older than 1 h
WATCH_S = 1.0  # how often a page hears about a model that is loading


@dataclass
class WebApp:
    """The page's handlers: the status line, the operator's panel, the tabs and the API."""

    shared: Shared
    operator: operator_panel.OperatorPanel

    def __post_init__(self):
        self.holder, self.api = self.shared.holder, endpoints.Endpoints(self.shared)
        tabs = (assess.Assess, compare.Compare, batch.Batch)
        self.assess, self.compare, self.batch = (tab(self.shared) for tab in tabs)

    def status(self, lang: Any = EN, request: gr.Request = None) -> str:
        operator = self.shared.access.is_operator(request)
        return status_markdown(self.holder.status, language(lang), operator)

    async def watch_status(self, lang: Any = EN, request: gr.Request = None) -> AsyncIterator:
        """The status line, again every WATCH_S while the model loads (async: no thread held)."""
        yield self.status(lang, request)
        while self.holder.status.state == LOADING:
            await asyncio.sleep(WATCH_S)
            yield self.status(lang, request)


def build_app(holder: ModelHolder | None = None, settings: config.Settings | None = None,
              queue_size: int | None = None, batch_size: int = config.DEFAULT_BATCH_SIZE,
              downloads: DownloadService | None = None, auto_download: bool | None = None,
              web: config.WebSettings | None = None) -> gr.Blocks:  # fmt: skip
    """The whole page. Without a `holder`, one is made from `settings` and starts loading now
    (or downloading first: `auto_download`, default ARTIMUSE_AUTO_DOWNLOAD). `queue_size`: model
    jobs admitted at once; `web`: public mode, password, time limit. Defaults: the environment."""
    total = queue_size or config.read("ARTIMUSE_QUEUE_SIZE")
    web, downloads = web or config.WebSettings.from_env(), downloads or DownloadService()
    if holder is None:
        holder = ModelHolder(settings or config.Settings.from_env())
        auto = config.auto_download() if auto_download is None else auto_download
        operator_panel.start_model(holder, downloads, auto)
    elif downloads.on_done is None:
        downloads.on_done = lambda folder: holder.start_loading(str(folder))
    admission = Admission(total, web.job_time_limit, per_client=config.read("ARTIMUSE_CLIENT_JOBS"))
    shared = Shared(holder, Access(web), admission, config.UploadLimits.from_env(), batch_size)
    state = WebApp(shared, operator_panel.OperatorPanel(holder, downloads, shared.access))
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as app:
        app.artimuse = state  # tests and embedders reach the state through the app
        _page(app, state, total)
    app.queue(default_concurrency_limit=1)
    return app


def _page(app: gr.Blocks, web: WebApp, total: int) -> None:
    lang = gr.Textbox(EN, visible=False)  # the page's language, read by `common.LANG`
    with gr.Row(elem_classes="am-header", equal_height=False):
        gr.Markdown(ui("app.header"), elem_classes="am-title")
        status = gr.Markdown(elem_id="model-status")
    length = gr.Radio([(str(n), n) for n in web.shared.comment_lengths()], label=ui("length.label"),
                      value=web.shared.max_new_tokens, info=ui("length.info"),
                      elem_id="comment-length")  # fmt: skip
    operator = operator_panel.build(web.operator, lang, status)
    with gr.Tabs():
        for tab in ("assess", "compare", "batch"):
            with gr.Tab(ui(f"tab.{tab}"), id=tab):
                getattr(web, tab).build(length, lang, total)
    browser_lang = "() => [document.documentElement.lang || navigator.language]"
    load = app.load(language, lang, lang, js=browser_lang, **QUICK)
    load.then(web.operator.page, lang, operator, **QUICK)
    load.then(web.watch_status, lang, status, concurrency_limit=None, **PRIVATE,
              show_progress="hidden")  # fmt: skip
    app.unload(web.shared.forget)
    model = dict(concurrency_id="model", concurrency_limit=total)  # admission decides who waits
    gr.api(web.api.assess, api_name="assess", **model)
    gr.api(web.api.score, api_name="score", **model)


def launch(app: gr.Blocks, host: str, port: int, **options) -> gr.Blocks:
    """Start the server with the app's look and limits; `options` go to `Blocks.launch`."""
    limit = config.UploadLimits.from_env().max_bytes
    quota = Middleware(UploadQuota, max_bytes=limit)
    app.launch(server_name=host, server_port=port, theme=theme(), css=CSS, i18n=gradio_i18n(),
               max_file_size=limit, app_kwargs={"middleware": [quota]}, **options)  # fmt: skip
    return app


def parse_args(argv: list[str] | None = None, prog: str = "artimuse ui") -> argparse.Namespace:
    """The web app's command line (`listen_options` reads HOST and PORT: check them first)."""
    about = "The ArtiMuse web app: assess, compare and rank pictures in the browser."
    parents = [config.model_options(), config.listen_options(config.WEBAPP_PORT)]
    epilog = config.environment_help(config.WEBAPP_VARIABLES)
    parser = argparse.ArgumentParser(prog=prog, description=about, epilog=epilog, parents=parents)
    queue = f"model jobs admitted at once (ARTIMUSE_QUEUE_SIZE, else {config.DEFAULT_QUEUE_SIZE})"
    parser.add_argument("--queue-size", type=int, metavar="N", help=queue)
    parser.add_argument("--public", action="store_true", default=None, help="public demo: no "
                        "checkpoint switch or downloads but for a signed-in operator "
                        "(ARTIMUSE_PUBLIC; on when SPACE_ID is set)")  # fmt: skip
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, prog: str = "artimuse ui") -> None:
    """`artimuse ui`: the variables and the address checked first (one line each, exit 2, before
    anything loads), then the page served while the model loads."""
    from artimuse.rest.connections import limit_logging

    try:
        config.check_variables(config.WEBAPP_VARIABLES)  # before the parser reads HOST, PORT
        args = parse_args(argv, prog)
        check_listen(args.host, args.port)
        settings = config.settings_from_args(args)
        resolve_device(settings.device)
        web = config.WebSettings.from_env(public=args.public)
    except ArtiMuseError as error:
        raise SystemExit(exit_with(prog, error)) from None
    sys.stderr = SafeStream(sys.stderr)  # gradio's tracebacks of hostile values: bounded
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    limit_logging()  # a flood of bad requests must not flood the log
    app = build_app(settings=settings, queue_size=args.queue_size, web=web)
    mode = "public" if web.public else "local"
    log.info("serving on http://%s:%d (%s mode)", args.host, args.port, mode)
    launch(app, args.host, args.port)
