"""Dataset reading, the resumable progress log, the metrics and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from artimuse.evaluation import (
    Dataset,
    ProgressLog,
    Sample,
    build_report,
    correlations,
    read_dataset,
    write_json_atomic,
)


def write_test_json(folder: Path, entries) -> Path:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    path = folder / "test.json"
    path.write_text(entries if isinstance(entries, str) else json.dumps(entries))
    return path


def test_reads_entries_in_order(tmp_path):
    entries = [{"image": "b/1.jpg", "gt_score": 5.21}, {"image": "a.jpg", "gt_score": 3}]
    dataset = read_dataset(write_test_json(tmp_path / "AVA", entries), tmp_path / "AVA/images")
    assert dataset.name == "AVA"
    assert dataset.samples == [Sample("b/1.jpg", 5.21), Sample("a.jpg", 3.0)]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[{'image': 'a.jpg'}", "not valid JSON"),
        ({"image": "a.jpg", "gt_score": 1}, "JSON list"),
        ([], "(empty)"),
        (["a.jpg"], "entry 0: expected an object"),
        ([{"image": "a.jpg", "gt_score": 1}, {"image": "b.jpg"}], "entry 1 (b.jpg): `gt_score`"),
        ([{"image": "a.jpg", "gt_score": "5.2"}], "must be a finite number, got '5.2'"),
        ([{"image": "a.jpg", "gt_score": True}], "must be a finite number"),
        ([{"img": "a.jpg", "gt_score": 1}], "`image` must be a non-empty path"),
    ],
    ids=["json", "not-list", "empty", "not-object", "no-gt", "gt-text", "gt-bool", "no-image"],
)
def test_malformed_test_json_names_the_problem(tmp_path, content, words):
    path = write_test_json(tmp_path, content)
    with pytest.raises(ValueError) as error:
        read_dataset(path, tmp_path / "images")
    assert words in str(error.value) and str(path) in str(error.value)


def test_missing_files_name_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="test_datasets/NAME/test.json"):
        read_dataset(tmp_path / "test.json", tmp_path / "images")


def test_correlations_are_scipys():
    predicted, truth = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0], [2.0, 7.0, 1.0, 8.0, 2.5, 8.5]
    metrics = correlations(predicted, truth)
    assert metrics["srcc"] == stats.spearmanr(predicted, truth).statistic
    assert metrics["plcc"] == stats.pearsonr(predicted, truth).statistic
    assert metrics["krcc"] == stats.kendalltau(predicted, truth).statistic


def test_correlations_undefined_are_none():
    assert correlations([1.0], [2.0]) == {"srcc": None, "plcc": None, "krcc": None}
    assert correlations([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])["plcc"] is None


def test_progress_log_survives_a_line_cut_short(tmp_path):
    log = ProgressLog(tmp_path / "run.progress.jsonl")
    log.append([{"image": "a.jpg", "score": 1.5}, {"image": "b.jpg", "score": 2.5}])
    with log.path.open("a") as file:
        file.write('{"image": "c.jpg", "sco')  # the process died mid-write
    assert log.read() == {
        "a.jpg": {"image": "a.jpg", "score": 1.5},
        "b.jpg": {"image": "b.jpg", "score": 2.5},
    }
    log.append([{"image": "c.jpg", "score": 3.5}])
    assert set(log.read()) == {"a.jpg", "b.jpg", "c.jpg"}


def test_report_keeps_test_json_order_and_counts_failures(tmp_path):
    samples = [
        Sample("b.jpg", 2.0),
        Sample("a.jpg", 1.0),
        Sample("gone.jpg", 3.0),
        Sample("c.jpg", 3.0),
        Sample("a.jpg", 1.0),
    ]
    records = {
        "a.jpg": {"image": "a.jpg", "score": 10.0},
        "b.jpg": {"image": "b.jpg", "score": 20.0},
        "c.jpg": {"image": "c.jpg", "error": "unreadable", "detail": "corrupt"},
        "gone.jpg": {"image": "gone.jpg", "error": "missing", "detail": "no such file"},
    }
    report = build_report(Dataset("toy", samples, tmp_path), "m", records)
    assert [r["image"] for r in report.rows] == ["b.jpg", "a.jpg", "a.jpg"]
    summary = report.to_json()
    assert summary["counts"] == {
        "entries": 5, "scored": 3, "missing": 1, "unreadable": 1,
        "outside": 0, "failed": 0,
    }
    assert summary["srcc"] == pytest.approx(1.0)


def test_json_is_written_whole(tmp_path):
    path = tmp_path / "out" / "AVA_ArtiMuse.json"
    write_json_atomic(path, [{"image": "a.jpg", "score": 1.0}])
    assert json.loads(path.read_text()) == [{"image": "a.jpg", "score": 1.0}]
    assert [p.name for p in path.parent.iterdir()] == ["AVA_ArtiMuse.json"]
