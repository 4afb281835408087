"""The benchmark runs end to end on the tiny preset and its seed baseline computes the same scores.

A smoke test of `benchmarks/bench.py` (a script, not a test of speed): every part runs with the
smallest settings, the JSON has every key with sane values, and the seed's way (one prompt at a
time, no shared prefix) gives the engine's scores and tokens in float32.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench.py"

POSITIVE = {
    "load": [
        "load_s",
        "weights_gb",
        "rss_after_load_gb",
        "peak_rss_load_gb",
        "peak_rss_use_gb",
        "peak_rss_use_over_weights",
    ],
    "bandwidth": ["read_gbps", "copy_gbps"],
    "scores": [
        "scores_s",
        "total_score_s",
        "image_to_pixels_s",
        "vision_s",
        "score_batch_s",
        "prefix_tokens",
    ],
    "report": ["report_s", "scores_s", "comments_s", "comment_tokens_per_s"],
    "decode": ["lm_read_gb", "read_gbps", "bound_ms"],
    "dataset": [
        "batch_1_images_per_s",
        "batch_4_images_per_s",
        "batch_16_images_per_s",
        "best_images_per_s",
    ],
    "rss": ["first_gb", "last_gb", "max_gb"],
    "seed": ["scores_s", "total_score_s", "dataset_images_per_s"],
    "ratios": ["scores", "total_score", "report_vs_demo", "report_vs_eval_script", "dataset"],
}
PRESENT = {
    "rss": ["growth_mb", "slope_kb_per_assessment"],
    "scores": [
        "prefix_prefill_s",
        "total_only_forward_s",
        "aspects_only_forward_s",
        "suffix_tokens",
    ],
}
DECODE_ROW = [
    "ms_per_step",
    "ms_per_step_mean",
    "first_token_ms",
    "kv_cache_mb",
    "over_bound",
    "bound_with_kv_ms",
]
SEED_REPORT = ["total_s", "scores_s", "comments_s"]


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("bench")
    command = [
        sys.executable,
        str(BENCH),
        "--preset",
        "tiny",
        "--dtype",
        "float32",
        "--threads",
        "1",
        "--new-tokens",
        "4",
        "--repeats",
        "2",
        "--decode-steps",
        "4",
        "--dataset-images",
        "4",
        "--seed-dataset-images",
        "2",
        "--repeat-rss",
        "3",
        "--rss-new-tokens",
        "2",
        "--bandwidth-gb",
        "0.05",
        "--baseline",
        "seed",
        "--ckpt-dir",
        str(tmp / "ckpt"),
        "--out",
        str(tmp / "bench.json"),
    ]
    done = subprocess.run(command, cwd=tmp, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = json.loads(done.stdout)
    assert printed == json.loads((tmp / "bench.json").read_text(encoding="utf-8"))
    return printed


def _numbers(value):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def test_every_part_reports_positive_finite_numbers(result):
    assert result["preset"] == "tiny" and result["skipped"] == []
    for part, keys in POSITIVE.items():
        for key in keys:
            value = result[part][key]
            assert math.isfinite(value) and value > 0, (part, key, value)
    for part, keys in PRESENT.items():
        assert all(key in result[part] for key in keys), part
    for batch in ("batch_1", "batch_8"):
        row = result["decode"][batch]
        assert all(math.isfinite(row[k]) and row[k] > 0 for k in DECODE_ROW), row
    for report in ("demo_report", "eval_report"):
        assert all(result["seed"][report][k] > 0 for k in SEED_REPORT), report
    assert result["report"]["comments"] == 8
    assert result["rss"]["assessments"] == 3
    assert all(math.isfinite(x) for x in _numbers(result))


def test_seed_baseline_computes_the_engines_scores_and_tokens(result):
    check = result["seed"]["check"]
    assert check["score_max_abs_diff"] <= 1e-4
    assert check["tokens_equal"] == check["tokens_compared"] > 0
    assert (
        set(check["scores"]["seed"]) == set(check["scores"]["engine"])
        and len(check["scores"]["seed"]) == 8
    )
