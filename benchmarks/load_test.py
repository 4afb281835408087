"""Load test of the REST service: N concurrent clients on loopback for a bounded time.

    # start the service itself (with the ARTIMUSE_* environment), run, stop it:
    ARTIMUSE_CKPT=tests/data/tiny-a ARTIMUSE_DEVICE=cpu ARTIMUSE_DTYPE=float32 \\
        python -m benchmarks.load_test --launch --clients 32 --duration 120
    # or against a service that already runs on this machine:
    python -m benchmarks.load_test --url http://127.0.0.1:8000 --pid 12345

Each client sends requests back to back, cycling through `--endpoints`; a 503 (queue full) or a
429 (this address has ARTIMUSE_CLIENT_JOBS jobs: every client here shares one address) is counted
apart from errors and the client waits its Retry-After, as a polite client would.
Prints one JSON object: counts, errors by kind, p50/p95/max latency of successful requests
(overall and per endpoint), throughput, the server's peak RSS (VmHWM) and whether it still
answered /health afterwards. Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
from PIL import Image

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ENDPOINTS = ("score", "infer", "infer/stream", "score/batch")
BATCH_FILES = 4


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # endpoint -> seconds
    rejected: int = 0  # 503 queue full, 429 this address's share taken
    errors: Counter = field(default_factory=Counter)  # "endpoint: status or exception"

    def ok(self, endpoint: str, seconds: float) -> None:
        self.latencies.setdefault(endpoint, []).append(seconds)


def sample_images(count: int = 4) -> list[bytes]:
    """Small JPEGs of different sizes and content, made here (no files needed)."""
    images = []
    for i in range(count):
        width, height = 320 + 160 * i, 240 + 90 * i
        image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
        image = image.rotate(37 * i, expand=False, fillcolor=(20 * i, 90, 160))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


async def one_request(client: httpx.AsyncClient, endpoint: str, images: list[bytes], n: int):
    """-> the response (its body fully read)."""
    if endpoint == "score/batch":
        files = [
            ("files", (f"{k}.jpg", images[(n + k) % len(images)], "image/jpeg"))
            for k in range(BATCH_FILES)
        ]
    else:
        files = {"file": (f"{n}.jpg", images[n % len(images)], "image/jpeg")}
    async with client.stream("POST", f"/{endpoint}", files=files) as response:
        await response.aread()  # a stream is timed to its last event
        return response


async def run_client(client, endpoints, images, deadline, budget, tally: Tally, index: int):
    n = index
    while time.monotonic() < deadline and budget.take():
        endpoint = endpoints[n % len(endpoints)]
        started = time.monotonic()
        try:
            response = await one_request(client, endpoint, images, n)
        except httpx.HTTPError as error:
            tally.errors[f"{endpoint}: {type(error).__name__}"] += 1
            n += 1
            continue
        elapsed = time.monotonic() - started
        if response.status_code == 200:
            tally.ok(endpoint, elapsed)
        elif response.status_code in (429, 503):
            tally.rejected += 1
            wait = float(response.headers.get("Retry-After", "1"))
            await asyncio.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        else:
            tally.errors[f"{endpoint}: HTTP {response.status_code}"] += 1
        n += 1


class Budget:
    """At most `total` requests over all clients (None: only the time bounds the run)."""

    def __init__(self, total: int | None):
        self.left = total

    def take(self) -> bool:
        if self.left is None:
            return True
        self.left -= 1
        return self.left >= 0


def percentiles(seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None, "count": 0}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive") if len(seconds) > 1 else None
    p50, p95 = (cuts[49], cuts[94]) if cuts else (seconds[0], seconds[0])
    return {
        "p50_ms": round(p50 * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
        "count": len(seconds),
    }


async def drive(args, headers: dict[str, str]) -> tuple[Tally, float]:
    images = sample_images()
    tally, budget = Tally(), Budget(args.max_requests)
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    timeout = httpx.Timeout(args.request_timeout)
    async with httpx.AsyncClient(
        base_url=args.url, limits=limits, timeout=timeout, headers=headers
    ) as client:
        started = time.monotonic()
        deadline = started + args.duration
        await asyncio.gather(
            *(
                run_client(client, args.endpoints, images, deadline, budget, tally, i)
                for i in range(args.clients)
            )
        )
        return tally, time.monotonic() - started


def peak_rss_mb(pid: int | None) -> float | None:
    """The process's peak resident set size (Linux VmHWM), in MiB."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kib = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), None
    )
    return None if kib is None else round(kib / 1024, 1)


def health(url: str, headers: dict[str, str]) -> dict | None:
    try:
        response = httpx.get(f"{url}/health", headers=headers, timeout=10)
        return response.json() if response.status_code == 200 else None
    except httpx.HTTPError:
        return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(port: int, log_path: Path) -> subprocess.Popen:
    """demo_api.py on 127.0.0.1:port with this environment; waits until /health answers."""
    root = Path(__file__).resolve().parent.parent
    log = log_path.open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            str(root / "demo_api.py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the service exited with {server.returncode}; see {log_path}")
        if health(f"http://127.0.0.1:{port}", {}):
            return server
        time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"the service did not answer /health within 300 s; see {log_path}")


def report(args, tally: Tally, wall: float, pid: int | None, after: dict | None) -> dict:
    every = [s for seconds in tally.latencies.values() for s in seconds]
    return {
        "clients": args.clients,
        "duration_s": round(wall, 1),
        "endpoints": list(args.endpoints),
        "requests": len(every) + tally.rejected + sum(tally.errors.values()),
        "ok": len(every),
        "rejected_503": tally.rejected,
        "errors": sum(tally.errors.values()),
        "errors_by_kind": dict(tally.errors),
        "latency": percentiles(every),
        "latency_by_endpoint": {e: percentiles(s) for e, s in tally.latencies.items()},
        "throughput_ok_per_s": round(len(every) / wall, 2) if wall else None,
        "server": {
            "pid": pid,
            "peak_rss_mb": peak_rss_mb(pid),
            "alive_after": after is not None,
            "health_after": after,
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    server = None
    if args.launch:
        port = free_port()
        args.url = f"http://127.0.0.1:{port}"
        server = launch(port, Path(args.server_log))
    pid = server.pid if server else args.pid
    try:
        tally, wall = asyncio.run(drive(args, headers))
        after = health(args.url, headers)
        print(json.dumps(report(args, tally, wall, pid, after), indent=2))
    finally:
        if server is not None:  # only the process this script started
            server.terminate()
            server.wait(30)
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a running service on this machine (loopback only)")
    target.add_argument("--launch", action="store_true", help="start demo_api.py, then stop it")
    parser.add_argument("--pid", type=int, help="the running service's pid, for its peak RSS")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds")
    parser.add_argument("--max-requests", type=int, help="stop after this many in all")
    parser.add_argument(
        "--endpoints",
        type=lambda s: tuple(s.split(",")),
        default=ENDPOINTS,
        help=f"comma-separated, cycled per client (default {','.join(ENDPOINTS)})",
    )
    parser.add_argument("--request-timeout", type=float, default=120.0)
    parser.add_argument("--api-key", default=os.environ.get("ARTIMUSE_API_KEY"))
    parser.add_argument(
        "--server-log",
        default=str(Path(tempfile.gettempdir()) / "artimuse_load_test_server.log"),
        help="where --launch writes the service's output",
    )
    args = parser.parse_args(argv)
    if args.url:
        args.url = args.url.rstrip("/")
        if urlparse(args.url).hostname not in LOOPBACK:
            parser.error(f"{args.url} is not on this machine: the load test runs on loopback only")
    unknown = set(args.endpoints) - set(ENDPOINTS)
    if unknown:
        parser.error(f"unknown endpoints {sorted(unknown)}; choose from {', '.join(ENDPOINTS)}")
    return args


if __name__ == "__main__":
    sys.exit(main())
