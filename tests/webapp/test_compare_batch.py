"""The Compare and Batch tabs' handlers without a browser (tiny-a on the CPU): component
values (the Dataframe's rows, the gallery, the Markdown notes) and the files written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from artimuse.prompts import ASPECTS, COMPREHENSIVE, RADAR_ASPECTS
from tests.webapp.helpers import GRADIENT, GRAY, SHAPES, bad_uploads, visitor

pytest.importorskip("gradio")

from artimuse.config import UploadLimits  # noqa: E402
from artimuse.webapp.batch import Batch  # noqa: E402
from artimuse.webapp.compare import Compare  # noqa: E402
from tests.webapp.test_assess import make_shared  # noqa: E402

RADAR, TABLE, GALLERY, NOTES, VERDICTS = range(5)
B_TABLE, B_SUMMARY, B_CSV, B_JSON = range(4)


@pytest.fixture(scope="module")
def shared(tiny_model):
    return make_shared(tiny_model, batch_size=2, limits=UploadLimits(max_files=5))


@pytest.fixture(scope="module")
def api_scores(tiny_model):
    return {path: tiny_model.score(path) for path in (GRADIENT, SHAPES, GRAY)}


def test_compare_stars_the_best_of_each_row(shared, api_scores):
    *_, last = Compare(shared).run([str(GRAY), str(SHAPES)], False, None, "en", visitor())
    table = last[TABLE]
    assert table["headers"] == ["Aspect", GRAY.name, SHAPES.name]
    total = table["data"][0]
    assert total[0] == "Total"
    values = [api_scores[GRAY].total, api_scores[SHAPES].total]
    best = max(values)
    assert total[1:] == [f"★ {v:.1f}" if v == best else f"{v:.1f}" for v in values]
    assert [row[0] for row in table["data"][1:]] == [name for name in _aspect_names()]
    assert [name for _, name in last[GALLERY]] == [GRAY.name, SHAPES.name]
    assert [trace.name for trace in last[RADAR].data] == [GRAY.name, SHAPES.name]


def _aspect_names():
    from artimuse.webapp.i18n import aspect_name

    return [aspect_name(a) for a in RADAR_ASPECTS]


def test_compare_names_every_bad_file_and_asks_for_a_second_picture(shared, tmp_path):
    bad = bad_uploads(tmp_path)
    files = [str(GRAY), str(bad["empty.png"][0]), str(bad["notes.txt"][0])]
    (only,) = list(Compare(shared).run(files, False, None, "en", visitor()))
    assert "empty\\.png is empty" in only[NOTES] and "notes\\.txt is not a picture" in only[NOTES]
    assert "add another picture" in only[NOTES] and only[TABLE]["data"][0][1:] == []


@pytest.mark.parametrize("count", [0, 1, 5, 40])
def test_compare_wants_two_to_four_pictures(shared, count):
    (only,) = list(Compare(shared).run([str(GRAY)] * count, False, None, "en", visitor()))
    assert f"you chose {count}" in only[NOTES]


def test_compare_speaks_chinese(shared):
    *_, last = Compare(shared).run([str(GRAY), str(SHAPES)], False, None, "zh-CN", visitor())
    assert last[TABLE]["data"][0][0] == "总分" and last[TABLE]["headers"][0] == "方面"


def test_batch_ranks_and_writes_its_files_once_at_the_end(shared, tmp_path, api_scores):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a picture")
    formula = tmp_path / "=1+1.png"
    formula.write_bytes(GRAY.read_bytes())
    files = [str(GRAY), str(bad), str(SHAPES), str(GRADIENT), str(formula)]
    outputs = list(Batch(shared).run(files, False, None, "en", visitor()))
    assert all(out[B_CSV]["value"] is None for out in outputs[:-1])  # no file per update
    table, summary, csv_file, json_file = outputs[-1]
    assert "5 of 5 files · 4 scored" in summary and "notes\\.txt is not a picture" in summary
    totals = [row[2] for row in table["data"]]
    assert totals == sorted(totals, reverse=True) and [r[0] for r in table["data"]] == [1, 2, 3, 4]
    records = json.loads(Path(json_file["value"]).read_text(encoding="utf-8"))
    single = {path.name: scores.total for path, scores in api_scores.items()}
    for record in records:
        if record["image"] in single:  # batched forwards agree with single ones to float noise
            assert record["score"] == pytest.approx(single[record["image"]], abs=1e-3)
    assert records[-1]["error"] and records[-1]["image"] == "notes.txt"
    with open(csv_file["value"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert set(RADAR_ASPECTS) <= set(rows[0])
    assert "'=1+1.png" in [r["image"] for r in rows]  # a spreadsheet shows it, never runs it


def test_batch_takes_at_most_the_shared_file_limit(shared):
    (only,) = list(Batch(shared).run([str(GRAY)] * 6, False, None, "en", visitor()))
    assert "at most 5 in one batch" in only[B_SUMMARY] and only[B_TABLE]["data"] == []
    (nothing,) = list(Batch(shared).run([], False, None, "en", visitor()))
    assert "Choose some pictures first" in nothing[B_SUMMARY]
    assert nothing[B_CSV]["interactive"] is False


def test_comments_are_opt_in_for_compare_and_batch(shared, tiny_model):
    *_, last = Compare(shared).run([str(GRAY), str(SHAPES)], True, 12, "en", visitor())
    expected = tiny_model.comment(GRAY, [COMPREHENSIVE], max_new_tokens=12)[COMPREHENSIVE]
    assert last[VERDICTS].count("### ") == 2
    from artimuse.webapp.views import md

    assert md(expected) in last[VERDICTS]
    outputs = list(Batch(shared).run([str(GRAY)], True, 12, "en", visitor()))
    [record] = json.loads(Path(outputs[-1][B_JSON]["value"]).read_text(encoding="utf-8"))
    assert list(record["comments"]) == list(ASPECTS)
