"""The `first` part: what a fresh process costs, request by request, and where the first
request's extra time goes (the issue's table: load, first and second `score`, time per comment
token, peak RSS).

In a fresh process (so that nothing is in its memory yet): optionally drop the page cache
(`--drop-caches`, root only: the weight files then come off the disk, as after a reboot; the
whole machine's cache goes, so neighbours' timings suffer for a moment), load, score the same
image `--scores` times, then time one aspect's comment of 4 and of 24 forced tokens from the
scores event (over the image's prefix cache, as `stream` does after that event): time per
token = (t24 - t4) / 20, and the median step of the 24. For every step it records wall time,
the bytes this process read from storage (/proc/self/io `read_bytes`), major page faults (a
page read from the disk) and minor ones (a page mapped from the page cache): a first `score`
slower than the second with many major faults waits on the disk; with none, on first-call
set-up.

    python -m benchmarks.first_request CKPT [--quant int8] [--no-preread] [--drop-caches]

The benchmark (`bench --preset 8b`) runs it as a child process; its last stdout line is JSON.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from artimuse.prompts import ASPECTS
from benchmarks.context import load_model
from benchmarks.measure import (
    GB,
    cpu_features,
    make_images,
    peak_rss_bytes,
    rss_bytes,
    weight_bytes,
)

log = logging.getLogger("first_request")
SHORT, LONG = 4, 24  # forced comment tokens of the per-token timing (the method)


def bench_first(args: argparse.Namespace, ckpt: Path) -> dict:
    """The probe in child processes: as the page cache is, the weights read while loading;
    then (`--cold`, root only) from a dropped page cache, with and without that reading."""
    runs = {"warm": probe_command(args, ckpt)}
    if args.cold:
        runs["cold"] = probe_command(args, ckpt, "--drop-caches")
        runs["cold_no_preread"] = probe_command(args, ckpt, "--drop-caches", "--no-preread")
    return {name: run_child(command) for name, command in runs.items()}


def probe_command(args: argparse.Namespace, ckpt: Path, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "benchmarks.first_request", str(ckpt)]
    command += ["--device", args.device, "--dtype", args.dtype, "--quant", args.quant]
    if args.threads:
        command += ["--threads", str(args.threads)]
    return command + list(extra)


def run_child(command: list[str]) -> dict:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"error": f"exit {done.returncode}: {done.stderr[-2000:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


class Meter:
    """Wall time, storage reads and page faults of one step of this process."""

    def __init__(self) -> None:
        self.steps: dict[str, dict] = {}

    def step(self, name: str, fn):
        before, start = counters(), time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        after = counters()
        self.steps[name] = {"s": seconds, **{k: after[k] - before[k] for k in after}}
        self.steps[name]["rss_gb"] = rss_bytes() / GB
        log.info("%s: %s", name, self.steps[name])
        return result


def counters() -> dict:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"read_gb": _read_bytes() / GB, "major_faults": usage.ru_majflt,
            "minor_faults": usage.ru_minflt}


def _read_bytes() -> int:
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("read_bytes:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def drop_page_cache() -> None:
    """Write back and drop the machine's page cache (root only)."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def comment_seconds(model, cache, tokens: int) -> tuple[float, float]:
    """One aspect's comment of `tokens` forced tokens over an image's prefix cache: what
    `stream` runs after its scores event (the comment's own prefill, then the steps) ->
    (its seconds, the median seconds between two tokens: one decode step)."""
    engine = model.engine
    cache = copy.deepcopy(cache)  # generate consumes it
    start = time.perf_counter()
    suffix = [engine.comment_suffix(ASPECTS[0])]
    stamps = [time.perf_counter() for _ in engine.generate(cache, suffix, tokens)]
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    return stamps[-1] - start, statistics.median(steps)


def probe(args: argparse.Namespace) -> dict:
    if args.drop_caches:
        drop_page_cache()
    meter = Meter()
    options = {"preread": not args.no_preread}
    if args.quant != "none":
        options["quant"] = args.quant
    model = meter.step("load", lambda: load_model(args.checkpoint, args.device, args.dtype,
                                                  **options))
    out = {"quant": args.quant, "preread": not args.no_preread, "cold": args.drop_caches,
           "cpu_capability": cpu_features()["capability"],
           "kernels": model.kernels,
           "load_avg_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as folder:
        image = make_images(Path(folder), 1)[0]
        for i in range(1, args.scores + 1):
            meter.step(f"score_{i}", lambda: model.score(image))
        cache = model.engine.prefill(model.pixels(image))  # the scores event's state
        short, _ = meter.step("comment_4", lambda: comment_seconds(model, cache, SHORT))
        long, step = meter.step("comment_24", lambda: comment_seconds(model, cache, LONG))
    out["steps"] = meter.steps
    # The method; its two comment prefills differ by noise that /20 does not hide, so
    # the median step between two tokens of the long comment is recorded beside it.
    out["per_token_s"] = (long - short) / (LONG - SHORT)
    out["decode_step_s"] = step
    out["peak_rss_gb"] = peak_rss_bytes() / GB
    out["weights_gb"] = weight_bytes(model.engine.model) / GB
    out["peak_rss_over_weights"] = out["peak_rss_gb"] / out["weights_gb"]
    first, second = meter.steps["score_1"]["s"], meter.steps.get("score_2", {}).get("s")
    out["first_over_second_score"] = first / second if second else None
    out["load_avg_end"] = os.getloadavg()
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Load in a fresh process; time its first requests.")
    p.add_argument("checkpoint")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--quant", default="none")
    p.add_argument("--threads", type=int)
    p.add_argument("--scores", type=int, default=2, help="score calls timed one by one")
    p.add_argument("--no-preread", action="store_true", help="leave the weights mapped, unread")
    p.add_argument("--drop-caches", action="store_true", help="drop the page cache first (root)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(json.dumps(probe(args)))


if __name__ == "__main__":
    main()
