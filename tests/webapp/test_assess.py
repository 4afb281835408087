"""The Assess tab's handler without a browser (tiny-a on the CPU): scores first and equal to the
API's, streamed comments with readable progress, bad files in our words, the per-session
cache, a newer picture superseding the running one, the exports written once."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from artimuse.prompts import ASPECTS, COMPREHENSIVE, RADAR_ASPECTS
from artimuse.serialization import assessment_json
from tests.helpers import DATA
from tests.webapp.helpers import (
    GRADIENT,
    GRAY,
    SHAPES,
    bad_uploads,
    broken_exif_png,
    visitor,
)

gr = pytest.importorskip("gradio")

from artimuse.webapp.assess import Assess  # noqa: E402
from artimuse.webapp.common import Shared  # noqa: E402
from artimuse.webapp.jobs import Admission  # noqa: E402
from artimuse.webapp.state import ModelHolder  # noqa: E402

SCORE, ASPECT_LABEL, RADAR, DISTRIBUTION, COMMENTS, PROGRESS, JSON_FILE, MD_FILE, PICTURE = range(9)
SHOWN = 9  # the page's gr.State: the result on the page
ROOTS = (DATA, Path(tempfile.gettempdir()))  # where the tests' "uploads" live


def make_shared(model, **options) -> Shared:
    return Shared(ModelHolder.with_model(model), upload_roots=ROOTS, **options)


@pytest.fixture(scope="module")
def shared(tiny_model) -> Shared:
    return make_shared(tiny_model)


@pytest.fixture(scope="module")
def tab(shared) -> Assess:
    return Assess(shared)


@pytest.fixture(scope="module")
def streamed(tab) -> list[tuple]:
    """Every page update of one streamed assessment of the gradient image."""
    return list(tab.run(str(GRADIENT), None, None, "en", visitor()))


def test_scores_arrive_before_any_comment_and_equal_the_api(streamed, tiny_model):
    first = next(i for i, out in enumerate(streamed) if out[ASPECT_LABEL] is not None)
    assert all(out[COMMENTS] == "" for out in streamed[:first])
    expected = tiny_model.score(GRADIENT)
    card, label, radar, distribution = streamed[first][:4]
    assert card.startswith(f"## {expected.total:.1f} / 100")
    assert label == {
        name: expected.aspects[a] / 100
        for a, name in zip(RADAR_ASPECTS, _english_names(), strict=True)
    }
    assert list(radar.data[0].r[:-1]) == [expected.aspects[a] for a in RADAR_ASPECTS]
    assert distribution.data[0].y == tuple(100 * p for p in expected.distribution)


def _english_names() -> list[str]:
    from artimuse.webapp.i18n import aspect_name

    return [aspect_name(a) for a in RADAR_ASPECTS]


def test_comments_stream_and_end_as_the_api_assessment(streamed, tiny_model):
    expected = tiny_model.assess(GRADIENT)  # the default length: the cap (12)
    final = streamed[-1][COMMENTS]
    assert final.index("Comprehensive Evaluation") < final.index("Composition & Design")
    assert "waiting for the model" not in final and "▍" not in final
    assert any("▍" in out[COMMENTS] or "waiting" in out[COMMENTS] for out in streamed[1:-1])
    exported = json.loads(Path(streamed[-1][JSON_FILE]["value"]).read_text())
    assert exported == assessment_json(expected)
    assert streamed[-1][JSON_FILE]["interactive"] is True
    assert all(out[JSON_FILE]["value"] is None for out in streamed[:-1])  # written once, at the end
    markdown = Path(streamed[-1][MD_FILE]["value"]).read_text()
    assert markdown.startswith(f"# ArtiMuse assessment of {GRADIENT.name}")
    assert expected.comments[COMPREHENSIVE] in markdown
    assert (
        Path(streamed[-1][JSON_FILE]["value"]).name
        == f"{GRADIENT.stem}_{tiny_model.name}_eval.json"
    )


def test_progress_counts_comments_and_says_how_long(streamed):
    lines = [out[PROGRESS] for out in streamed]
    assert lines[0] == "Looking at the picture…"
    assert any(line.startswith("Scores ready in") for line in lines)
    assert any(line.startswith("Comments: ") for line in lines)
    assert lines[-1].startswith("Done in ")


def test_the_cache_answers_only_the_same_session(tab):
    me = visitor()
    first = list(tab.run(str(SHAPES), None, None, "en", me))
    again = list(tab.run(str(SHAPES), None, None, "en", me))
    assert len(again) == 1 and "earlier run" in again[0][PROGRESS]
    assert again[0][COMMENTS] == first[-1][COMMENTS]
    stranger = list(tab.run(str(SHAPES), None, None, "en", visitor()))  # another visitor: computed
    assert len(stranger) > 1 and "earlier run" not in stranger[-1][PROGRESS]


def test_assess_for_the_result_on_the_page_says_it_is_shown(tab):
    me = visitor()
    *_, done = tab.run(str(GRAY), None, None, "en", me)
    assert done[SHOWN] is not None  # the page now shows this picture's result
    (again,) = list(tab.run(str(GRAY), None, done[SHOWN], "en", me))
    assert again[PROGRESS] == "This picture's assessment is shown below."
    assert again[SHOWN] == done[SHOWN]
    assert all(value == gr.skip() for i, value in enumerate(again) if i not in (PROGRESS, SHOWN))
    (zh,) = list(tab.run(str(GRAY), None, done[SHOWN], "zh-CN", me))
    assert zh[PROGRESS] == "这张图片的评估结果显示在下方。"
    (other,) = list(tab.run(str(GRAY), None, ("another", "result"), "en", me))  # cached, not shown
    assert "earlier run" in other[PROGRESS] and other[SHOWN] == done[SHOWN]


def test_a_bad_upload_is_explained_once_and_leaves_the_box(tab, tmp_path):
    for name, (path, words) in bad_uploads(tmp_path).items():
        (only,) = list(tab.run(str(path), None, None, "en", visitor()))
        assert words in only[SCORE] and name.replace(".", "\\.") in only[SCORE]
        assert only[PICTURE] is None and only[ASPECT_LABEL] is None


def test_bad_uploads_are_explained_in_chinese(tab, tmp_path):
    path, _ = bad_uploads(tmp_path)["empty.png"]
    (only,) = list(tab.run(str(path), None, None, "zh-CN", visitor()))
    assert "是空文件（0 字节）" in only[SCORE]


def test_only_uploads_of_the_page_are_read(tiny_model):
    tab = Assess(Shared(ModelHolder.with_model(tiny_model)))  # no extra roots: gradio's only
    (only,) = list(tab.run({"path": str(GRAY)}, None, None, "en", visitor()))
    assert "no longer on the server" in only[SCORE]


def test_a_file_over_the_upload_limit_is_refused_before_decoding(tiny_model):
    from artimuse.config import UploadLimits

    tab = Assess(make_shared(tiny_model, limits=UploadLimits(max_bytes=100)))
    (only,) = list(tab.run(str(GRADIENT), None, None, "en", visitor()))
    assert "too large a file for this server" in only[SCORE]


def test_a_photo_with_a_corrupt_orientation_tag_is_assessed_and_said(tab, tmp_path):
    path = broken_exif_png(tmp_path / "broken-exif.png")
    *_, last = tab.run(str(path), None, None, "en", visitor())
    assert "orientation tag (EXIF) could not be read" in last[SCORE]
    assert last[PROGRESS].startswith("Done in")


def test_no_image_shows_the_invitation_and_asks_for_one(tab):
    (only,) = list(tab.run(None, None, None, "en", visitor()))
    assert "Drop a picture" in only[SCORE] and only[SHOWN] is None
    assert only[PROGRESS] == (
        "Add a picture first: drop one in the box above, paste it, or choose an example."
    )
    (zh,) = list(tab.run(None, None, None, "zh-CN", visitor()))
    assert zh[PROGRESS] == "请先添加图片：拖入上方的框、粘贴，或选择一个示例。"


@pytest.mark.parametrize("length", [3000, -1, "lots", 12.5, [12], True])
def test_only_the_offered_comment_lengths_run(tab, length):
    (only,) = list(tab.run(str(GRAY), length, None, "en", visitor()))
    assert "not on offer" in only[SCORE] and only[ASPECT_LABEL] is None


def test_a_newer_picture_stops_the_running_one_keeping_what_was_written(tab, tiny_model):
    me = visitor()
    running = tab.run(str(GRADIENT), None, None, "en", me)
    while next(running)[ASPECT_LABEL] is None:  # until the scores are in
        pass
    newer = tab.run(str(GRAY), None, None, "en", me)  # the same session asks again
    assert next(newer)[PROGRESS] == "In line for the model: 1 ahead…"
    (stopped,) = list(running)  # the older one sees it was superseded at its next step
    newer = list(newer)
    assert stopped[PROGRESS].startswith("Stopped after")
    assert "stopped" in stopped[COMMENTS] and stopped[JSON_FILE]["value"] is None
    assert newer[-1][PROGRESS].startswith("Done in")


def test_the_time_limit_stops_a_run(tiny_model):
    tab = Assess(make_shared(tiny_model, admission=Admission(4, time_limit=0)))
    *_, last = tab.run(str(GRAY), None, None, "en", visitor())
    assert last[PROGRESS].startswith("Stopped at the time limit")


def test_a_session_cannot_queue_more_than_its_share(tab, shared):
    me = visitor()
    held = [tab.run(str(GRAY), None, None, "en", me) for _ in range(shared.admission.per_session)]
    with shared.holder.lock:  # the model is busy: every admitted job waits its turn
        for job in held:
            next(job)
        (refused,) = list(tab.run(str(SHAPES), None, None, "en", me))
    assert "You already have 3 jobs" in refused[SCORE]
    for job in held:
        job.close()
    assert len(shared.admission) == 0  # a closed (cancelled) job gives its place back
    assert len(list(tab.run(str(SHAPES), None, None, "en", me))) >= 1


def test_every_aspect_has_a_section_when_done(streamed):
    from artimuse.webapp.i18n import aspect_name

    final = streamed[-1][COMMENTS]
    assert all(f"### {aspect_name(a)}" in final for a in ASPECTS)
