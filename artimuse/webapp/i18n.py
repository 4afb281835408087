"""How the web app speaks the visitor's language: English or Simplified Chinese, every word from
the catalogue (`texts`).

Static texts (tab names, labels, button captions) are marked `ui("key")` and translated in the
browser by gradio's `gr.I18n` from the browser's language (or the one picked in gradio's own
Settings, in the footer); everything the handlers build in Python (panels, messages, chart
labels, exports) is translated here with `text(key, lang, ...)` for the language the page
reports with each event (`layout.LANG`). The model's prompts, its comments and the JSON keys stay in
English, as the checkpoints and the seed format require (behaviour §9).
"""

from __future__ import annotations

import gradio as gr
from gradio.i18n import I18nData

from artimuse.webapp.texts import (  # noqa: F401 - the catalogue, re-exported
    ASPECT_NAMES,
    EN,
    LANGUAGES,
    SHORT_ASPECT_NAMES,
    TEXTS,
    TUNED_ON,
    ZH,
)


def _index(lang: str | None) -> int:
    return 1 if language(lang) == ZH else 0


def text(key: str, lang: str | None = EN, **fields: object) -> str:
    """The text of `key` in `lang` (English for any language we lack), fields filled in."""
    return TEXTS[key][_index(lang)].format(**fields) if fields else TEXTS[key][_index(lang)]


def aspect_name(aspect: str, lang: str | None = EN, short: bool = False) -> str:
    names = SHORT_ASPECT_NAMES if short else ASPECT_NAMES
    return names[aspect][_index(lang)] if aspect in names else aspect


def tuned_on(name: str, english: str, lang: str | None = EN) -> str:
    """What checkpoint `name` was tuned on, in `lang` (`english`: the hub table's words)."""
    return TUNED_ON[name][_index(lang)] if name in TUNED_ON else english


def band_name(band: str, lang: str | None = EN) -> str:
    return text(f"band.{band}", lang)


def seconds(elapsed: float, lang: str | None = EN) -> str:
    shown = f"{elapsed:.1f}" if elapsed < 10 else f"{elapsed:.0f}"
    return text("seconds", lang, n=shown)


def language(tag: object) -> str:
    """A browser language tag (`zh-CN`, `zh-Hans-SG`, `zh`, `en-US`, ...) -> EN or ZH.

    Every Chinese tag gets Simplified Chinese, the one Chinese we have (gradio does the same
    for the static texts, see `gradio_i18n`)."""
    return ZH if isinstance(tag, str) and tag.strip().lower().startswith("zh") else EN


def ui(key: str) -> I18nData:
    """A static text for a component, translated by the browser (see `gradio_i18n`)."""
    if key not in TEXTS:
        raise KeyError(key)
    return I18nData(key)


def gradio_i18n() -> gr.I18n:
    """The static texts for `launch(i18n=...)`. Chinese is registered under every Chinese tag a
    browser sends, so a zh-TW or zh-HK browser sees the same Chinese as the panels built in
    Python rather than English labels around Chinese panels."""
    english = {key: pair[0] for key, pair in TEXTS.items()}
    chinese = {key: pair[1] for key, pair in TEXTS.items()}
    return gr.I18n(en=english, **{tag: chinese for tag in ("zh", ZH, "zh-TW", "zh-HK")})
