"""The page without weights: a Download panel (choice of the five checkpoints), live progress
(percent, bytes, speed, ETA) kept by the server for every visitor, Cancel, and the model loaded
when the download ends, with no restart.

`start_model(holder, service, auto)` decides at start-up: load what is there, or download first
(`ARTIMUSE_AUTO_DOWNLOAD=1`, or a hub repo id as the checkpoint). `download_panel(...)` adds the
panel to a page being built; `DownloadHandlers` are its event handlers (tested without a server).
Every string the panel shows is in `TEXT`, to be translated in one place.
"""

from __future__ import annotations

import html
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
from artimuse.webapp.state import READY, ModelHolder
from artimuse.webapp.views import status_html

POLL_S = 1.0  # how often an open page asks for the download's progress
TEXT = {
    "button": "Download {name} ({size} GB)",
    "choice": "Checkpoint",
    "choice_info": "ArtiMuse is the general model; the others are tuned on one dataset each",
    "cancel": "Cancel",
    "intro": "This server has no ArtiMuse weights yet. Download them from the model hub "
             "(once; the model loads as soon as they are here, no restart).",
    "busy": "A download is already running: its progress is shown here.",
    "downloading": "Downloading {name} into {target}",
    "checking": "Asking the hub for {name}…",
    "verifying": "Checking the downloaded files…",
    "done": "Downloaded {name}; loading the model…",
    "failed": "Download failed",
    "cancelled": "Download cancelled",
    "left": "{time} left",
    "stalled": "waiting for the hub…",
    "status": "Downloading <b>{name}</b>… the model loads when it is here",
}


def choice_label(name: str) -> str:
    known = known_checkpoint(name) or DEFAULT_CHECKPOINT
    return f"{known.name} · {known.size_gb:g} GB · tuned on {known.tuned_on}"


CHOICES = [(choice_label(k.name), k.name) for k in KNOWN_CHECKPOINTS]


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
    (auto, or a hub id was configured), and otherwise let the page offer the download."""
    ckpt = holder.settings.ckpt
    repo, folder = wanted_checkpoint(ckpt)
    service.on_done = lambda done: holder.start_loading(str(done))
    if loads(folder) or not (auto or hub_repo(ckpt)):
        holder.start_loading(str(folder))  # a missing folder fails at once: the page offers it
        return
    holder.start_loading(str(folder))  # says "no checkpoint" while the download runs
    service.start(repo, folder)


@dataclass
class DownloadHandlers:
    holder: ModelHolder
    service: DownloadService

    def button_label(self, name: str | None) -> Any:
        known = known_checkpoint(name or "") or DEFAULT_CHECKPOINT
        return gr.Button(value=TEXT["button"].format(name=known.name, size=f"{known.size_gb:g}"))

    def start(self, name: str | None) -> tuple:
        known = known_checkpoint(name or "") or DEFAULT_CHECKPOINT
        repo, folder = wanted_checkpoint(self.holder.settings.ckpt)
        if repo != known.repo:
            folder = default_target(known.repo)
        if not self.service.start(known.repo, folder):
            gr.Warning(TEXT["busy"])
        return self.poll()

    def cancel(self) -> tuple:
        self.service.cancel()
        return self.poll()

    def poll(self) -> tuple:
        """(panel visible, progress HTML, status line, Download usable, Cancel visible, timer)."""
        progress = self.service.progress
        running = self.service.running
        status = self.holder.status
        show = running or status.state != READY  # polling goes on while it is shown
        return (
            gr.Column(visible=show),
            progress_html(progress),
            _status_line(progress) if running else status_html(status),
            gr.Button(interactive=not running),
            gr.Button(visible=running),
            gr.Timer(active=show),
        )


def _status_line(progress: Progress) -> str:
    name = _esc(progress.repo.split("/")[-1])
    return (
        f'<div class="am-status loading"><span class="am-dot"></span>'
        f'{TEXT["status"].format(name=name)}</div>'
    )


def progress_html(progress: Progress | None) -> str:
    """The panel's text: an invitation, the live bar, or what went wrong."""
    if progress is None:
        return f'<div class="am-download" data-state="idle">{_esc(TEXT["intro"])}</div>'
    name = progress.repo.split("/")[-1]
    data = (
        f'data-state="{progress.state}" data-percent="{progress.percent:.1f}" '
        f'data-done="{progress.done_bytes}" data-total="{progress.total_bytes}"'
    )
    if progress.state in (FAILED, CANCELLED):
        return (
            f'<div class="am-download {progress.state}" role="alert" {data}>'
            f"<b>{_esc(TEXT[progress.state])}.</b> {_esc(progress.message)}</div>"
        )
    head = TEXT.get(progress.state, TEXT["downloading"]).format(
        name=name, target=progress.target
    )
    return (
        f'<div class="am-download" {data}><div class="am-download-head">{_esc(head)}</div>'
        f'<progress max="100" value="{progress.percent:.1f}"></progress>'
        f'<div class="am-download-numbers">{_esc(numbers(progress))}</div></div>'
    )


def numbers(progress: Progress) -> str:
    """'42% · 6.7 GB of 16.0 GB · 85.0 MB/s · 3 min left'."""
    parts = [f"{progress.percent:.0f}%"]
    if progress.total_bytes:
        parts.append(
            f"{human_bytes(progress.done_bytes)} of {human_bytes(progress.total_bytes)}"
        )
    if progress.stalled:
        parts.append(TEXT["stalled"])
    elif progress.speed > 0:
        parts.append(f"{human_bytes(progress.speed)}/s")
    if progress.eta_s is not None and progress.state == "downloading":
        parts.append(TEXT["left"].format(time=_duration(progress.eta_s)))
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def download_panel(
    app: gr.Blocks, handlers: DownloadHandlers, status: gr.HTML, default: str
) -> None:
    """The panel, inside the page `app` being built; `status` is the page's model line."""
    known = known_checkpoint(default) or DEFAULT_CHECKPOINT
    with gr.Column(visible=False, elem_id="download-panel") as panel:
        shown = gr.HTML(progress_html(None), elem_id="download-progress")
        with gr.Row():
            choice = gr.Dropdown(CHOICES, value=known.name, label=TEXT["choice"],
                                 info=TEXT["choice_info"], scale=3)
            start = gr.Button(
                TEXT["button"].format(name=known.name, size=f"{known.size_gb:g}"),
                variant="primary", scale=2, elem_id="download-start",
            )
            cancel = gr.Button(TEXT["cancel"], variant="stop", visible=False, scale=1,
                               elem_id="download-cancel")
    timer = gr.Timer(POLL_S)
    outputs = [panel, shown, status, start, cancel, timer]
    quick = dict(queue=False, show_progress="hidden")
    choice.change(handlers.button_label, choice, start, **quick)
    start.click(handlers.start, choice, outputs, **quick)
    cancel.click(handlers.cancel, None, outputs, **quick)
    timer.tick(handlers.poll, None, outputs, **quick)
    app.load(handlers.poll, None, outputs, **quick)  # a reload finds the running download


CSS = """
#download-panel { border:1px solid var(--border-color-primary); border-radius:1rem;
  padding:.8rem 1rem; background:var(--block-background-fill); }
.am-download progress { width:100%; height:.8rem; accent-color:#e8743b; margin:.4rem 0; }
.am-download-numbers { font-variant-numeric:tabular-nums; color:var(--body-text-color-subdued); }
.am-download.failed, .am-download.cancelled { color:#dc2626; }
"""
