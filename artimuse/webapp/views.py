"""What the panels show, in the visitor's language: Markdown for `gr.Markdown`, values for
`gr.Label`. Every string not from our catalogue (a file name, the model's comments, a checkpoint
name) goes through `md`, the one escape: it shows as the characters it is, never as markup."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from artimuse.prompts import COMPREHENSIVE, RADAR_ASPECTS
from artimuse.results import Scores
from artimuse.webapp.i18n import EN, Message, aspect_name, band_name, text
from artimuse.webapp.state import FAILED, LOADING, ModelStatus

COMMENT_ORDER = (COMPREHENSIVE, *RADAR_ASPECTS)  # the verdict first, then the details
SURE = ((10.0, "sure.high"), (18.0, "sure.medium"))  # spread below -> words; above: "sure.low"
DEVICE_WORDS = {"cpu": "model.on_cpu", "cuda": "model.on_gpu", "mps": "model.on_mps"}
SHOWN_CHARS = 200  # of an operator-typed checkpoint in the status line
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:])")


def md(value: object) -> str:
    """Untrusted text as literal Markdown text (one escape for the whole page)."""
    return _MARKDOWN.sub(r"\\\1", str(value))


def status_markdown(status: ModelStatus, lang: str = EN, operator: bool = False) -> str:
    """The model line: loading, ready (where, in words), or failed. Visitors see the
    checkpoint's name only; the operator also sees why a load failed and how to fix it."""
    name = f"**{md(status.name[:SHOWN_CHARS])}**"
    if status.state == LOADING:
        return text("model.loading", lang, ckpt=name)
    if status.state == FAILED:
        return _failure(status, lang) if operator else text("model.unavailable", lang, ckpt=name)
    where = text(DEVICE_WORDS.get(status.device, "model.on_cpu"), lang)
    line = text("model.ready", lang, ckpt=name, where=where)
    if status.rejected and operator:
        kept = text("model.kept", lang, current=name)
        line += f"\n\n{_failure(status.rejected, lang)} {kept}"
    return line


def _failure(status: ModelStatus, lang: str) -> str:
    ckpt = f"`{md(status.ckpt[:SHOWN_CHARS])}`"
    if not status.missing:
        return text("model.failed", lang, ckpt=ckpt, detail=md(status.detail[:SHOWN_CHARS]))
    words = text("model.missing", lang, ckpt=ckpt)
    if not status.download:
        return words
    return f"{words} {text('model.download', lang)}\n\n```\n{status.download}\n```"


def score_markdown(scores: Scores, lang: str = EN) -> str:
    """The total, its band and how sure the model is (in words by the spread)."""
    spread = f"{scores.spread:.1f}"
    sure = next((key for limit, key in SURE if scores.spread < limit), "sure.low")
    sure = text("score.sure", lang, words=text(sure, lang), spread=spread)
    head = f"## {scores.total:.1f} {text('score.out_of', lang)} · {band_name(scores.band, lang)}"
    return f"{head}\n\n{sure}  \n<small>{text('score.sure_explain', lang, spread=spread)}</small>"


def aspect_label(scores: Scores | None, lang: str = EN) -> dict[str, float] | None:
    """The seven aspect scores for `gr.Label` (0-1, shown as percent bars)."""
    return None if scores is None else {aspect_name(a, lang): scores.aspects[a] / 100
                                        for a in RADAR_ASPECTS if a in scores.aspects}  # fmt: skip


def comments_markdown(comments: Mapping[str, str], scores: Scores | None,
                      finished: Collection[str] | None = None, stopped: bool = False,
                      lang: str = EN) -> str:  # fmt: skip
    """One section per aspect, the verdict first, filling in as its comment streams.
    `finished`: aspects whose comment is complete (None: all); `stopped`: the unfinished ones
    say so."""
    sections = []
    for aspect in COMMENT_ORDER:
        value = None if scores is None else scores.aspects.get(aspect)
        value = scores.total if aspect == COMPREHENSIVE and scores else value
        heading = f"### {aspect_name(aspect, lang)}" + ("" if value is None else f" · {value:.1f}")
        body = md(comments.get(aspect, ""))
        if finished is not None and aspect not in finished:
            note = text("comment.stopped" if stopped else "comment.waiting", lang)
            body = f"{body} *{note}*" if stopped or not body else f"{body} ▍"
        sections.append(f"{heading}\n\n{body or '*' + text('comment.none', lang) + '*'}")
    return "\n\n".join(sections)


def notice(message: Message | None, lang: str = EN) -> str:
    """A message of ours (its fields escaped: they may hold a file name)."""
    if message is None:
        return ""
    fields = {k: md(v) if isinstance(v, str) else v for k, v in message.fields.items()}
    return Message(message.key, fields).render(lang)


def problems_markdown(problems: Sequence[tuple[str, Message]], lang: str = EN) -> str:
    """Every file that could not be used, one line each."""
    lines = "\n".join(f"- {notice(problem, lang)}" for _, problem in problems)
    return f"**{text('error.skipped', lang)}**\n\n{lines}" if problems else ""
