"""The `load` part: load time and peak RSS, in a fresh process so that its peak RSS is the
load's (and the first use's) own and no two copies of the model share the memory.

The benchmark runs `python -m benchmarks.load CKPT ...` (this module) and reads its last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.context import load_model
from benchmarks.measure import GB, make_images, peak_rss_bytes, rss_bytes, sync, weight_bytes
from benchmarks.report import full_report


def bench_load(args: argparse.Namespace, ckpt: Path) -> dict:
    """Run the probe below in a child process (same interpreter, same module path)."""
    command = [sys.executable, "-m", "benchmarks.load", str(ckpt)]
    command += ["--device", args.device, "--dtype", args.dtype]
    if args.threads:
        command += ["--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"load probe failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def probe_load(checkpoint: str, device_name: str, dtype: str) -> dict:
    """Load, measure, run one short report (scores + 8 comments of 16 tokens), measure again."""
    device = torch.device(device_name if device_name != "cuda" else "cuda:0")
    before = rss_bytes()
    start = time.perf_counter()
    model = load_model(checkpoint, device_name, dtype)
    sync(device)
    load_s = time.perf_counter() - start
    weights = weight_bytes(model.engine.model)
    out = {
        "load_s": load_s,
        "weights_gb": weights / GB,
        "rss_before_load_gb": before / GB,
        "rss_after_load_gb": rss_bytes() / GB,
        "peak_rss_load_gb": peak_rss_bytes() / GB,
    }
    if device.type == "cuda":
        out["cuda_after_load_gb"] = torch.cuda.memory_allocated(device) / GB
    with tempfile.TemporaryDirectory() as folder:
        full_report(model, make_images(Path(folder), 1)[0], 16)
    out["peak_rss_use_gb"] = peak_rss_bytes() / GB
    out["peak_rss_load_over_weights"] = out["peak_rss_load_gb"] / out["weights_gb"]
    out["peak_rss_use_over_weights"] = out["peak_rss_use_gb"] / out["weights_gb"]
    out["peak_rss_above_libraries_over_weights"] = (out["peak_rss_use_gb"] - before / GB) / (
        out["weights_gb"]
    )
    if device.type == "cuda":
        out["cuda_peak_gb"] = torch.cuda.max_memory_allocated(device) / GB
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Load a checkpoint; print load time and peak RSS.")
    p.add_argument("checkpoint")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--threads", type=int)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(json.dumps(probe_load(args.checkpoint, args.device, args.dtype)))


if __name__ == "__main__":
    main()
