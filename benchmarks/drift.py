"""How far each quantization mode (and the CPU's fp16 kernels) moves the results from the
unquantized model: scores and greedy comment tokens on the same images. Prints one JSON object:

    python -m benchmarks.drift --preset 1b --threads 2
    python -m benchmarks.drift --preset 8b --modes int8,int4 --images 4 --tokens 16

Images: the conformance images (tests/data/images) and `--images` generated ones. For every
mode against `none` with exact kernels: mean and max absolute difference of the total score
and of the 7 aspect scores, and of the greedy comment tokens (`--tokens` of each of `--aspects`
comments) the share equal position by position, the mean length of the equal start and the
share of rows equal throughout. `none+fp16` is `none` with fbgemm's fp16 kernels that CPUs
without bf16 instructions get (inference.cpu_kernels), forced here on any x86 CPU. On random
weights the logits are near ties, so token agreement here is a pessimistic bound for real
weights. One model is loaded at a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import tempfile
import time
from pathlib import Path

import torch

from artimuse.inference import cpu_kernels
from artimuse.prompts import ASPECTS
from artimuse.testing.checkpoints import PRESETS, ensure_checkpoint
from benchmarks.context import checkpoint_arguments, load_model
from benchmarks.measure import make_images
from benchmarks.quant import drift

CONFORMANCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "images"
# Probe timings that make `decide` pick each CPU variant, whatever this CPU is.
EXACT = {"decode": {"bf16": 1.0}, "prefill": {"bf16": 1.0}}
FP16 = {"decode": {"fp16": 1.0}, "prefill": {"fp16": 1.0}}


def results_of(args: argparse.Namespace, mode: str, images: list[Path]) -> dict:
    """Scores and greedy tokens of every image with `mode` (bf16 kernels fixed by `mode`)."""
    timings = FP16 if mode == "none+fp16" else EXACT
    original, cpu_kernels.probe = cpu_kernels.probe, lambda: timings
    try:
        start = time.perf_counter()
        model = load_model(args.ckpt, args.device, args.dtype, quant=mode.split("+")[0])
        load_s = time.perf_counter() - start
    finally:
        cpu_kernels.probe = original
    engine, aspects = model.engine, list(ASPECTS[: args.aspects])
    suffixes = [engine.comment_suffix(a) for a in aspects]
    scores, tokens = [], []
    for image in images:
        cache = engine.prefill(model.pixels(image))
        scores.append(engine.expected_scores(engine.scores(cache)[0]).tolist())
        steps = list(engine.generate(cache, suffixes, args.tokens))  # EOS ignored
        tokens.append([list(row) for row in zip(*steps)])
    out = {"scores": scores, "tokens": tokens, "load_s": load_s, "kernels": model.kernels}
    del model, engine
    gc.collect()
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    checkpoint_arguments(p)
    p.add_argument("--modes", default="int8,int4,none+fp16", help="against none")
    p.add_argument("--images", type=int, default=5, help="generated images, besides 3 fixed")
    p.add_argument("--tokens", type=int, default=32, help="greedy tokens of each comment")
    p.add_argument("--aspects", type=int, default=8, help="comments per image")
    p.add_argument("--threads", type=int)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = dataclasses.replace(PRESETS[args.preset], dtype="bfloat16")
    args.ckpt = ensure_checkpoint(args.ckpt or Path(".benchmarks") / f"{args.preset}-bfloat16",
                                  spec)
    with tempfile.TemporaryDirectory() as folder:
        images = sorted(CONFORMANCE.glob("*.*")) + make_images(Path(folder), args.images)
        base = results_of(args, "none", images)
        report = {"preset": args.preset, "device": args.device, "dtype": args.dtype,
                  "images": len(images), "tokens": args.tokens, "aspects": args.aspects,
                  "vs_none": {}, "kernels": {"none": base["kernels"]}}
        for mode in args.modes.split(","):
            other = results_of(args, mode, images)
            report["vs_none"][mode] = drift(base, other) | {"load_s": other["load_s"]}
            report["kernels"][mode] = other["kernels"]
            if args.out:  # after every mode: a run cut short keeps what it measured
                args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
