"""HTML of the web app's panels (score card, comment cards, tables, status) and its CSS.

Pure functions of the results: easy to test, and every number the page shows is also written,
unrounded, into a `data-` attribute so that tests (and curious users) can read the exact value.
Colours come from gradio's CSS variables, so light and dark themes both work.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Collection, Mapping, Sequence

from PIL import Image

from artimuse.prompts import ASPECTS, COMPREHENSIVE, RADAR_ASPECTS
from artimuse.results import Scores
from artimuse.webapp.state import FAILED, LOADING, ModelStatus

ASPECT_SCORE_NOTE = (
    "Only the total score is trained in the released ArtiMuse checkpoints; the seven aspect "
    "scores come from prompting the model for each aspect (as the authors' demo does). Read "
    "them as the model's opinion, not as calibrated measurements."
)
COMMENT_ORDER = (COMPREHENSIVE, *RADAR_ASPECTS)  # the verdict first, then the details


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def short_name(aspect: str) -> str:
    """'Composition & Design' -> 'Composition': a column header for narrow tables."""
    return aspect.split()[0]


def status_html(status: ModelStatus) -> str:
    """The model line at the top of the page: loading, ready, or what failed and the fix."""
    if status.state == LOADING:
        return (
            f'<div class="am-status loading"><span class="am-dot"></span>Loading model '
            f"<b>{esc(status.ckpt)}</b>…</div>"
        )
    if status.state == FAILED and status.download:
        return (
            f'<div class="am-status failed"><b>No checkpoint found</b> at <code>'
            f"{esc(status.ckpt)}</code>. Press <b>Download</b> below, or download the "
            f"weights with:<pre><code>{esc(status.download)}</code></pre>and load them under "
            "<b>Model</b>.</div>"
        )
    if status.state == FAILED:
        return (
            f'<div class="am-status failed"><b>Could not load</b> <code>{esc(status.ckpt)}'
            f"</code>: {esc(status.detail)}</div>"
        )
    return (
        f'<div class="am-status ready"><span class="am-dot"></span>Model <b>'
        f"{esc(status.ckpt)}</b> ready · {esc(status.detail)}</div>"
    )


def placeholder_html(text: str = "Drop a picture to hear what the model thinks of it.") -> str:
    return f'<div class="am-score am-empty">{esc(text)}</div>'


def error_html(message: str) -> str:
    return (
        f'<div class="am-error" role="alert"><b>Cannot assess this file.</b> {esc(message)}</div>'
    )


def score_html(scores: Scores, note: str = "") -> str:
    """The total (one decimal) with its band and spread, and the seven aspects as bars."""
    rows = "".join(
        f'<li data-aspect="{esc(a)}" data-score="{scores.aspects[a]!r}"><span>{esc(a)}</span>'
        f'<span class="am-bar"><i style="width:{scores.aspects[a]:.1f}%"></i></span>'
        f"<b>{scores.aspects[a]:.1f}</b></li>"
        for a in RADAR_ASPECTS
        if a in scores.aspects
    )
    note_html = f'<div class="am-note">{esc(note)}</div>' if note else ""
    return (
        f'<div class="am-score" data-total="{scores.total!r}" data-spread="{scores.spread!r}">'
        f'<div class="am-total"><span class="am-number">{scores.total:.1f}</span>'
        f'<span class="am-outof">/ 100</span></div>'
        f'<div class="am-band band-{esc(scores.band)}">{esc(scores.band)}</div>'
        f'<div class="am-spread">± {scores.spread:.1f} · the model’s uncertainty (sd)</div>'
        f'<ul class="am-aspects">{rows}</ul>{note_html}</div>'
    )


def comments_html(
    comments: Mapping[str, str],
    scores: Scores | None,
    finished: Collection[str] | None = None,
    stopped: bool = False,
    asked: Sequence[str] = ASPECTS,
) -> str:
    """One card per asked aspect, filling in as its comment streams. `comments`: the text so
    far; `finished`: the aspects whose comment is complete (None: all of them); `stopped`:
    generation was stopped, the unfinished cards keep their text and say so."""
    cards = []
    for aspect in COMMENT_ORDER:
        if aspect not in asked:
            continue
        text = comments.get(aspect, "")
        if finished is None or aspect in finished:
            state, body = "done", esc(text) or "(no comment)"
        elif stopped:
            state, body = "stopped", esc(text) + '<span class="am-stopped"> … stopped</span>'
        else:
            state, body = ("writing", esc(text)) if text else ("waiting", "waiting for the model…")
        value = _card_score(aspect, scores)
        pill = f'<span class="am-pill">{value:.1f}</span>' if value is not None else ""
        wide = " wide" if aspect == COMPREHENSIVE else ""
        cards.append(
            f'<article class="am-card {state}{wide}" data-aspect="{esc(aspect)}">'
            f"<header><h4>{esc(aspect)}</h4>{pill}</header><p>{body}</p></article>"
        )
    return f'<div class="am-comments">{"".join(cards)}</div>'


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


def compare_html(entries: Sequence[tuple[str, str, Scores]]) -> str:
    """(name, thumbnail URI, scores) per image -> a table of total and aspect scores, with the
    best of each row marked."""
    head = "".join(
        f'<th><img src="{thumb}" alt=""><span>{esc(name)}</span></th>' for name, thumb, _ in entries
    )
    rows = [_compare_row("Total", [s.total for _, _, s in entries], " total")]
    for aspect in RADAR_ASPECTS:
        rows.append(_compare_row(aspect, [s.aspects.get(aspect) for _, _, s in entries]))
    return (
        f'<div class="am-scroll"><table class="am-table am-compare"><thead><tr><th></th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def compare_comments_html(comments: Mapping[str, str]) -> str:
    """image name -> its Comprehensive Evaluation, as cards."""
    cards = "".join(
        f'<article class="am-card done" data-image="{esc(name)}"><header><h4>{esc(name)}</h4>'
        f'<span class="am-pill">{esc(COMPREHENSIVE)}</span></header><p>{esc(text)}</p></article>'
        for name, text in comments.items()
    )
    return f'<div class="am-comments">{cards}</div>' if cards else ""


def _compare_row(label: str, values: Sequence[float | None], extra: str = "") -> str:
    known = [v for v in values if v is not None]
    best = max(known) if known else None
    cells = []
    for value in values:
        if value is None:
            cells.append("<td>–</td>")
        elif value == best and len(known) > 1:
            cells.append(f'<td class="best" data-score="{value!r}">★ {value:.1f}</td>')
        else:
            cells.append(f'<td data-score="{value!r}">{value:.1f}</td>')
    return f'<tr class="{extra.strip()}"><th>{esc(label)}</th>{"".join(cells)}</tr>'


def batch_html(rows: Sequence[dict], errors: Sequence[tuple[str, str]], total: int) -> str:
    """Scored images ranked by total (rows: name, thumb, scores), then the files skipped."""
    ranked = sorted(rows, key=lambda r: -r["scores"].total)
    aspect_heads = "".join(f'<th title="{esc(a)}">{esc(short_name(a))}</th>' for a in RADAR_ASPECTS)
    body = "".join(_batch_row(rank, row) for rank, row in enumerate(ranked, 1))
    skipped = "".join(f"<li><b>{esc(name)}</b>: {esc(message)}</li>" for name, message in errors)
    skipped_html = f'<ul class="am-skipped">{skipped}</ul>' if skipped else ""
    done = len(rows) + len(errors)
    return (
        f'<div class="am-batch-summary">{done} of {total} files · {len(rows)} scored'
        f"{f' · {len(errors)} skipped' if errors else ''}</div>"
        f'<div class="am-scroll"><table class="am-table am-batch"><thead><tr><th>#</th><th></th>'
        f"<th>File</th><th>Total</th><th>±</th>{aspect_heads}</tr></thead><tbody>{body}</tbody>"
        f"</table></div>{skipped_html}"
    )


def _batch_row(rank: int, row: dict) -> str:
    scores: Scores = row["scores"]
    aspects = "".join(
        f"<td>{scores.aspects[a]:.1f}</td>" if a in scores.aspects else "<td>–</td>"
        for a in RADAR_ASPECTS
    )
    return (
        f'<tr data-total="{scores.total!r}"><td class="rank">{rank}</td>'
        f'<td><img src="{row["thumb"]}" alt=""></td><td class="name">{esc(row["name"])}</td>'
        f'<td class="total"><b>{scores.total:.1f}</b> <span class="am-band band-{scores.band}">'
        f"{scores.band}</span></td><td>{scores.spread:.1f}</td>{aspects}</tr>"
    )


CSS = """
.am-header { display:flex; align-items:flex-end; justify-content:space-between; gap:1rem;
  flex-wrap:wrap; margin-bottom:.25rem; }
.am-header h1 { font-size:2rem; font-weight:750; margin:0; letter-spacing:-.02em; }
.am-header p { margin:.15rem 0 0; color:var(--body-text-color-subdued); }
.am-status { font-size:.9rem; padding:.45rem .8rem; border-radius:999px;
  border:1px solid var(--border-color-primary); background:var(--block-background-fill); }
.am-status .am-dot { display:inline-block; width:.6rem; height:.6rem; border-radius:50%;
  margin-right:.45rem; background:#22c55e; }
.am-status.loading .am-dot { background:#f59e0b; animation:am-pulse 1s infinite alternate; }
.am-status.failed { border-radius:.75rem; border-color:#ef4444; }
.am-status pre { margin:.4rem 0; padding:.5rem .7rem; border-radius:.5rem; white-space:pre-wrap;
  overflow-wrap:anywhere; user-select:all;
  background:var(--code-background-fill, rgba(128,128,128,.12)); }
@keyframes am-pulse { from { opacity:.35 } to { opacity:1 } }
.am-score { padding:1rem 1.2rem; border-radius:1rem; border:1px solid var(--border-color-primary);
  background:var(--block-background-fill); }
.am-empty { color:var(--body-text-color-subdued); text-align:center; padding:2.5rem 1rem; }
.am-total { display:flex; align-items:baseline; gap:.4rem; }
.am-number { font-size:4.2rem; font-weight:750; line-height:1; letter-spacing:-.03em; }
.am-outof { font-size:1.2rem; color:var(--body-text-color-subdued); }
.am-band { display:inline-block; margin:.35rem 0 .1rem; padding:.1rem .65rem; border-radius:999px;
  font-weight:600; text-transform:capitalize; font-size:.9rem; }
.band-outstanding { background:rgba(20,163,127,.18); color:#0f8a6b; }
.band-strong { background:rgba(34,197,94,.16); color:#15803d; }
.band-good { background:rgba(59,130,246,.16); color:#2563eb; }
.band-fair { background:rgba(245,158,11,.18); color:#b45309; }
.band-weak { background:rgba(239,68,68,.16); color:#dc2626; }
.dark .band-outstanding { color:#5eead4; } .dark .band-strong { color:#86efac; }
.dark .band-good { color:#93c5fd; } .dark .band-fair { color:#fcd34d; }
.dark .band-weak { color:#fca5a5; }
.am-spread { color:var(--body-text-color-subdued); font-size:.85rem; }
.am-aspects { list-style:none; padding:0; margin:.9rem 0 0; display:grid; gap:.35rem; }
.am-aspects li { display:grid; grid-template-columns:minmax(9rem,1.3fr) 2fr 2.6rem;
  align-items:center; gap:.6rem; font-size:.9rem; margin:0; }
.am-aspects li b { text-align:right; font-variant-numeric:tabular-nums; }
.am-bar { height:.5rem; border-radius:999px; background:rgba(128,128,128,.18); overflow:hidden; }
.am-bar i { display:block; height:100%; border-radius:999px;
  background:linear-gradient(90deg,#f4a261,#e8743b); }
.am-note { margin-top:.8rem; font-size:.78rem; color:var(--body-text-color-subdued); }
.am-error { padding:1rem 1.2rem; border-radius:1rem; border:1px solid #ef4444;
  background:rgba(239,68,68,.08); }
.am-comments { display:grid; grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));
  gap:.8rem; }
.am-card { border:1px solid var(--border-color-primary); border-radius:.9rem; padding:.8rem 1rem;
  background:var(--block-background-fill); }
.am-card.wide { grid-column:1 / -1; border-color:rgba(232,116,59,.55); }
.am-card header { display:flex; justify-content:space-between; align-items:center; gap:.5rem; }
.am-card h4 { margin:0; font-size:.95rem; font-weight:650; }
.am-stopped { color:var(--body-text-color-subdued); font-style:italic; }
.am-card p { margin:.5rem 0 0; white-space:pre-wrap; overflow-wrap:anywhere; line-height:1.55;
  font-size:.93rem; }
.am-card.waiting p { color:var(--body-text-color-subdued); font-style:italic; }
.am-card.writing p::after { content:"▍"; color:#e8743b; animation:am-pulse .6s infinite alternate; }
.am-pill { font-variant-numeric:tabular-nums; font-weight:650; font-size:.85rem;
  padding:.1rem .55rem; border-radius:999px; background:rgba(232,116,59,.16); color:#c2410c; }
.dark .am-pill { color:#fdba74; }
.am-table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
.am-table th, .am-table td { padding:.4rem .6rem; text-align:center;
  border-bottom:1px solid var(--border-color-primary); }
.am-table tbody th { text-align:left; font-weight:500; }
.am-table img { width:64px; height:64px; object-fit:cover; border-radius:.4rem; display:block;
  margin:0 auto .25rem; }
.am-table thead th span { font-size:.8rem; overflow-wrap:anywhere; }
.am-table td.best { font-weight:700; color:#c2410c; }
.dark .am-table td.best { color:#fdba74; }
.am-table tr.total th, .am-table tr.total td { font-size:1.05rem; }
.am-scroll { overflow-x:auto; }
.am-batch td.name { text-align:left; min-width:9rem; overflow-wrap:anywhere; }
.am-batch img { width:48px; height:48px; min-width:48px; margin:0; }
.am-batch td.total { white-space:nowrap; }
.am-batch .am-band { margin:0; font-size:.75rem; }
.am-batch-summary { margin:.2rem 0 .5rem; color:var(--body-text-color-subdued); }
.am-skipped { color:#dc2626; font-size:.9rem; }
.am-plot .js-plotly-plot { margin:0 auto; }
.dark .am-plot .main-svg text:not(.hoverlayer *) { fill:var(--body-text-color) !important; }
footer { visibility:visible; }
"""
