"""ArtiMuse speed and memory benchmark on a random-weight checkpoint of a preset shape.

Prints one JSON object (see benchmarks/README.md for what every number means):

    python -m benchmarks.bench --preset 1b --dtype bfloat16 --threads 2 --baseline seed

Parts (`--parts` chooses, `--skip` leaves out): in fresh child processes, before this one
loads: load (load time, peak RSS) and first (load, first and second `score`, time per comment
token, what the first request waits on: benchmarks/first_request.py); then bandwidth, scores,
report (8 comments of N forced tokens), decode (ms/step at batch 1 and 8 against the bandwidth
bound), dataset (images/s at batch 1, 4, 16), rss (RSS over repeated assessments). `--baseline
seed` also runs the original implementation's way (benchmarks/seed_baseline.py) and prints
ratios. Each figure that has a goal (benchmarks/targets.py) is listed under `targets` with `met`.

The 8b preset (16 GB in bf16) has defaults that fit a few minutes a part on a small CPU:

    python -m benchmarks.bench --preset 8b --device cpu [--quant int8] --deadline-s 1800
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers

from artimuse.inference.cpu_kernels import cpu_flags
from artimuse.testing.checkpoints import PRESETS, ensure_checkpoint
from benchmarks.baseline import bench_seed, ratios
from benchmarks.context import Context, load_model
from benchmarks.dataset import DATASET_BATCHES, bench_dataset
from benchmarks.decode import bench_bandwidth, bench_decode
from benchmarks.first_request import bench_first
from benchmarks.load import bench_load
from benchmarks.measure import cpu_features, make_images
from benchmarks.report import bench_report, bench_rss
from benchmarks.scores import bench_scores
from benchmarks.targets import judge, vs_original

log = logging.getLogger("bench")
PARTS = {  # in the order they run, each after the model is loaded (`load` runs before)
    "bandwidth": bench_bandwidth,
    "scores": bench_scores,
    "report": bench_report,
    "decode": bench_decode,
    "dataset": bench_dataset,
    "rss": bench_rss,
}
CHILD_PARTS = {"load": bench_load, "first": bench_first}  # each loads in its own process
REPEAT_RSS = {"tiny": 100, "1b": 20, "8b": 10}
# What runs when --parts is not given: at the 8b shape a score takes a minute or two on a
# small CPU, a report of 8 comments many, a dataset pass an hour.
DEFAULT_PARTS = {"8b": ("first", "bandwidth", "scores", "decode")}
PRESET_DEFAULTS = {"8b": {"repeats": 1, "decode_steps": 8, "new_tokens": 32}}


def machine(args: argparse.Namespace) -> dict:
    """Versions, cores, CPU features and load: what every figure depends on."""
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_avg_start": os.getloadavg(),
        "cpu_features": cpu_features(),
        "cpu_flags": cpu_flags(),
    }
    try:
        cpu = [x for x in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in x]
        info["cpu"] = cpu[0].split(":", 1)[1].strip() if cpu else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    if args.device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def prepare_checkpoint(args: argparse.Namespace) -> tuple[Path, float]:
    spec = dataclasses.replace(PRESETS[args.preset], dtype=args.dtype)
    start = time.perf_counter()
    ckpt = ensure_checkpoint(args.ckpt_dir, spec)
    return ckpt, time.perf_counter() - start


def run(args: argparse.Namespace) -> dict:
    """Every part not skipped; the result is rewritten to `--out` after each."""
    started = time.perf_counter()
    ckpt, made_s = prepare_checkpoint(args)
    result = {
        "preset": args.preset,
        "device": args.device,
        "dtype": args.dtype,
        "quant": args.quant,
        "new_tokens": args.new_tokens,
        "checkpoint": str(ckpt),
        "checkpoint_ready_s": made_s,
        "machine": machine(args),
        "skipped": list(args.skip),
    }
    for name, part in CHILD_PARTS.items():  # before this process loads: one copy in memory
        if name not in args.skip:
            log.info("%s (subprocess)", name)
            result[name] = part(args, ckpt)
            write(result, args.out)
    in_process = [name for name in PARTS if name not in args.skip]
    if not in_process and args.baseline != "seed":
        return finish(result, args, started)
    quant = {} if args.quant == "none" else {"quant": args.quant}
    model = load_model(ckpt, args.device, args.dtype, **quant)
    parts = PARTS | ({"seed": bench_seed} if args.baseline == "seed" else {})
    with tempfile.TemporaryDirectory() as folder:
        paths = make_images(Path(folder), max(args.dataset_images, 1))
        ctx = Context(args, model, paths[0], paths)
        for name, part in parts.items():
            if name in args.skip:
                continue
            if args.deadline_s and time.perf_counter() - started > args.deadline_s:
                result["skipped"].append(f"{name} (deadline)")
                continue
            log.info("%s", name)
            part_start = time.perf_counter()
            result[name] = part(ctx)
            result[name]["part_s"] = time.perf_counter() - part_start
            write(result, args.out)
    return finish(result, args, started)


def finish(result: dict, args: argparse.Namespace, started: float) -> dict:
    result["ratios"] = ratios(result)
    if args.preset == "1b" and args.device == "cpu" and args.dtype == "bfloat16":
        result["vs_original"] = vs_original(result)
    result["targets"] = judge(result)
    result["machine"]["load_avg_end"] = os.getloadavg()
    result["wall_s"] = time.perf_counter() - started
    write(result, args.out)
    return result


def write(result: dict, out: Path | None) -> None:
    """The result so far, when `--out` is given: a run cut short leaves what it measured."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    p.add_argument("--dtype", choices=("bfloat16", "float16", "float32"), default="bfloat16")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--new-tokens", type=int, default=128, help="forced tokens per comment")
    p.add_argument("--quant", default="none", help="none, int8, int4, nf4 (as artimuse.load)")
    p.add_argument("--baseline", choices=("seed",), help="also time the original's way")
    every = (*CHILD_PARTS, *PARTS)
    p.add_argument("--parts", nargs="*", choices=every, help="parts to run (default: all; 8b: "
                   f"{', '.join(DEFAULT_PARTS['8b'])})")
    p.add_argument("--skip", nargs="*", default=[], choices=every, help="parts not to run")
    p.add_argument("--cold", action="store_true", help="first: also from a dropped page cache, "
                   "with and without reading while loading (root; slows the whole machine)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs of the scores (median)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs before the first timing")
    p.add_argument("--report-repeats", type=int, default=1, help="timed full reports")
    p.add_argument("--decode-steps", type=int, default=32, help="steps per decode timing")
    p.add_argument("--dataset-images", type=int, default=32)
    p.add_argument(
        "--dataset-batches",
        type=lambda text: [int(b) for b in text.split(",")],
        default=list(DATASET_BATCHES),
        help="comma-separated batch sizes",
    )
    p.add_argument("--seed-dataset-images", type=int, default=8)
    p.add_argument("--repeat-rss", type=int, help="assessments (default: tiny 100, 1b 20, 8b 10)")
    p.add_argument("--rss-new-tokens", type=int, default=8)
    p.add_argument("--bandwidth-gb", type=float, default=1.0, help="buffer of the bandwidth test")
    p.add_argument("--deadline-s", type=float, help="skip the parts that would start after this")
    p.add_argument("--ckpt-dir", type=Path, help="default: .benchmarks/<preset>-<dtype>")
    p.add_argument("--out", type=Path, help="also write the JSON here (after every part)")
    p.set_defaults(**PRESET_DEFAULTS.get(_preset_of(argv), {}))
    args = p.parse_args(argv)
    parts = args.parts if args.parts is not None else DEFAULT_PARTS.get(args.preset, every)
    args.skip = [*args.skip, *(name for name in every if name not in parts)]
    args.ckpt_dir = args.ckpt_dir or Path(".benchmarks") / f"{args.preset}-{args.dtype}"
    args.repeat_rss = args.repeat_rss or REPEAT_RSS[args.preset]
    if args.new_tokens < 2 or args.decode_steps < 3:
        p.error("--new-tokens must be >= 2 and --decode-steps >= 3")
    return args


def _preset_of(argv: list[str] | None) -> str | None:
    """The --preset on the command line, before parsing: it chooses the other defaults."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--preset")
    return pre.parse_known_args(argv)[0].preset


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
