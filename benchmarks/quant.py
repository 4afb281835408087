"""Quantized weights (ARTIMUSE_QUANT) against the unquantized model: memory, speed and drift.

Each mode loads in a fresh subprocess (peak RSS and GPU memory are per process), scores the same
images and decodes the first comment tokens greedily; the parent prints one JSON object:

    python -m benchmarks.quant --preset 1b --device cpu --images 20 --threads 2

Drift is measured against `none` on the same images: mean and max absolute difference of the
total and of the 7 aspect scores, and the share of the first `--tokens` greedy comment tokens
that are equal (position by position, and the mean length of the equal start). On random weights
the LM's logits are near ties, so token agreement here is a pessimistic bound for real weights.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from artimuse.prompts import ASPECTS, SCORE_KEYS
from artimuse.testing.checkpoints import PRESETS, ensure_checkpoint
from benchmarks.context import checkpoint_arguments, load_model
from benchmarks.measure import make_images

MODES = ("none", "int8", "int4", "nf4")
DEFAULT_MODES = {"cpu": "none,int8,int4", "cuda": "none,int8,nf4"}  # what each device runs
GB = 1e9


def measure_mode(args: argparse.Namespace) -> dict:
    """In this process: load with `args.child`, score and decode every image."""
    torch.set_num_threads(args.threads) if args.threads else None
    device = torch.device(args.device)
    start = time.perf_counter()
    model = load_model(args.ckpt, args.device, args.dtype, quant=args.child)
    _sync(device)
    out = {"load_s": time.perf_counter() - start, "rss_after_load_gb": _peak_rss() / GB}
    out["gpu_after_load_gb"] = _gpu_peak(device)
    engine, aspects = model.engine, list(ASPECTS[: args.aspects])
    suffixes = [engine.comment_suffix(a) for a in aspects]
    score_times, decode_times, scores, tokens = [], [], [], []
    for path in sorted(Path(args.images_dir).glob("*.jpg"))[: args.images]:
        pixels = model.pixels(path).to(device)
        _sync(device)
        started = time.perf_counter()
        cache = engine.prefill(pixels)
        values = engine.expected_scores(engine.scores(cache)[0]).tolist()
        _sync(device)
        score_times.append(time.perf_counter() - started)
        scores.append(values)
        if args.tokens:
            started = time.perf_counter()
            steps = list(engine.generate(cache, suffixes, args.tokens))  # EOS ignored
            decode_times.append((time.perf_counter() - started) / len(steps))
            tokens.append([list(row) for row in zip(*steps)])  # (aspects, tokens)
    out.update(
        kernels=model.kernels,
        score_s_median=statistics.median(score_times[1:] or score_times),
        decode_step_ms_median=1000 * statistics.median(decode_times) if decode_times else None,
        decode_batch=len(aspects),
        peak_rss_gb=_peak_rss() / GB,
        peak_gpu_gb=_gpu_peak(device),
        lm_linear_weight_gb=_linear_bytes(model) / GB,
        scores=scores,
        tokens=tokens,
    )
    return out


def _linear_bytes(model) -> int:
    layers = model.engine.backbone.layers
    return sum(p.nbytes for p in layers.parameters()) + sum(b.nbytes for b in layers.buffers())


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _gpu_peak(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / GB if device.type == "cuda" else None


def drift(base: dict, other: dict) -> dict:
    """Score differences and greedy token agreement of `other` against `base`."""
    total = [abs(a[0] - b[0]) for a, b in zip(base["scores"], other["scores"])]
    aspect = [abs(x - y) for a, b in zip(base["scores"], other["scores"]) for x, y in
              zip(a[1:], b[1:])]
    result = {
        "total_abs_diff_mean": statistics.fmean(total),
        "total_abs_diff_max": max(total),
        "aspect_abs_diff_mean": statistics.fmean(aspect),
        "aspect_abs_diff_max": max(aspect),
    }
    rows = [(x, y) for a, b in zip(base["tokens"], other["tokens"]) for x, y in zip(a, b)]
    if rows:
        same = [sum(p == q for p, q in zip(x, y)) / len(x) for x, y in rows]
        starts = [next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), len(x)) for x, y in
                  rows]
        result.update(token_agreement=statistics.fmean(same),
                      equal_start_tokens_mean=statistics.fmean(starts),
                      rows_fully_equal=sum(s == 1 for s in same) / len(same))
    return result


def run_child(args: argparse.Namespace, mode: str) -> dict:
    command = [sys.executable, "-m", "benchmarks.quant", "--child", mode, "--ckpt", str(args.ckpt),
               "--device", args.device, "--dtype", args.dtype, "--images", str(args.images),
               "--images-dir", str(args.images_dir), "--tokens", str(args.tokens),
               "--aspects", str(args.aspects), "--threads", str(args.threads or 0)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        tail = done.stderr.strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit status {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(results: dict) -> dict:
    base = results.get("none", {})
    summary = {}
    for mode, result in results.items():
        if "error" in result or mode == "none" or "error" in base:
            continue
        summary[mode] = {
            "peak_rss_vs_none": result["peak_rss_gb"] / base["peak_rss_gb"],
            "rss_after_load_vs_none": result["rss_after_load_gb"] / base["rss_after_load_gb"],
            "load_s_vs_none": result["load_s"] / base["load_s"],
            "score_s_vs_none": result["score_s_median"] / base["score_s_median"],
            **drift(base, result),
        }
        if base.get("peak_gpu_gb"):
            summary[mode]["peak_gpu_vs_none"] = result["peak_gpu_gb"] / base["peak_gpu_gb"]
    return summary


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    checkpoint_arguments(p)
    p.add_argument("--modes", help="default: none,int8,int4 on a CPU, none,int8,nf4 on CUDA")
    p.add_argument("--images", type=int, default=20)
    p.add_argument("--images-dir", type=Path)
    p.add_argument("--tokens", type=int, default=32, help="greedy comment tokens compared")
    p.add_argument("--aspects", type=int, default=8, help="comments decoded per image")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", type=Path)
    p.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.modes = args.modes or DEFAULT_MODES.get(torch.device(args.device).type, "none")
    if args.child:
        print(json.dumps(measure_mode(args)))
        return
    spec = dataclasses.replace(PRESETS[args.preset], dtype="bfloat16")
    args.ckpt = ensure_checkpoint(args.ckpt or Path(".benchmarks") / f"{args.preset}-bfloat16",
                                  spec)
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.images_dir is None:
            args.images_dir = Path(tmp)
            make_images(args.images_dir, args.images)
        for mode in args.modes.split(","):
            results[mode] = run_child(args, mode)
            text = json.dumps(report(args, results), indent=2)
            if args.out:  # after every mode: a run cut short keeps what it measured
                args.out.write_text(text + "\n")
    print(text)


def report(args: argparse.Namespace, results: dict) -> dict:
    bnb = _version("bitsandbytes")
    return {
        "preset": args.preset, "device": args.device, "dtype": args.dtype,
        "images": args.images, "tokens": args.tokens, "aspects": args.aspects,
        "bitsandbytes": bnb or "not installed: int8 and nf4 cannot run on CUDA here",
        "per_mode": {m: {k: v for k, v in r.items() if k not in ("scores", "tokens")}
                     for m, r in results.items()},
        "vs_none": summarise(results),
        "score_keys": list(SCORE_KEYS),
    }


def _version(name: str) -> str | None:
    if importlib.util.find_spec(name) is None:
        return None
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
