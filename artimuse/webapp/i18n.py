"""The visitor's language: English or Simplified Chinese, every word from the catalogue.

Static texts are `ui("key")`, translated in the browser by `gr.I18n`; what handlers build is
`text(key, lang, ...)` in the language each event reports (`common.LANG`), or a `Message` (key
and fields) rendered when shown; an `ImageError` becomes one by its `kind`, never its English.
Prompts, comments and JSON keys stay English, as the checkpoints and formats need (behaviour §9).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
from gradio.i18n import I18nData

from artimuse.errors import ImageError

EN, ZH = "en", "zh-CN"
# The catalogue is data, not code: one flat JSON file per language (key -> text, `{name}`
# fields filled in by `text`), the form translation tools read and `gr.I18n` takes, so a
# translator edits one file without touching Python. Aspect names are `aspect.<the prompts'
# name>` (`aspect.short.` on the radar), what a released checkpoint was tuned on
# `tuned_on.<name>`. Read once, at import.
LOCALES = Path(__file__).resolve().parent / "locales"
CATALOGUE = {tag: json.loads((LOCALES / f"{tag}.json").read_text("utf-8")) for tag in (EN, ZH)}


def language(tag: object) -> str:
    """A browser language tag (`zh-CN`, `zh-Hans-SG`, `en-US`, ...) -> EN or ZH: every Chinese
    tag gets the one Chinese we have (as `gradio_i18n` does for the static texts)."""
    return ZH if isinstance(tag, str) and tag.strip().lower().startswith("zh") else EN


def text(key: str, lang: str | None = EN, **fields: object) -> str:
    """The text of `key` in `lang` (English for any language we lack), fields filled in."""
    template = CATALOGUE[language(lang)][key]
    return template.format(**fields) if fields else template


def aspect_name(aspect: str, lang: str | None = EN, short: bool = False) -> str:
    return CATALOGUE[language(lang)].get(f"aspect.{'short.' * short}{aspect}", aspect)


def tuned_on(name: str, english: str, lang: str | None = EN) -> str:
    """What checkpoint `name` was tuned on, in `lang` (`english`: the hub table's words)."""
    return CATALOGUE[language(lang)].get(f"tuned_on.{name}", english)


def band_name(band: str, lang: str | None = EN) -> str:
    return text(f"band.{band}", lang)


def ui(key: str) -> I18nData:
    """A static text for a component, translated by the browser (see `gradio_i18n`)."""
    if key not in CATALOGUE[EN]:
        raise KeyError(key)
    return I18nData(key)


def gradio_i18n() -> gr.I18n:
    """The static texts for `launch(i18n=...)`, the Chinese under every Chinese tag a browser
    sends: a zh-TW browser must not see English labels around Chinese panels."""
    chinese = {tag: CATALOGUE[ZH] for tag in ("zh", ZH, "zh-TW", "zh-HK")}
    return gr.I18n(en=CATALOGUE[EN], **chinese)


@dataclass(frozen=True)
class Message:
    """A catalogue key and its fields; a field named `elapsed` is seconds, shown as such."""

    key: str
    fields: dict = field(default_factory=dict)

    def render(self, lang: str | None) -> str:
        fields = dict(self.fields)
        if (n := fields.get("elapsed")) is not None:
            fields["elapsed"] = text("seconds", lang, n=f"{n:.1f}" if n < 10 else f"{n:.0f}")
        return text(self.key, lang, **fields)


def image_problem(error: ImageError, name: str) -> Message:
    """The catalogue's sentence for what is wrong with the upload `name`, by the error's kind
    (with the numbers it quotes: frames, pixels, limit, side, mode)."""
    key = f"error.{error.kind}"
    details = {k: f"{v:,}" if isinstance(v, int) else str(v) for k, v in error.details.items()}
    try:
        text(key, EN, name=name, **details)
    except (KeyError, IndexError):  # a kind, or a detail its sentence needs, we have no words for
        return Message("error.other", {"name": name})
    return Message(key, {**details, "name": name})
