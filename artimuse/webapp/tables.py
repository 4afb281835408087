"""HTML tables of the Compare and Batch tabs, in the visitor's language (`lang`).

As in `views`, every number shown is also in a `data-` attribute, unrounded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from artimuse.prompts import COMPREHENSIVE, RADAR_ASPECTS
from artimuse.results import Scores
from artimuse.webapp.i18n import EN, aspect_name, band_name, text
from artimuse.webapp.messages import Message
from artimuse.webapp.views import esc


def scroll_box(table: str, label: str, hint: str = "") -> str:
    """A table that scrolls sideways inside the page (never widening it), focusable so that
    arrow keys scroll it, with a visible hint when it is wider than the screen."""
    hint_html = f'<div class="am-scroll-hint" aria-hidden="true">{esc(hint)}</div>' if hint else ""
    return (
        f'{hint_html}<div class="am-scroll" tabindex="0" role="region" aria-label="{esc(label)}">'
        f"{table}</div>"
    )


def compare_html(entries: Sequence[tuple[str, str, Scores]], lang: str = EN) -> str:
    """(name, thumbnail URI, scores) per image -> a table of total and aspect scores, with the
    best of each row marked."""
    head = "".join(
        f'<th scope="col"><img src="{thumb}" alt=""><span>{esc(name)}</span></th>'
        for name, thumb, _ in entries
    )
    rows = [_compare_row(text("compare.total", lang), [s.total for _, _, s in entries], " total")]
    for aspect in RADAR_ASPECTS:
        values = [s.aspects.get(aspect) for _, _, s in entries]
        rows.append(_compare_row(aspect_name(aspect, lang), values))
    table = (
        f'<table class="am-table am-compare"><thead><tr><td></td>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    legend = f'<div class="am-legend">{esc(text("compare.best", lang))}</div>'
    return scroll_box(table, text("tab.compare", lang)) + legend


def compare_comments_html(comments: Mapping[str, str], lang: str = EN) -> str:
    """image name -> its Comprehensive Evaluation, as cards."""
    pill = esc(aspect_name(COMPREHENSIVE, lang))
    cards = "".join(
        f'<article class="am-card done" data-image="{esc(name)}"><header><h4>{esc(name)}</h4>'
        f'<span class="am-pill">{pill}</span></header><p tabindex="0">{esc(body)}</p></article>'
        for name, body in comments.items()
    )
    return f'<section class="am-comments">{cards}</section>' if cards else ""


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
    return f'<tr class="{extra.strip()}"><th scope="row">{esc(label)}</th>{"".join(cells)}</tr>'


def problems_html(problems: Sequence[tuple[str, Message]], lang: str = EN) -> str:
    """Every file that could not be used (file name, what is wrong), each in one line."""
    if not problems:
        return ""
    items = "".join(f"<li>{esc(problem.render(lang))}</li>" for _, problem in problems)
    return (
        f'<div class="am-error" role="alert"><b>{text("error.skipped", lang)}</b>'
        f'<ul class="am-skipped">{items}</ul></div>'
    )


def batch_html(
    rows: Sequence[dict], problems: Sequence[tuple[str, Message]], total: int, lang: str = EN
) -> str:
    """Scored images ranked by total (rows: name, thumb, scores), then the files skipped."""
    ranked = sorted(rows, key=lambda r: -r["scores"].total)
    aspect_heads = "".join(
        f'<th scope="col" title="{esc(aspect_name(a, lang))}">'
        f"{esc(aspect_name(a, lang, short=True))}</th>"
        for a in RADAR_ASPECTS
    )
    body = "".join(_batch_row(rank, row, lang) for rank, row in enumerate(ranked, 1))
    summary = text(
        "batch.summary", lang, done=len(rows) + len(problems), total=total, scored=len(rows)
    )
    if problems:
        summary += text("batch.skipped", lang, n=len(problems))
    rank, file, total_head, spread = (
        f'<th scope="col">{esc(text(key, lang))}</th>'
        for key in ("batch.rank", "batch.file", "compare.total", "batch.spread")
    )
    table = (
        f'<table class="am-table am-batch"><thead><tr>{rank}<td></td>{file}{total_head}{spread}'
        f"{aspect_heads}</tr></thead><tbody>{body}</tbody></table>"
    )
    return (
        f'<div class="am-batch-summary" role="status">{esc(summary)}</div>'
        + scroll_box(table, text("batch.table", lang), text("batch.scroll", lang))
        + problems_html(problems, lang)
    )


def _batch_row(rank: int, row: dict, lang: str) -> str:
    scores: Scores = row["scores"]
    aspects = "".join(
        f"<td>{scores.aspects[a]:.1f}</td>" if a in scores.aspects else "<td>–</td>"
        for a in RADAR_ASPECTS
    )
    return (
        f'<tr data-total="{scores.total!r}"><td class="rank">{rank}</td>'
        f'<td><img src="{row["thumb"]}" alt=""></td><th scope="row" class="name">'
        f'{esc(row["name"])}</th><td class="total"><b>{scores.total:.1f}</b> '
        f'<span class="am-band band-{scores.band}">{esc(band_name(scores.band, lang))}</span></td>'
        f"<td>{scores.spread:.1f}</td>{aspects}</tr>"
    )
