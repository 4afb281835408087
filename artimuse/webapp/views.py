"""HTML of the web app's panels: the model status, the score card, the comment cards, progress
lines and messages, in the visitor's language (`lang`).

Pure functions of the results: easy to test, and every number the page shows is also written,
unrounded, into a `data-` attribute so that tests (and curious users) can read the exact value.
Colours come from gradio's CSS variables (`style.CSS`), so light and dark themes both work.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Collection, Mapping, Sequence

from PIL import Image

from artimuse.prompts import ASPECTS, COMPREHENSIVE, RADAR_ASPECTS
from artimuse.results import Scores
from artimuse.webapp.i18n import EN, aspect_name, band_name, text
from artimuse.webapp.messages import Message
from artimuse.webapp.state import FAILED, LOADING, ModelStatus

COMMENT_ORDER = (COMPREHENSIVE, *RADAR_ASPECTS)  # the verdict first, then the details
SURE = ((10.0, "sure.high"), (18.0, "sure.medium"))  # spread below -> words; above: "sure.low"
DEVICE_WORDS = {"cpu": "model.on_cpu", "cuda": "model.on_gpu", "mps": "model.on_mps"}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def status_html(status: ModelStatus, lang: str = EN) -> str:
    """The model pill at the top of the page: loading, ready (where, in words), or what failed
    and the fix; after a failed switch, why, while the working model stays."""
    ckpt = esc(status.ckpt)
    if status.state == LOADING:
        words = text("model.loading", lang, ckpt=f"<b>{ckpt}</b>")
        dot = '<span class="am-dot"></span>'
        return f'<div class="am-status loading" role="status">{dot}{words}</div>'
    if status.state == FAILED:  # the download panel shows below: it is one way to fix it
        failed = _failure_html(status, lang, panel=True)
        return f'<div class="am-status failed" role="alert">{failed}</div>'
    where = text(DEVICE_WORDS.get(status.device, "model.on_cpu"), lang)
    ready = text("model.ready", lang, ckpt=f"<b>{ckpt}</b>", where=esc(where))
    pill = (
        f'<div class="am-status ready" role="status" title="{esc(status.detail)}">'
        f'<span class="am-dot"></span>{ready}</div>'
    )
    if status.rejected:
        kept = text("model.kept", lang, current=f"<b>{ckpt}</b>")
        failed = _failure_html(status.rejected, lang)
        pill += f'<div class="am-status failed" role="alert">{failed} {kept}</div>'
    return pill


def _failure_html(status: ModelStatus, lang: str, panel: bool = False) -> str:
    """Why `status.ckpt` did not load; when missing, the path as typed and how to fill it
    (`panel`: the page's Download panel is shown too)."""
    ckpt = f"<code>{esc(status.ckpt)}</code>"
    if not status.missing:
        return text("model.failed", lang, ckpt=ckpt, detail=esc(status.detail))
    words = f"<b>{text('model.missing', lang, ckpt=ckpt)}</b>"
    if not status.download:
        return words
    return (
        f"{words} {text('model.press_download' if panel else 'model.download', lang)}"
        f"<pre><code>{esc(status.download)}</code></pre>"
        f"{text('model.then_load', lang)}"
    )


def placeholder_html(words: str) -> str:
    return f'<div class="am-score am-empty">{esc(words)}</div>'


def error_html(message: Message, lang: str = EN) -> str:
    """A bad file, explained once, in the page's words."""
    return (
        f'<div class="am-error" role="alert"><b>{text("error.title", lang)}</b> '
        f"{esc(message.render(lang))}</div>"
    )


def notice_html(message: Message | None, lang: str = EN) -> str:
    """A line next to buttons that could not act (an export with nothing to export yet)."""
    if message is None:
        return ""
    return f'<div class="am-notice" role="status">{esc(message.render(lang))}</div>'


def progress_html(message: Message | None, lang: str = EN, busy: bool = False) -> str:
    """The progress line under the picture: "Comments: 3 of 8 · 12 s", "Done in 14 s"."""
    if message is None:
        return '<div class="am-progress" aria-live="polite"></div>'
    state = " busy" if busy else ""
    return (
        f'<div class="am-progress{state}" aria-live="polite" data-key="{esc(message.key)}">'
        f"{esc(message.render(lang))}</div>"
    )


def sureness(spread: float, lang: str = EN) -> str:
    return text(next((key for bound, key in SURE if spread < bound), "sure.low"), lang)


def score_html(scores: Scores, lang: str = EN) -> str:
    """The total (one decimal) with its band, how sure the model is, and the aspects as bars."""
    rows = "".join(
        f'<li data-aspect="{esc(a)}" data-score="{scores.aspects[a]!r}">'
        f"<span>{esc(aspect_name(a, lang))}</span>"
        f'<span class="am-bar" aria-hidden="true"><i style="width:{scores.aspects[a]:.1f}%"></i>'
        f"</span><b>{scores.aspects[a]:.1f}</b></li>"
        for a in RADAR_ASPECTS
        if a in scores.aspects
    )
    spread = f"{scores.spread:.1f}"
    sure = text("score.sure", lang, words=sureness(scores.spread, lang), spread=spread)
    return (
        f'<div class="am-score" data-total="{scores.total!r}" data-spread="{scores.spread!r}">'
        f'<div class="am-total"><span class="am-number">{scores.total:.1f}</span>'
        f'<span class="am-outof">{text("score.out_of", lang)}</span></div>'
        f'<div class="am-band band-{esc(scores.band)}">{esc(band_name(scores.band, lang))}</div>'
        f'<div class="am-spread">{esc(sure)}<br><small>'
        f"{esc(text('score.sure_explain', lang, spread=spread))}</small></div>"
        f'<ul class="am-aspects">{rows}</ul></div>'
    )


def comments_html(
    comments: Mapping[str, str],
    scores: Scores | None,
    finished: Collection[str] | None = None,
    stopped: bool = False,
    asked: Sequence[str] = ASPECTS,
    lang: str = EN,
) -> str:
    """One card per asked aspect, filling in as its comment streams. `comments`: the text so
    far; `finished`: the aspects whose comment is complete (None: all of them); `stopped`:
    generation was stopped, the unfinished cards keep their text and say so."""
    cards = []
    for aspect in COMMENT_ORDER:
        if aspect not in asked:
            continue
        state, body = _card_body(comments.get(aspect, ""), aspect, finished, stopped, lang)
        value = _card_score(aspect, scores)
        pill = f'<span class="am-pill">{value:.1f}</span>' if value is not None else ""
        wide = " wide" if aspect == COMPREHENSIVE else ""
        cards.append(
            f'<article class="am-card {state}{wide}" data-aspect="{esc(aspect)}">'
            f"<header><h4>{esc(aspect_name(aspect, lang))}</h4>{pill}</header>"
            f'<p tabindex="0">{body}</p></article>'  # focusable: a long comment scrolls by keys
        )
    label = esc(text("comments.region", lang))
    return f'<section class="am-comments" aria-label="{label}">{"".join(cards)}</section>'


def _card_body(text_so_far, aspect, finished, stopped, lang) -> tuple[str, str]:
    if finished is None or aspect in finished:
        return "done", esc(text_so_far) or esc(text("comment.none", lang))
    if stopped:
        note = esc(text("comment.stopped", lang))
        return "stopped", f'{esc(text_so_far)}<span class="am-stopped"> {note}</span>'
    if text_so_far:
        return "writing", esc(text_so_far)
    return "waiting", esc(text("comment.waiting", lang))


def _card_score(aspect: str, scores: Scores | None) -> float | None:
    if scores is None:
        return None
    return scores.total if aspect == COMPREHENSIVE else scores.aspects.get(aspect)


def thumbnail_uri(image: Image.Image, size: int = 96) -> str:
    """A small JPEG of `image` as a data: URI, for tables that must not refer to files."""
    small = image.copy()
    small.thumbnail((size, size))
    buffer = io.BytesIO()
    small.convert("RGB").save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
