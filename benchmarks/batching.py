"""Batching across requests: `/score` throughput of the REST service with N concurrent clients,
score passes batched (`ServiceSettings.score_batch`) against one at a time (`score_batch=1`).

    python -m benchmarks.batching --preset tiny --clients 1,8,32 --requests 96

The service runs in this process (uvicorn on 127.0.0.1, a free port) around one loaded model;
the clients are httpx coroutines sending requests back to back. Prints one JSON object: per
mode and client count the requests/s, p50/p95 latency and the batch sizes the service ran.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import torch
import uvicorn
from PIL import Image

import artimuse
from artimuse.config import SCORE_BATCH_MAX, ServiceSettings
from artimuse.rest.app import create_app
from artimuse.testing.checkpoints import PRESETS, ensure_checkpoint
from benchmarks.context import checkpoint_arguments

MODES = {"one_at_a_time": 1, "batched": SCORE_BATCH_MAX}


def sample_jpegs(count: int = 8) -> list[bytes]:
    out = []
    for i in range(count):
        image = Image.linear_gradient("L").resize((320 + 64 * i, 240 + 48 * i)).convert("RGB")
        image = image.rotate(29 * i, fillcolor=(30 * i % 255, 90, 160))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


class Service:
    """The REST app served by uvicorn in a background thread, for the `with` block."""

    def __init__(self, model: artimuse.ArtiMuse, score_batch: int, queue_size: int):
        # Every client here has one address: give it the whole queue (no per-client cap).
        settings = ServiceSettings(
            queue_size=queue_size, client_jobs=queue_size, score_batch=score_batch
        )
        self.app = create_app(model, settings)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Service:
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


async def drive(port: int, clients: int, requests: int, images: list[bytes]) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    counter = iter(range(requests))

    async def client(http: httpx.AsyncClient) -> None:
        for n in counter:
            files = {"file": (f"image{n}.jpg", images[n % len(images)], "image/jpeg")}
            started = time.perf_counter()
            answer = await http.post("/score", files=files)
            if answer.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                failures.append(f"{answer.status_code}: {answer.text[:80]}")

    base = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        await http.post("/score", files={"file": ("warm.jpg", images[0], "image/jpeg")})
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests_per_s": len(latencies) / wall,
        "ok": len(latencies),
        "failed": len(failures),
        "failures": failures[:3],
        "p50_ms": 1000 * statistics.median(ordered) if ordered else None,
        "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))] if ordered else None,
    }


def measure(model, mode: str, clients: int, requests: int, images: list[bytes]) -> dict:
    with Service(model, MODES[mode], queue_size=max(64, 2 * clients)) as service:
        result = asyncio.run(drive(service.port, clients, requests, images))
        sizes = list(service.app.state.batcher.recent_sizes)[1:]  # after the warm-up request
    result["mean_batch"] = statistics.fmean(sizes) if sizes else None
    result["max_batch_seen"] = max(sizes, default=None)
    return result


def _median_run(results: list[dict]) -> dict:
    """The run with the median throughput, and every run's throughput."""
    ordered = sorted(results, key=lambda r: r["requests_per_s"])
    return {**ordered[len(ordered) // 2], "all_requests_per_s": [r["requests_per_s"] for r in
                                                              results]}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    checkpoint_arguments(p, preset="tiny")
    p.add_argument("--clients", default="1,8,32")
    p.add_argument("--requests", type=int, default=96, help="per client count and mode")
    p.add_argument("--rounds", type=int, default=1, help="interleaved runs of both modes")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = dataclasses.replace(PRESETS[args.preset], dtype="bfloat16")
    ckpt = ensure_checkpoint(args.ckpt or Path(".benchmarks") / f"{args.preset}-bfloat16", spec)
    model = artimuse.load(str(ckpt), device=args.device, dtype=args.dtype)
    images = sample_jpegs()
    report: dict = {"preset": args.preset, "device": args.device, "dtype": args.dtype,
                    "score_batch_max": SCORE_BATCH_MAX, "requests": args.requests}
    for clients in (int(c) for c in args.clients.split(",")):
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for _ in range(args.rounds):  # interleaved: a shared machine's load hits both alike
            for mode in MODES:
                runs[mode].append(measure(model, mode, clients, args.requests, images))
        row = {mode: _median_run(results) for mode, results in runs.items()}
        one = row["one_at_a_time"]["requests_per_s"]
        row["speedup"] = row["batched"]["requests_per_s"] / one if one else None
        report[f"clients_{clients}"] = row
        print(json.dumps({f"clients_{clients}": row}), file=sys.stderr)
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
