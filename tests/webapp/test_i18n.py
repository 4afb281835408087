"""The web app's catalogue (`locales/*.json`): every key in both languages with the same
fields, every key the code uses present, every ImageError kind has its sentence, the files go
into the package, and the page's language tags."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import tomllib

from artimuse.prompts import ASPECTS
from artimuse.results import SCORE_BANDS

pytest.importorskip("gradio")

from artimuse.webapp import i18n  # noqa: E402
from artimuse.webapp.i18n import EN, ZH, language, text  # noqa: E402

WEBAPP = Path(i18n.__file__).parent
HAN = re.compile(r"[\u4e00-\u9fff]")
SAME_IN_BOTH = {"score.out_of", "batch.spread"}  # symbols


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_locale_files_have_the_same_keys():
    english, chinese = set(i18n.CATALOGUE[EN]), set(i18n.CATALOGUE[ZH])
    assert english == chinese, {"only in en": english - chinese, "only in zh-CN": chinese - english}
    assert sorted(p.name for p in (WEBAPP / "locales").glob("*.json")) == ["en.json", "zh-CN.json"]


def test_the_locale_files_are_package_data():
    setuptools = tomllib.loads((WEBAPP.parents[1] / "pyproject.toml").read_text())["tool"]
    assert "locales/*.json" in setuptools["setuptools"]["package-data"]["artimuse.webapp"]


@pytest.mark.parametrize("key", sorted(i18n.CATALOGUE[EN].keys() | i18n.CATALOGUE[ZH].keys()))
def test_every_text_has_both_languages_with_the_same_fields(key):
    english, chinese = i18n.CATALOGUE[EN].get(key, ""), i18n.CATALOGUE[ZH].get(key, "")
    assert english.strip() and chinese.strip()
    assert fields(english) == fields(chinese)
    if key not in SAME_IN_BOTH:
        assert HAN.search(chinese), f"{key}: no Chinese in {chinese!r}"
        assert english != chinese


def test_every_aspect_and_band_has_both_names():
    for short in (False, True):
        for aspect in ASPECTS:
            assert f"aspect.{'short.' * short}{aspect}" in i18n.CATALOGUE[EN]
            assert HAN.search(i18n.aspect_name(aspect, ZH, short)), aspect
    assert i18n.aspect_name(ASPECTS[0]) == ASPECTS[0]  # English shows the prompts' names
    for _, band in SCORE_BANDS:
        assert HAN.search(i18n.band_name(band, ZH)) and i18n.band_name(band, EN) == band


def test_every_key_the_code_uses_is_in_the_catalogue():
    used = set()
    for module in WEBAPP.glob("*.py"):
        source = module.read_text(encoding="utf-8")
        used |= set(re.findall(r'\b(?:text|ui|Message)\(\s*"([a-z_]+\.[a-z_.]+)"', source))
    assert used and used <= set(i18n.CATALOGUE[EN]), used - set(i18n.CATALOGUE[EN])


def test_the_browser_language_picks_the_catalogue():
    for tag in ("zh-CN", "zh", "zh-Hans-SG", "ZH-tw"):
        assert language(tag) == ZH
    for tag in ("en-US", "fr-FR", "", None):
        assert language(tag) == EN
    assert (
        text("progress.comments", "zh-CN", done=3, total=8, elapsed="5 秒") == "点评：3 / 8 · 5 秒"
    )
    assert (
        text("progress.comments", "de", done=3, total=8, elapsed="5 s") == "Comments: 3 of 8 · 5 s"
    )


def test_gradio_gets_every_static_text_for_every_chinese_locale():
    translations = i18n.gradio_i18n().translations_dict
    assert translations["en"]["tab.assess"] == "Assess"
    for tag in ("zh", "zh-CN", "zh-TW", "zh-HK"):
        assert set(translations[tag]) == set(i18n.CATALOGUE[EN])
        assert translations[tag]["tab.assess"] == "评估"
    with pytest.raises(KeyError):
        i18n.ui("no.such.key")


def test_every_image_error_kind_has_its_sentence():
    from artimuse.errors import IMAGE_ERROR_KINDS

    inputs_kinds = set(IMAGE_ERROR_KINDS) - {"wrong_size", "failed"}  # no upload gives these
    kinds = inputs_kinds | {"too_large_file", "other"}  # the page's own refusals
    assert {f"error.{kind}" for kind in kinds} <= set(i18n.CATALOGUE[EN])
