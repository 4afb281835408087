"""The Compare and Batch tabs' handlers without a browser (tiny-a on the CPU)."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

import pytest

from artimuse.prompts import ASPECTS, COMPREHENSIVE, RADAR_ASPECTS
from tests.webapp.helpers import GRADIENT, GRAY, SHAPES, TOKENS, bad_uploads

pytest.importorskip("gradio")

from artimuse.webapp.batch import Batch  # noqa: E402
from artimuse.webapp.common import Shared  # noqa: E402
from artimuse.webapp.compare import Compare  # noqa: E402
from artimuse.webapp.state import ModelHolder  # noqa: E402

NO_PROGRESS = dict(progress=lambda *a, **k: None)


@pytest.fixture(scope="module")
def shared(tiny_model, tmp_path_factory) -> Shared:
    holder = ModelHolder.with_model(tiny_model)
    return Shared(holder, export_dir=tmp_path_factory.mktemp("exports"), batch_size=2)


@pytest.fixture(scope="module")
def api_scores(tiny_model):
    return {path: tiny_model.score(path) for path in (GRADIENT, SHAPES, GRAY)}


def test_compare_marks_the_best_per_aspect(shared, api_scores):
    outputs = list(Compare(shared).run([str(GRADIENT), str(SHAPES), str(GRAY)]))
    radar, table, comments, view = outputs[-1]
    assert len(radar.data) == 3 and len({t.line.color for t in radar.data}) == 3
    best_total = max(s.total for s in api_scores.values())
    assert f'class="best" data-score="{best_total!r}"' in table
    assert table.count('class="best"') == 1 + len(RADAR_ASPECTS)
    assert comments == "" and len(view.entries) == 3


def test_compare_names_every_bad_file_and_asks_for_a_second_picture(shared, tmp_path):
    bad = bad_uploads(tmp_path)
    files = [str(GRADIENT), str(bad["notes.txt"][0]), str(bad["empty.png"][0])]
    *_, (radar, table, _, view) = Compare(shared).run(files)
    text = html.unescape(table)
    assert "notes.txt is not a picture" in text and "empty.png is empty" in text
    assert "Only 1 of your pictures could be read: add another picture" in text
    assert not [t for t in radar.data if t.mode != "lines"] and view.entries == []
    [(radar, table, _, _)] = Compare(shared).run([str(bad["notes.txt"][0]), str(bad["cut.png"][0])])
    text = html.unescape(table)
    assert "notes.txt is not" in text and "cut.png is damaged" in text and "Only 0 of" in text
    *_, (radar, table, _, _) = Compare(shared).run([str(GRAY), str(bad["cut.png"][0]), str(SHAPES)])
    assert len(radar.data) == 2 and "cut.png is damaged" in html.unescape(table)


def test_compare_wants_two_to_four_pictures(shared):
    for count in (0, 1, 5):
        [(_, table, _, _)] = Compare(shared).run([str(GRAY)] * count)
        assert f"Choose 2 to 4 pictures to compare (you chose {count})" in table
    [(_, table, _, _)] = Compare(shared).run([str(GRAY)], lang="zh-CN")
    assert "请选择 2 到 4 张图片" in table


def test_compare_redraws_in_chinese(shared):
    *_, (_, _, _, view) = Compare(shared).run([str(GRAY), str(SHAPES)])
    radar, table, _ = Compare(shared).redraw("zh-CN", view)
    assert "总分" in table and "构图与设计" in table and "本行最高" in table
    assert radar.data[0].theta[0].startswith("构图")


def test_batch_ranks_scores_and_downloads(shared, tmp_path, api_scores):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a picture")
    files = [str(GRAY), str(bad), str(SHAPES), str(GRADIENT)]
    outputs = list(Batch(shared).run(files, False, TOKENS, **NO_PROGRESS))
    table, csv_path, json_path, view = outputs[-1]
    assert "3 scored" in table and "1 skipped" in table and "notes.txt is not a picture" in table
    assert "am-scroll" in table and "Scroll sideways" in table  # the hint beside the wide table
    records = json.loads(Path(json_path).read_text(encoding="utf-8"))
    totals = [r["score"] for r in records if r["score"] is not None]
    assert totals == sorted(totals, reverse=True)
    single = {path.name: scores.total for path, scores in api_scores.items()}
    for record in records[:3]:  # batched forwards agree with single ones to float noise
        assert record["score"] == pytest.approx(single[record["image"]], abs=1e-3)
    assert records[-1]["error"] and records[-1]["image"] == "notes.txt"
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["image"] for r in rows] == [r["image"] for r in records]
    assert set(RADAR_ASPECTS) <= set(rows[0])
    chinese = Batch(shared).redraw("zh-CN", view)
    assert "已评分 3" in chinese and "跳过 1" in chinese and "构图" in chinese


def test_batch_downloads_before_scoring_say_so(shared):
    tab = Batch(shared)
    assert "nothing to download yet" in tab.download(None)
    assert "还没有可下载的结果" in tab.download(None, "zh-CN")
    [(table, csv_path, json_path, view)] = tab.run([], **NO_PROGRESS)
    assert "Choose some pictures first" in table and csv_path is None and json_path is None
    assert "nothing to download yet" in tab.download(view)
    *_, (_, _, _, scored) = tab.run([str(GRAY)], **NO_PROGRESS)
    assert tab.download(scored) == ""


def test_comments_are_opt_in_for_compare_and_batch(shared, tiny_model):
    *_, (radar, table, cards, _) = Compare(shared).run([str(GRAY), str(SHAPES)], True, TOKENS)
    expected = tiny_model.comment(GRAY, [COMPREHENSIVE], max_new_tokens=TOKENS)[COMPREHENSIVE]
    assert cards.count("am-card done") == 2 and html.escape(expected) in cards
    outputs = list(Batch(shared).run([str(GRAY)], True, TOKENS, **NO_PROGRESS))
    [record] = json.loads(Path(outputs[-1][2]).read_text(encoding="utf-8"))
    assert list(record["comments"]) == list(ASPECTS)
