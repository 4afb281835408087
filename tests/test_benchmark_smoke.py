"""The benchmark runs end to end on the tiny preset and its seed baseline computes the same scores.

A smoke test of `python -m benchmarks.bench` (a script, not a test of speed): every part runs
with the smallest settings, the JSON has every key with sane values, every comment is forced to
its full length, and the seed's way (one prompt at a time, no shared prefix) gives the engine's
scores and tokens in float32. The targets table is judged on a made-up result.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from artimuse.prompts import ASPECTS
from benchmarks.context import load_model
from benchmarks.seed_baseline import SeedBaseline
from benchmarks.targets import judge
from tests.helpers import CONFORMANCE_IMAGES, TINY_A

ROOT = Path(__file__).resolve().parents[1]

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
        "-m",
        "benchmarks.bench",
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
    # From the repository root, where `benchmarks` is a package (it is not installed).
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
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
    first = result["first"]["warm"]
    assert [k for k in first["steps"]] == ["load", "score_1", "score_2", "comment_4", "comment_24"]
    assert all(step["s"] > 0 for step in first["steps"].values())
    assert first["per_token_s"] > 0 and first["peak_rss_gb"] > 0 and first["preread"] is True
    assert "fpu" in result["machine"]["cpu_flags"]  # /proc/cpuinfo's flags, as lscpu shows
    assert all(math.isfinite(x) for x in _numbers(result))


def test_seed_baseline_computes_the_engines_scores_and_tokens(result):
    check = result["seed"]["check"]
    assert check["score_max_abs_diff"] <= 1e-4
    assert check["tokens_equal"] == check["tokens_compared"] > 0
    assert (
        set(check["scores"]["seed"]) == set(check["scores"]["engine"])
        and len(check["scores"]["seed"]) == 8
    )


def test_the_benchmarks_model_decodes_every_comment_to_its_full_length():
    """tiny-a ends this image's first comment after a few tokens; the benchmark's engine and the
    seed's way on it both decode all 40, so that every timing counts the same work."""
    model = load_model(TINY_A, "cpu", "float32")
    e, pixels = model.engine, model.pixels(CONFORMANCE_IMAGES["gradient_640x480_q95"])
    suffixes = [e.comment_suffix(ASPECTS[0])]
    assert len(list(e.generate(e.prefill(pixels), suffixes, 40))) == 40
    assert [len(row) for row in SeedBaseline(e).comments(pixels, ASPECTS[:1], 40)] == [40]
    e.ignore_eos = False  # the premise: without it, this comment ends early
    assert len(list(e.generate(e.prefill(pixels), suffixes, 40))) < 40


def test_the_8b_preset_runs_a_few_parts_by_default_and_any_on_request():
    from benchmarks.bench import parse_args

    args = parse_args(["--preset", "8b", "--quant", "int8"])
    assert sorted(args.skip) == ["dataset", "load", "report", "rss"]
    assert (args.repeats, args.decode_steps, args.quant) == (1, 8, "int8")
    chosen = parse_args(["--preset", "8b", "--parts", "first", "report", "--repeats", "2"])
    assert "report" not in chosen.skip and "scores" in chosen.skip and chosen.repeats == 2
    assert parse_args(["--preset", "1b"]).skip == [] and parse_args([]).repeats == 3


def test_8b_cpu_targets_follow_the_quant_mode():
    base = {"preset": "8b", "device": "cpu", "new_tokens": 32,
            "first": {"warm": {"peak_rss_gb": 9.0, "peak_rss_over_weights": 1.05}}}
    rows = {row["figure"]: row["met"] for row in judge({**base, "quant": "int8"})}
    assert rows == {"first.warm.peak_rss_gb": True}
    plain = {row["figure"]: row["met"] for row in judge(base)}
    assert plain["first.warm.peak_rss_over_weights"] is True
    assert plain["decode.batch_1.over_bound"] is None and "first.warm.peak_rss_gb" not in plain


def test_targets_judge_the_figures_of_their_preset_and_device():
    result = {
        "preset": "1b",
        "device": "cpu",
        "new_tokens": 64,
        "scores": {"scores_s": 1.5},
        "report": {"report_s": 20.0},
    }
    rows = {row["figure"]: row for row in judge(result)}
    assert rows["scores.scores_s"] == {
        "figure": "scores.scores_s",
        "value": 1.5,
        "goal": "<= 2",
        "met": True,
    }
    assert rows["report.report_s"]["met"] is False
    assert "128-token" in rows["report.report_s"]["note"]
    assert rows["decode.batch_8.over_bound"] == {
        "figure": "decode.batch_8.over_bound",
        "value": None,
        "goal": "<= 1.5",
        "met": None,
    }
    assert judge({**result, "preset": "tiny"}) == []
    gpu = judge({**result, "preset": "8b", "device": "cuda:1", "new_tokens": 256})
    assert [(row["figure"], row["met"]) for row in gpu] == [
        ("scores.scores_s", False),
        ("report.report_s", False),
    ]


def test_the_drift_benchmark_compares_each_mode_with_bf16(tmp_path, capsys):
    from benchmarks import drift

    drift.main(["--preset", "tiny", "--ckpt", str(tmp_path / "tiny"), "--images", "1",
                "--tokens", "3", "--aspects", "2", "--modes", "int4,none+fp16"])
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 4 and set(report["vs_none"]) == {"int4", "none+fp16"}
    for figures in report["vs_none"].values():
        assert 0 <= figures["total_abs_diff_mean"] <= figures["total_abs_diff_max"] < 20
        assert 0 <= figures["token_agreement"] <= 1
    assert report["kernels"]["none+fp16"]["cpu"]["decode"] == "fp16"
    assert report["kernels"]["none"]["cpu"]["decode"] == "bf16"
    assert report["kernels"]["int4"]["quantization"]["quant"] == "int4"
    # fp16 weights hold bf16's values and multiply in float32: each of the two is within bf16's
    # rounding of the float32 model (tests/inference/test_cpu_kernels.py), so within 1 of each
    # other on this tiny random model (a broken kernel moves its scores by many points)
    assert report["vs_none"]["none+fp16"]["total_abs_diff_max"] < 1.0


def test_the_kernel_limits_benchmark_times_every_way_at_each_size(tmp_path):
    from benchmarks import kernel_limits

    out = tmp_path / "limits.json"
    kernel_limits.main(["--shape", "64", "256", "--rows", "1", "20", "--out", str(out)])
    report = json.loads(out.read_text())
    assert set(report["ms_by_rows"]) == {"1", "20"} and report["shape"] == [64, 256]
    assert report["float32_matmul_gflops"] > 0 and report["int4_unpack_to_bf16_ms"] > 0
    for row in report["ms_by_rows"].values():
        # the plain ways everywhere, and int4 too at this shape (64 outputs, groups of 128)
        assert {"bf16", "int8_layer", "int4_layer", "gflop"} <= set(row)
        assert all(math.isfinite(ms) and ms > 0 for ms in row.values())
    assert not report["int8_layer_onednn"]  # 16,384 weights: torch's kernel (ONEDNN_MIN_WEIGHTS)
    assert "int8_onednn_two_parts" not in row
