"""The operator's Download panel: one of the five released checkpoints, live progress (percent,
bytes, speed, ETA) streamed by a generator, Cancel, and the model loaded when the download
ends, with no restart. Every handler checks `Access` first: visitors never start or cancel a
download, and in public mode never see the panel.

`start_model(holder, service, auto)` decides at start-up: load what is there, or download first
(`ARTIMUSE_AUTO_DOWNLOAD=1`, or a hub repo id as the checkpoint: the operator's choice).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from artimuse.loading.downloads import DownloadService
from artimuse.loading.hub import (
    CANCELLED,
    DEFAULT_CHECKPOINT,
    FAILED,
    KNOWN_CHECKPOINTS,
    Progress,
    default_target,
    hub_repo,
    human_bytes,
    known_checkpoint,
)
from artimuse.loading.hub_checks import loads
from artimuse.webapp.access import Access
from artimuse.webapp.i18n import EN, language, text, tuned_on
from artimuse.webapp.state import FAILED as MODEL_FAILED
from artimuse.webapp.state import LOADING, ModelHolder
from artimuse.webapp.views import md, status_markdown

FOLLOW_S = 1.0  # how often a following page gets the download's progress


def choices(lang: str = EN) -> list[tuple[str, str]]:
    """(label, name) of the released checkpoints: names only, never where they would go."""
    return [
        (text("download.option", lang, name=k.name, size=f"{k.size_gb:g}",
              tuned_on=tuned_on(k.name, k.tuned_on, lang)), k.name)
        for k in KNOWN_CHECKPOINTS
    ]  # fmt: skip


def wanted_checkpoint(ckpt: str) -> tuple[str, Path]:
    """(hub repo, folder) for the configured checkpoint: a hub id goes to checkpoints/<name>; a
    missing folder gets the known checkpoint of its name (default ArtiMuse)."""
    repo = hub_repo(ckpt)
    if repo:
        return repo, default_target(repo)
    known = known_checkpoint(Path(ckpt).name) or DEFAULT_CHECKPOINT
    return known.repo, Path(ckpt)


def start_model(holder: ModelHolder, service: DownloadService, auto: bool) -> None:
    """At start-up: load the checkpoint if it is here; else download it first when asked to
    (auto, or a hub id was configured), and otherwise let the operator's panel offer it."""
    ckpt = holder.settings.ckpt
    repo, folder = wanted_checkpoint(ckpt)
    service.on_done = lambda done: holder.start_loading(str(done))
    holder.start_loading(str(folder))  # a missing folder fails at once: the panel offers it
    if not loads(folder) and (auto or hub_repo(ckpt)):
        service.start(repo, folder)


def progress_markdown(progress: Progress | None, lang: str = EN) -> str:
    """The panel's text: an invitation, the numbers, or what went wrong."""
    if progress is None:
        return text("download.intro", lang)
    name = md(progress.repo.split("/")[-1])
    if progress.state in (FAILED, CANCELLED):
        return f"**{text('download.' + progress.state, lang)}.** {md(progress.message)}"
    stage = progress.state if progress.state in ("checking", "verifying", "done") else "downloading"
    head = text(f"download.{stage}", lang, name=name, target=md(progress.target))
    return f"{head}\n\n{numbers(progress, lang)}"


def numbers(progress: Progress, lang: str = EN) -> str:
    """'42% · 6.7 GB of 16.0 GB · 85.0 MB/s · 3 min left'."""
    parts = [f"{progress.percent:.0f}%"]
    if progress.total_bytes:
        done, total = human_bytes(progress.done_bytes), human_bytes(progress.total_bytes)
        parts.append(text("download.of", lang, done=done, total=total))
    if progress.stalled:
        parts.append(text("download.stalled", lang))
    elif progress.speed > 0:
        parts.append(f"{human_bytes(progress.speed)}/s")
    if progress.eta_s is not None and progress.state == "downloading":
        parts.append(text("download.left", lang, time=_duration(progress.eta_s, lang)))
    return " · ".join(parts)


def _duration(seconds: float, lang: str = EN) -> str:
    if seconds < 90:
        return text("seconds", lang, n=f"{seconds:.0f}")
    if seconds < 5400:
        return text("minutes", lang, n=f"{seconds / 60:.0f}")
    return text("hours", lang, n=f"{seconds / 3600:.1f}")


@dataclass
class DownloadPanel:
    holder: ModelHolder
    service: DownloadService
    access: Access

    async def start(
        self, name: Any, password: Any = None, lang: Any = EN, request: gr.Request = None
    ) -> AsyncIterator[tuple]:
        """Start downloading `name` (a released checkpoint), then follow it."""
        lang = language(lang)
        if not self.access.is_operator(request, password):
            yield self.refused(lang)
            return
        known = known_checkpoint(name if isinstance(name, str) else "") or DEFAULT_CHECKPOINT
        repo, folder = wanted_checkpoint(self.holder.settings.ckpt)
        if repo != known.repo:
            folder = default_target(known.repo)
        started = self.service.start(known.repo, folder)
        note = None if started else text("download.busy", lang)
        async for shown in self.follow(lang, note):
            yield shown

    def cancel(self, password: Any = None, lang: Any = EN, request: gr.Request = None) -> tuple:
        lang = language(lang)
        if not self.access.is_operator(request, password):
            return self.refused(lang)
        self.service.cancel()
        return self.view(lang) + (self.model_status(lang),)

    async def follow(self, lang: Any = EN, note: str | None = None) -> AsyncIterator[tuple]:
        """The panel and the model's status every FOLLOW_S while a download runs and then
        while the model it brought loads, then once more (an async generator: a page following
        a long download holds no worker thread)."""
        lang = language(lang)
        while self.service.running or self.holder.status.state == LOADING:
            yield self.view(lang, note) + (self.model_status(lang),)
            await asyncio.sleep(FOLLOW_S)
        yield self.view(lang, note) + (self.model_status(lang),)

    async def reopened(
        self, password: Any = None, lang: Any = EN, request: gr.Request = None
    ) -> AsyncIterator[tuple]:
        """`follow` for an operator who opens the panel (a reloaded page); nothing for others."""
        if not self.access.is_operator(request, password):
            yield (gr.skip(),) * 5
            return
        async for shown in self.follow(lang):
            yield shown

    def model_status(self, lang: str) -> str:
        return status_markdown(self.holder.status, lang, operator=True)

    def refused(self, lang: str) -> tuple:
        return self.view(lang, text("operator.refused", lang)) + (gr.skip(),)

    def view(self, lang: str, note: str | None = None) -> tuple:
        """(panel visible, progress text, Download usable, Cancel visible)."""
        running = self.service.running
        shown = progress_markdown(self.service.progress, lang)
        if note:
            shown = f"{note}\n\n{shown}"
        needed = running or self.holder.status.state == MODEL_FAILED
        return (
            gr.Column(visible=needed),
            shown,
            gr.Button(interactive=not running),
            gr.Button(visible=running),
        )

    def view_for(self, password: Any = None, lang: Any = EN, request: gr.Request = None) -> tuple:
        """The panel for an operator who just signed in; nothing for anyone else."""
        if not self.access.is_operator(request, password):
            return gr.Column(visible=False), "", gr.skip(), gr.skip()
        return self.view(language(lang))
