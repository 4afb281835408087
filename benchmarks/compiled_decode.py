"""The compiled decode step (ARTIMUSE_COMPILE=1) against eager decoding, on one loaded model.

    python -m benchmarks.compiled_decode --preset 1b --device cpu --threads 2 --new-tokens 64

For each way: the first decode at batch 8 and at batch 1 (for the compiled way that includes
compiling the step), then decode ms/step at batch 1 and 8 against the bound of reading the LM's
weights once per step at the measured bandwidth, and a full report (scores + 8 comments of
`--new-tokens` forced tokens). Also whether both ways give the same greedy tokens. One JSON.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from artimuse.prompts import ASPECTS
from artimuse.testing.checkpoints import PRESETS, ensure_checkpoint
from benchmarks.context import checkpoint_arguments, load_model
from benchmarks.decode import lm_read_bytes
from benchmarks.measure import GB, make_images, memory_bandwidth, sync
from benchmarks.report import full_report

WAYS = ("eager", "compiled")


def decode(model, cache, batch: int, steps: int) -> tuple[list[list[int]], list[float]]:
    """Greedy tokens (steps x batch) and the wall time of each step after the first."""
    engine = model.engine
    suffixes = [engine.comment_suffix(ASPECTS[i % len(ASPECTS)]) for i in range(batch)]
    tokens, stamps = [], []
    for step in engine.generate(copy.deepcopy(cache), suffixes, steps):  # EOS ignored
        tokens.append(step)
        stamps.append(time.perf_counter())
    return tokens, [b - a for a, b in zip(stamps, stamps[1:])]


def measure_way(model, cache, image: Path, args, bound_ms: float) -> dict:
    out: dict = {}
    for batch in (8, 1):  # the first run of a batch size compiles its step
        sync(model.device)
        started = time.perf_counter()
        decode(model, cache, batch, 3)
        sync(model.device)
        out[f"first_decode_b{batch}_s"] = time.perf_counter() - started
    tokens = None
    for batch in (1, 8):
        steps, intervals = decode(model, cache, batch, args.decode_steps)
        ms = 1000 * statistics.median(intervals)
        out[f"batch_{batch}"] = {"ms_per_step": ms, "over_bound": ms / bound_ms}
        tokens = steps if batch == 8 else tokens
    reports = [full_report(model, image, args.new_tokens) for _ in range(args.report_repeats)]
    out["report_s"] = statistics.median(r["total_s"] for r in reports)
    out["report_scores_s"] = min(r["scores_s"] for r in reports)
    out["tokens"] = tokens
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    checkpoint_arguments(p)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--new-tokens", type=int, default=256, help="forced tokens per comment")
    p.add_argument("--decode-steps", type=int, default=32)
    p.add_argument("--report-repeats", type=int, default=1)
    p.add_argument("--bandwidth-gb", type=float, default=1.0)
    p.add_argument("--ways", default=",".join(WAYS))
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = dataclasses.replace(PRESETS[args.preset], dtype="bfloat16")
    ckpt = ensure_checkpoint(args.ckpt or Path(".benchmarks") / f"{args.preset}-bfloat16", spec)
    model = load_model(ckpt, args.device, args.dtype, compile=False)
    bandwidth = memory_bandwidth(model.device, args.bandwidth_gb)["read_gbps"]
    read = lm_read_bytes(model)
    bound_ms = 1000 * read / (bandwidth * GB)
    report: dict = {
        "preset": args.preset, "device": str(model.device), "dtype": args.dtype,
        "torch": torch.__version__, "new_tokens": args.new_tokens,
        "lm_read_gb": read / GB, "read_gbps": bandwidth, "bound_ms": bound_ms,
    }
    with tempfile.TemporaryDirectory() as tmp:
        [image] = make_images(Path(tmp), 1)
        cache = model.engine.prefill(model.pixels(image))
        for way in args.ways.split(","):
            model.engine.compiled = way == "compiled"
            try:
                report[way] = measure_way(model, cache, image, args, bound_ms)
            except Exception as error:  # a compile failure is a result, not a crash
                report[way] = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
            _write(report, args.out)
    ways = [report.get(w, {}) for w in WAYS]
    if all("tokens" in w for w in ways):
        eager, compiled = (w["tokens"] for w in ways)
        report["same_greedy_tokens"] = eager == compiled
        report["compiled_speedup_b8"] = (
            ways[0]["batch_8"]["ms_per_step"] / ways[1]["batch_8"]["ms_per_step"]
        )
        report["compiled_report_speedup"] = ways[0]["report_s"] / ways[1]["report_s"]
    for way in ways:
        way.pop("tokens", None)
    _write(report, args.out)
    print(json.dumps(report, indent=2))


def _write(report: dict, out: Path | None) -> None:
    if out:
        clean = {k: v for k, v in report.items() if k not in WAYS}
        clean.update({w: {k: v for k, v in report[w].items() if k != "tokens"}
                      for w in WAYS if w in report})
        out.write_text(json.dumps(clean, indent=2) + "\n")


if __name__ == "__main__":
    main()
