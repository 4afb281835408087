"""The operator's panel: sign-in, the checkpoint switch and the Download panel (one of the
released checkpoints, its progress streamed, Cancel, the model loaded when it ends, no restart).
Every handler asks `Access` first: a visitor never switches, starts or cancels anything, and in
public mode never sees the panel. `start_model` decides at start-up: load, or download first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from artimuse.loading import hub
from artimuse.loading.downloads import DownloadService
from artimuse.loading.hub_checks import loads
from artimuse.webapp.common import LANG, PRIVATE, QUICK, quoted
from artimuse.webapp.guards import Access
from artimuse.webapp.i18n import EN, language, text, tuned_on, ui
from artimuse.webapp.state import FAILED as MODEL_FAILED
from artimuse.webapp.state import LOADING, ModelHolder, checkpoint_name, list_checkpoints
from artimuse.webapp.views import md, status_markdown

log = logging.getLogger(__name__)
FOLLOW_S = 1.0  # how often a following page gets the download's progress


def choices(lang: str = EN) -> list[tuple[str, str]]:
    """(label, name) of the released checkpoints: names only, never where they would go."""
    return [(text("download.option", lang, name=k.name, size=f"{k.size_gb:g}",
                  tuned_on=tuned_on(k.name, k.tuned_on, lang)), k.name)
            for k in hub.KNOWN_CHECKPOINTS]  # fmt: skip


def wanted_checkpoint(ckpt: str) -> tuple[str, Path]:
    """(hub repo, folder) of the configured checkpoint: a hub id goes to checkpoints/<name>, a
    folder gets the released checkpoint of its name (default ArtiMuse)."""
    repo = hub.hub_repo(ckpt)
    if repo:
        return repo, hub.default_target(repo)
    return (hub.known_checkpoint(Path(ckpt).name) or hub.DEFAULT_CHECKPOINT).repo, Path(ckpt)


def start_model(holder: ModelHolder, service: DownloadService, auto: bool) -> None:
    """Load the checkpoint if it is here, else download it first when asked to (`auto`:
    ARTIMUSE_AUTO_DOWNLOAD, or a hub id configured), else let the panel offer it."""
    repo, folder = wanted_checkpoint(holder.settings.ckpt)
    service.on_done = lambda done: holder.start_loading(str(done))
    holder.start_loading(str(folder))  # a missing folder fails at once: the panel offers it
    if not loads(folder) and (auto or hub.hub_repo(holder.settings.ckpt)):
        service.start(repo, folder)


def progress_markdown(progress: hub.Progress | None, lang: str = EN) -> str:
    """An invitation, '42% · 6.7 GB of 16.0 GB · 85.0 MB/s · 3 min left', or what went wrong."""
    if progress is None:
        return text("download.intro", lang)
    if progress.state in (hub.FAILED, hub.CANCELLED):
        return f"**{text('download.' + progress.state, lang)}.** {md(progress.message)}"
    stage = progress.state if progress.state in ("checking", "verifying", "done") else "downloading"
    name, target = md(progress.repo.split("/")[-1]), md(progress.target)
    parts = [f"{progress.percent:.0f}%"]
    if progress.total_bytes:
        done, total = hub.human_bytes(progress.done_bytes), hub.human_bytes(progress.total_bytes)
        parts.append(text("download.of", lang, done=done, total=total))
    if progress.stalled:
        parts.append(text("download.stalled", lang))
    elif progress.speed > 0:
        parts.append(f"{hub.human_bytes(progress.speed)}/s")
    if progress.eta_s is not None and progress.state == "downloading":
        parts.append(text("download.left", lang, time=_duration(progress.eta_s, lang)))
    return f"{text(f'download.{stage}', lang, name=name, target=target)}\n\n{' · '.join(parts)}"


def _duration(seconds: float, lang: str = EN) -> str:
    if seconds < 90:
        return text("seconds", lang, n=f"{seconds:.0f}")
    if seconds < 5400:
        return text("minutes", lang, n=f"{seconds / 60:.0f}")
    return text("hours", lang, n=f"{seconds / 3600:.1f}")


@dataclass
class OperatorPanel:
    holder: ModelHolder
    service: DownloadService
    access: Access

    def page(self, lang: Any = EN, request: gr.Request = None) -> tuple:
        """On load: (`_view`..., the sign-in box, shown where asked for: `?operator=1`)."""
        operator = self.access.is_operator(request)
        params = getattr(request, "query_params", None) or {}
        asked = "operator" in params and self.access.sign_in_offered and not operator
        return self._view(operator, language(lang)) + (gr.Column(visible=asked),)

    def sign_in(self, password: Any, lang: Any = EN, request: gr.Request = None) -> tuple:
        """-> (`_view`..., the note saying how it went)."""
        lang, operator = language(lang), self.access.is_operator(request, password)
        if not operator:
            log.warning("operator sign-in refused from %s", quoted(getattr(request, "client", "")))
        note = text("operator.signed_in" if operator else "operator.wrong", lang)
        return self._view(operator, lang) + (note,)

    def _view(self, operator: bool, lang: str) -> tuple:
        """(panel, checkpoint choices, status, *`view`): names only, and only for operators."""
        names = list(list_checkpoints(self.holder.settings.ckpt)) if operator else []
        current = checkpoint_name(self.holder.source or self.holder.settings.ckpt)
        failed = self.holder.status.state == MODEL_FAILED
        hidden = (gr.Column(visible=False), "", gr.skip(), gr.skip())
        return (gr.Accordion(visible=operator, open=operator and failed),
                gr.Dropdown(choices=names, value=current if operator else None),
                status_markdown(self.holder.status, lang, operator),
                *(self.view(lang) if operator else hidden))  # fmt: skip

    def switch_checkpoint(self, ckpt: Any, password: Any = None, lang: Any = EN,
                          request: gr.Request = None) -> Iterator[str]:  # fmt: skip
        """A name from the list, or (typed) a folder or a hub id already downloaded; the
        working model stays if it fails."""
        lang, ckpt = language(lang), ckpt.strip() if isinstance(ckpt, str) else ""
        refused = not self.access.is_operator(request, password)
        if refused or not ckpt:
            yield text("operator.refused" if refused else "model.choose", lang)
            return
        ckpt = list_checkpoints(self.holder.settings.ckpt).get(ckpt, ckpt)
        log.info("operator switches the checkpoint to %s", quoted(ckpt))
        yield f"{self.model_status(lang)}\n\n{text('model.switching', lang)}"
        self.holder.load(ckpt)
        yield self.model_status(lang)

    async def start(self, name: Any, password: Any = None, lang: Any = EN,
                    request: gr.Request = None) -> AsyncIterator[tuple]:  # fmt: skip
        """Start downloading `name` (a released checkpoint), then follow it."""
        lang = language(lang)
        if not self.access.is_operator(request, password):
            yield self.refused(lang)
            return
        name = name if isinstance(name, str) else ""
        known = hub.known_checkpoint(name) or hub.DEFAULT_CHECKPOINT
        repo, folder = wanted_checkpoint(self.holder.settings.ckpt)
        folder = folder if repo == known.repo else hub.default_target(known.repo)
        started = self.service.start(known.repo, folder)
        async for shown in self.follow(lang, None if started else text("download.busy", lang)):
            yield shown

    def cancel(self, password: Any = None, lang: Any = EN, request: gr.Request = None) -> tuple:
        lang = language(lang)
        if not self.access.is_operator(request, password):
            return self.refused(lang)
        self.service.cancel()
        return self.view(lang) + (self.model_status(lang),)

    async def reopened(self, password: Any = None, lang: Any = EN,
                       request: gr.Request = None) -> AsyncIterator[tuple]:  # fmt: skip
        """`follow` for an operator who opens the panel (a reloaded page); nothing for others."""
        if not self.access.is_operator(request, password):
            yield (gr.skip(),) * 5
            return
        async for shown in self.follow(lang):
            yield shown

    async def follow(self, lang: Any = EN, note: str | None = None) -> AsyncIterator[tuple]:
        """The panel and the model's status every FOLLOW_S while a download runs and the model
        it brought loads, then once more (async: a page following it holds no thread)."""
        lang = language(lang)
        while self.service.running or self.holder.status.state == LOADING:
            yield self.view(lang, note) + (self.model_status(lang),)
            await asyncio.sleep(FOLLOW_S)
        yield self.view(lang, note) + (self.model_status(lang),)

    def model_status(self, lang: str) -> str:
        return status_markdown(self.holder.status, lang, operator=True)

    def refused(self, lang: str) -> tuple:
        return self.view(lang, text("operator.refused", lang)) + (gr.skip(),)

    def view(self, lang: str, note: str | None = None) -> tuple:
        """(panel visible, progress text, Download usable, Cancel visible)."""
        running, shown = self.service.running, progress_markdown(self.service.progress, lang)
        return (gr.Column(visible=running or self.holder.status.state == MODEL_FAILED),
                f"{note}\n\n{shown}" if note else shown, gr.Button(interactive=not running),
                gr.Button(visible=running))  # fmt: skip


def build(panel: OperatorPanel, lang: gr.Textbox, status: gr.Markdown) -> dict:
    """The sign-in box and the panel, built hidden (`page` shows them to whom they are for),
    and their events; -> what `page` updates."""
    with gr.Column(visible=False, elem_id="operator-sign-in") as sign_in_box:
        password = gr.Textbox(label=ui("operator.password"), type="password", elem_id="password")
        sign_in = gr.Button(ui("operator.sign_in"), elem_id="sign-in")
        sign_in_note = gr.Markdown()
    with gr.Accordion(ui("model.title"), open=False, visible=False, elem_id="model-panel") as box:
        with gr.Row():
            checkpoint = gr.Dropdown([], label=ui("model.checkpoint"), allow_custom_value=True,
                                     info=ui("model.checkpoint_info"), scale=3,
                                     elem_id="checkpoint")  # fmt: skip
            load = gr.Button(ui("model.load"), scale=1, elem_id="checkpoint-load")
        switch_note = gr.Markdown(elem_id="switch-note")
        with gr.Column(visible=False, elem_id="download-panel") as downloads:
            shown = gr.Markdown(elem_id="download-progress")
            with gr.Row():
                choice = gr.Dropdown(choices(), value=hub.DEFAULT_CHECKPOINT.name, scale=3,
                                     label=ui("download.choice"), info=ui("download.choice_info"),
                                     elem_id="download-choice")  # fmt: skip
                start = gr.Button(ui("download.start"), variant="primary", scale=2,
                                  elem_id="download-start")  # fmt: skip
                cancel = gr.Button(ui("download.cancel"), variant="stop", visible=False, scale=1,
                                   elem_id="download-cancel")  # fmt: skip
    view = [downloads, shown, start, cancel]
    operator, following = [box, checkpoint, status, *view], [*view, status]
    load.click(panel.switch_checkpoint, [checkpoint, password, lang], switch_note, js=LANG,
               concurrency_id="switch", **PRIVATE)  # fmt: skip
    started = start.click(panel.start, [choice, password, lang], following, js=LANG,
                          concurrency_limit=None, **PRIVATE)  # fmt: skip
    cancel.click(panel.cancel, [password, lang], following, js=LANG, **QUICK)
    box.expand(panel.reopened, [password, lang], following, concurrency_limit=None,
               cancels=[started], **PRIVATE)  # fmt: skip
    sign_in.click(panel.sign_in, [password, lang], [*operator, sign_in_note], js=LANG,
                  **QUICK)  # fmt: skip
    return [*operator, sign_in_box]
