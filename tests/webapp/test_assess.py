"""The Assess tab's handlers without a browser (tiny-a on the CPU): scores first and equal to
the API's, streamed comments with readable progress, Stop, bad files, exports, languages."""

from __future__ import annotations

import html
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from artimuse.prompts import ASPECTS, COMPREHENSIVE, RADAR_ASPECTS
from artimuse.serialization import assessment_json
from tests.webapp.helpers import (
    GRADIENT,
    GRAY,
    SHAPES,
    TOKENS,
    bad_uploads,
    broken_exif_png,
    exact_aspects,
    exact_total,
)

gr = pytest.importorskip("gradio")

from artimuse.webapp import assess as assess_module  # noqa: E402
from artimuse.webapp.assess import Assess  # noqa: E402
from artimuse.webapp.common import Shared  # noqa: E402
from artimuse.webapp.state import ModelHolder  # noqa: E402


@pytest.fixture(scope="module")
def shared(tiny_model, tmp_path_factory) -> Shared:
    holder = ModelHolder.with_model(tiny_model)
    return Shared(holder, export_dir=tmp_path_factory.mktemp("exports"), batch_size=2)


@pytest.fixture(scope="module")
def tab(shared) -> Assess:
    return Assess(shared)


@pytest.fixture(scope="module")
def api_scores(tiny_model):
    return {path: tiny_model.score(path) for path in (GRADIENT, SHAPES, GRAY)}


@pytest.fixture(scope="module")
def streamed(tab) -> list[tuple]:
    """Every page update of one streamed assessment of the gradient image."""
    return list(tab.run(str(GRADIENT), TOKENS))


def test_scores_arrive_before_any_comment_and_equal_the_api(streamed, api_scores):
    first_scored = next(i for i, out in enumerate(streamed) if "data-total" in str(out[0]))
    assert all("am-card writing" not in str(out[3]) for out in streamed[: first_scored + 1])
    assert any("am-card writing" in str(out[3]) for out in streamed[first_scored + 1 :])

    card, radar, distribution, *_ = streamed[first_scored]
    expected = api_scores[GRADIENT]
    assert exact_total(card) == expected.total
    assert exact_aspects(card) == expected.aspects
    assert f"{expected.total:.1f}" in card and expected.band in card
    assert list(radar.data[0].r[:-1]) == [expected.aspects[a] for a in RADAR_ASPECTS]
    assert distribution.data[0].y == tuple(100 * p for p in expected.distribution)


def test_final_result_is_the_api_assessment(streamed, tiny_model):
    result = streamed[-1][4]
    assert result["complete"] and result["image"] == GRADIENT.name
    expected = tiny_model.assess(GRADIENT, max_new_tokens=TOKENS)
    assert result["assessment"] == assessment_json(expected)
    cards = streamed[-1][3]
    assert cards.count("am-card done") == len(ASPECTS) and "am-card writing" not in cards
    assert cards.index(COMPREHENSIVE) < cards.index(html.escape(RADAR_ASPECTS[0]))  # verdict first


def test_progress_counts_comments_and_says_how_long(streamed):
    lines = [str(out[5]) for out in streamed]
    assert "Looking at the picture" in lines[0] and "busy" in lines[0]
    assert any("Scores ready in" in line for line in lines)
    counts = [line for line in lines if "Comments: " in line]
    assert counts and all(" of 8 · " in line for line in counts)
    assert "Done in " in lines[-1] and " s." in lines[-1] and "busy" not in lines[-1]
    buttons = [out[6] for out in streamed]
    assert buttons[0].value == "Assessing…" and "am-busy" in buttons[0].elem_classes
    assert buttons[-1].value == "Assess" and not buttons[-1].elem_classes


def test_repeated_image_comes_from_the_cache(shared, tab, streamed):
    hits = shared.cache.hits
    again = list(tab.run({"path": str(GRADIENT), "orig_name": "again.jpg"}, TOKENS))
    assert shared.cache.hits == hits + 1
    assert again[-1][4]["assessment"] == streamed[-1][4]["assessment"]
    assert len(again) == 2  # "looking at the picture", then the cached result
    assert "earlier run" in str(again[-1][5])


def test_a_bad_upload_is_explained_once_and_leaves_the_box(tab, tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(gr, "Warning", lambda *a, **k: warnings.append(a))  # no second toast
    for name, (path, words) in bad_uploads(tmp_path).items():
        outputs = list(tab.run({"path": str(path), "orig_name": name}, TOKENS))
        [(card, radar, _, cards, result, progress, _, picture)] = outputs
        assert "am-error" in card and f"{name} {words}" in html.unescape(card)
        assert picture is None  # the box is emptied (no broken-image icon)
        assert cards == "" and "assessment" not in result and "data-key" not in progress
        assert not [t for t in radar.data if t.mode != "lines"]  # the previous radar is gone
    assert warnings == []
    monkeypatch.setenv("ARTIMUSE_MAX_PIXELS", "1000")  # the pixel limit, as a bomb hits it
    [(card, *_)] = list(tab.run(str(GRAY), TOKENS))
    assert "is too large: 4,096 pixels, the limit is 1,000" in html.unescape(card)
    monkeypatch.delenv("ARTIMUSE_MAX_PIXELS")
    good = list(tab.run(str(GRADIENT), TOKENS))
    assert good[-1][4]["complete"] and "am-error" not in good[-1][0]  # the stale message is gone


def test_bad_uploads_are_explained_in_chinese(tab, tmp_path):
    expected = {"notes.txt": "不是可以读取的图片格式", "empty.png": "是空文件", "cut.png": "已损坏"}
    expected["moving.gif"] = "是动图（2 帧）"
    for name, (path, _) in bad_uploads(tmp_path).items():
        [(card, *_)] = list(tab.run({"path": str(path), "orig_name": name}, TOKENS, lang="zh-CN"))
        assert "无法评估这个文件" in card and f"{name} {expected[name]}" in html.unescape(card)


def test_a_photo_with_a_corrupt_orientation_tag_is_assessed_and_said(tab, tmp_path):
    picture = broken_exif_png(tmp_path / "sideways.png")
    outputs = list(tab.run(str(picture), TOKENS))
    card, *_, result = outputs[-1][:5]
    assert result["complete"] and "orientation tag (EXIF) could not be read" in card
    assert "无法读取这张照片的方向信息" in tab.redraw("zh-CN", result)[0]


def test_more_bad_files_in_our_words(tmp_path):
    from artimuse.errors import ImageError
    from artimuse.webapp.messages import image_problem

    cases = {
        "x.png has pixels of mode CMYK;16, which we cannot read": "error.mode",
        "x.png is too long: 9x9000, the longest side may be at most 6,500 pixels": "error.too_long",
        "x.png is corrupt: KeyError: 3": "error.corrupt",
        "x.png does something new": "error.other",
    }
    for message, key in cases.items():
        assert image_problem(ImageError(message, kind="corrupt"), "x.png").key == key


def test_no_image_shows_the_invitation(tab):
    [(card, radar, *_)] = list(tab.run(None))
    assert "am-empty" in card and not [t for t in radar.data if t.mode != "lines"]


def test_stop_ends_the_stream_and_keeps_what_was_written(tab, monkeypatch):
    # every delta an update: on a fast machine the throttle would let the tiny model finish
    monkeypatch.setattr(assess_module, "STREAM_INTERVAL_S", 0.0)
    request = SimpleNamespace(session_hash="s1")
    run = tab.run(str(SHAPES), 40, tab.new_run(request), request=request)
    outputs = [next(run) for _ in range(4)]  # looking, scores, and two streamed updates
    written = outputs[-1][4]["assessment"]["Aesthetic Attributes"]
    assert "am-card writing" in outputs[-1][3] and any(written.values())
    tab.new_run(request)  # what Stop (and a new picture) does, outside the queue
    [(card, radar, distribution, cards, result, progress, button, _)] = list(run)
    assert "am-card writing" not in cards and "am-card stopped" in cards and "… stopped" in cards
    assert not result["complete"] and result["stopped"]
    assert "Stopped after" in progress and "comments finished" in progress
    assert button.value == "Assess"
    kept = result["assessment"]["Aesthetic Attributes"]
    assert all(kept[aspect].startswith(text) for aspect, text in written.items())


def test_stop_before_the_scores_goes_back_to_the_invitation(tab):
    request = SimpleNamespace(session_hash="s4")
    run = tab.run(str(SHAPES), 40, tab.new_run(request), request=request)
    assert "Looking at the picture" in next(run)[0]
    tab.new_run(request)  # Stop while the model had not answered yet
    [(card, *_, progress, button, _)] = list(run)
    assert "Drop a picture" in card and "data-key" not in progress and button.value == "Assess"


def test_a_job_stopped_while_queued_does_not_run(tab):
    request = SimpleNamespace(session_hash="s2")
    stale, queued, button = tab.start("en", request)  # the click: in line, button busy
    assert "In line for the model" in queued and button.value == "Assessing…"
    _, line, button = tab.stop("en", request)  # Stop before the job left the queue
    assert "In line" not in line and button.value == "Assess" and not button.elem_classes
    assert list(tab.run(str(SHAPES), 40, stale, request=request)) == []


def test_a_stream_follows_a_language_switch(tab, shared, monkeypatch):
    monkeypatch.setattr(assess_module, "STREAM_INTERVAL_S", 0.0)
    request = SimpleNamespace(session_hash="s3")
    run = tab.run(str(SHAPES), 40, tab.new_run(request), "en", request)
    assert "Looking at the picture" in next(run)[5]
    shared.set_language("zh-CN", request)  # the switch, while the stream runs
    card, *_, progress, button, _ = next(run)  # the scores: drawn in Chinese now
    assert "构图与设计" in card and "评分用时" in progress and button.value == "评估中…"
    run.close()


def test_the_panels_redraw_in_the_other_language(streamed, tab):
    result = streamed[-1][4]
    card, radar, distribution, cards, again, progress, button = tab.redraw("zh-CN", result)
    assert "构图与设计" in card and "模型的把握" in card and again == result
    assert cards.count("am-card done") == len(ASPECTS) and "综合评价" in cards
    assert "完成，用时" in progress and button.value == "评估"
    assert radar.data[0].theta[0] == "构图" and distribution.layout.xaxis.title.text == "分数"
    english = tab.redraw("en", result)
    assert exact_total(english[0]) == exact_total(card)  # the same numbers, other words


# ---- Export --------------------------------------------------------------------------------


def test_exports_seed_json_with_scores_and_markdown(tab, streamed, tiny_model):
    result = streamed[-1][4]
    file, note = tab.export("json", result)
    path = Path(file.value["path"])
    assert path.name == f"{GRADIENT.stem}_{tiny_model.name}_eval.json" and path.name in note
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["Aesthetic Score"] == result["assessment"]["Aesthetic Score"]
    assert list(data["Aesthetic Attributes"]) == list(ASPECTS)
    assert set(data["Aspect Scores"]) == set(RADAR_ASPECTS)
    assert len(data["Score Distribution"]) == 101
    markdown = Path(tab.export("md", result)[0].value["path"]).read_text(encoding="utf-8")
    assert f"{data['Aesthetic Score']:.1f} / 100" in markdown and f"## {COMPREHENSIVE}" in markdown
    chinese = Path(tab.export("md", result, "zh-CN")[0].value["path"]).read_text(encoding="utf-8")
    assert "# ArtiMuse 对 " in chinese and "## 综合评价" in chinese and "| 方面 | 分数 |" in chinese
    comment = data["Aesthetic Attributes"][COMPREHENSIVE]
    assert comment in chinese  # the model's words stay as written


def test_export_before_any_assessment_says_so_on_the_page(tab):
    for kind in ("json", "md"):
        file, note = tab.export(kind, None)
        assert file.visible is False and "nothing to export yet" in note and "am-notice" in note
    assert "还没有可导出的结果" in tab.export("json", {"image": "x"}, "zh-CN")[1]
