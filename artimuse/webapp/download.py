"""The page without weights: a Download panel (choice of the five checkpoints), live progress
(percent, bytes, speed, ETA) kept by the server for every visitor, Cancel, and the model loaded
when the download ends, with no restart.

`start_model(holder, service, auto)` decides at start-up: load what is there, or download first
(`ARTIMUSE_AUTO_DOWNLOAD=1`, or a hub repo id as the checkpoint). `download_panel(...)` adds the
panel to a page being built; `DownloadHandlers` are its event handlers (tested without a server).
Every string the panel shows is in the web app's catalogue (`i18n`, keys `download.*`), in the
visitor's language (`lang`, the page's language switch).
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
from artimuse.webapp.i18n import EN, language, text, tuned_on, ui
from artimuse.webapp.state import READY, ModelHolder
from artimuse.webapp.views import status_html

POLL_S = 1.0  # how often an open page asks for the download's progress


def choice_label(name: str, lang: str = EN) -> str:
    known = known_checkpoint(name) or DEFAULT_CHECKPOINT
    what = tuned_on(known.name, known.tuned_on, lang)
    return text("download.option", lang, name=known.name, size=f"{known.size_gb:g}", tuned_on=what)


def choices(lang: str = EN) -> list[tuple[str, str]]:
    return [(choice_label(k.name, lang), k.name) for k in KNOWN_CHECKPOINTS]


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

    def button_label(self, name: str | None, lang: str | None = EN) -> Any:
        known = known_checkpoint(name or "") or DEFAULT_CHECKPOINT
        size = f"{known.size_gb:g}"
        return gr.Button(value=text("download.button", language(lang), name=known.name, size=size))

    def start(self, name: str | None, lang: str | None = EN) -> tuple:
        """Start downloading `name`; when one already runs, the panel says so (an event outside
        the queue: a toast would never reach the browser)."""
        known = known_checkpoint(name or "") or DEFAULT_CHECKPOINT
        repo, folder = wanted_checkpoint(self.holder.settings.ckpt)
        if repo != known.repo:
            folder = default_target(known.repo)
        started = self.service.start(known.repo, folder)
        return self.poll(lang, note=None if started else "download.busy")

    def cancel(self, lang: str | None = EN) -> tuple:
        self.service.cancel()
        return self.poll(lang)

    def poll(self, lang: str | None = EN, note: str | None = None) -> tuple:
        """(panel visible, progress HTML, status line, Download usable, Cancel visible, timer)."""
        lang = language(lang)
        progress = self.service.progress
        running = self.service.running
        status = self.holder.status
        show = running or status.state != READY  # polling goes on while it is shown
        shown = progress_html(progress, lang)
        if note:
            shown = f'<div class="am-notice" role="status">{_esc(text(note, lang))}</div>{shown}'
        return (
            gr.Column(visible=show),
            shown,
            _status_line(progress, lang) if running else status_html(status, lang),
            gr.Button(interactive=not running),
            gr.Button(visible=running),
            gr.Timer(active=show),
        )


def _status_line(progress: Progress, lang: str = EN) -> str:
    name = f"<b>{_esc(progress.repo.split('/')[-1])}</b>"
    return (
        f'<div class="am-status loading" role="status"><span class="am-dot"></span>'
        f"{text('download.status', lang, name=name)}</div>"
    )


def progress_html(progress: Progress | None, lang: str = EN) -> str:
    """The panel's text: an invitation, the live bar, or what went wrong."""
    if progress is None:
        intro = _esc(text("download.intro", lang))
        return f'<div class="am-download" data-state="idle">{intro}</div>'
    name = progress.repo.split("/")[-1]
    data = (
        f'data-state="{progress.state}" data-percent="{progress.percent:.1f}" '
        f'data-done="{progress.done_bytes}" data-total="{progress.total_bytes}"'
    )
    if progress.state in (FAILED, CANCELLED):
        return (
            f'<div class="am-download {progress.state}" role="alert" {data}>'
            f"<b>{_esc(text('download.' + progress.state, lang))}.</b> "
            f"{_esc(progress.message)}</div>"
        )
    stage = progress.state if progress.state in ("checking", "verifying", "done") else "downloading"
    head = text(f"download.{stage}", lang, name=name, target=progress.target)  # fields it uses
    return (
        f'<div class="am-download" {data}><div class="am-download-head">{_esc(head)}</div>'
        f'<progress max="100" value="{progress.percent:.1f}"></progress>'
        f'<div class="am-download-numbers">{_esc(numbers(progress, lang))}</div></div>'
    )


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


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def download_panel(
    app: gr.Blocks, handlers: DownloadHandlers, status: gr.HTML, default: str, lang: gr.Radio
) -> None:
    """The panel, inside the page `app` being built; `status` is the page's model line, `lang`
    its language switch."""
    known = known_checkpoint(default) or DEFAULT_CHECKPOINT
    with gr.Column(visible=False, elem_id="download-panel") as panel:
        shown = gr.HTML(progress_html(None), elem_id="download-progress")
        with gr.Row():
            choice = gr.Dropdown(
                choices(),
                value=known.name,
                label=ui("download.choice"),
                info=ui("download.choice_info"),
                scale=3,
                elem_id="download-choice",
            )
            start = gr.Button(
                text("download.button", EN, name=known.name, size=f"{known.size_gb:g}"),
                variant="primary",
                scale=2,
                elem_id="download-start",
            )
            cancel = gr.Button(
                ui("download.cancel"),
                variant="stop",
                visible=False,
                scale=1,
                elem_id="download-cancel",
            )
    timer = gr.Timer(POLL_S)
    outputs = [panel, shown, status, start, cancel, timer]
    quick = dict(queue=False, show_progress="hidden")
    choice.change(handlers.button_label, [choice, lang], start, **quick)
    start.click(handlers.start, [choice, lang], outputs, **quick)
    cancel.click(handlers.cancel, lang, outputs, **quick)
    timer.tick(handlers.poll, lang, outputs, **quick)
    app.load(handlers.poll, lang, outputs, **quick)  # a reload finds the running download
    lang.change(handlers.poll, lang, outputs, **quick)
    lang.change(handlers.button_label, [choice, lang], start, **quick)
    lang.change(lambda code: gr.Dropdown(choices=choices(language(code))), lang, choice, **quick)


CSS = """
#download-panel { border:1px solid var(--border-color-primary); border-radius:1rem;
  padding:.8rem 1rem; background:var(--block-background-fill); }
.am-download progress { width:100%; height:.8rem; accent-color:#e8743b; margin:.4rem 0; }
.am-download-numbers { font-variant-numeric:tabular-nums; color:var(--body-text-color-subdued); }
.am-download.failed, .am-download.cancelled { color:#dc2626; }
"""
