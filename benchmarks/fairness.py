"""Fair shares under a flood: one client holds `--flood` concurrent `/infer` requests (re-sent as
soon as each ends, refusals included), another sends `/score` requests one after another; JSON
with the second client's latency and statuses, alone and during the flood.

    python -m benchmarks.fairness --url http://127.0.0.1:8000 --flood 16 --requests 20

The two clients connect from different loopback addresses (127.0.0.2, 127.0.0.3), so a server
on 127.0.0.1 sees two clients; point it at any server (this branch's or an older one) to compare.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import threading
import time
from collections import Counter

import httpx
from PIL import Image

FLOODER, POLITE = "127.0.0.2", "127.0.0.3"


def picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def client(address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(transport=transport, timeout=300, limits=httpx.Limits(max_connections=64))


def flood(url: str, workers: int, stop: threading.Event, statuses: Counter) -> list:
    image = picture()

    def hammer(http: httpx.Client) -> None:
        while not stop.is_set():
            try:
                status = http.post(f"{url}/infer", files={"file": ("f.jpg", image)}).status_code
            except httpx.HTTPError:
                status = "error"
            statuses[status] += 1
            if status != 200:
                time.sleep(0.02)  # a greedy client: retries at once, barely pausing

    threads = []
    http = client(FLOODER)
    for _ in range(workers):
        thread = threading.Thread(target=hammer, args=(http,), daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def polite(url: str, requests: int) -> dict:
    image, latencies, statuses = picture(), [], Counter()
    with client(POLITE) as http:
        for _ in range(requests):
            started = time.perf_counter()
            status = http.post(f"{url}/score", files={"file": ("p.jpg", image)}).status_code
            statuses[status] += 1
            if status == 200:
                latencies.append(time.perf_counter() - started)
    ordered = sorted(latencies)
    return {
        "statuses": dict(statuses),
        "served": f"{len(latencies)}/{requests}",
        "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else None,
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1) if ordered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the service, e.g. http://127.0.0.1:8000")
    parser.add_argument("--flood", type=int, default=16, help="the flooding client's requests")
    parser.add_argument("--requests", type=int, default=20, help="the other client's requests")
    parser.add_argument("--warmup-s", type=float, default=2.0, help="flood before measuring")
    args = parser.parse_args()
    url = args.url.rstrip("/")
    alone = polite(url, args.requests)
    stop, flooded = threading.Event(), Counter()
    threads = flood(url, args.flood, stop, flooded)
    time.sleep(args.warmup_s)  # let the flood fill the queue (a measurement, not a sync)
    during = polite(url, args.requests)
    stop.set()
    for thread in threads:
        thread.join(300)
    with open("/proc/loadavg") as load:
        loadavg = load.read().split()[:3]
    print(json.dumps({
        "second_client_alone": alone,
        "second_client_during_flood": during,
        "flooding_client_statuses": dict(flooded),
        "flood_concurrency": args.flood,
        "loadavg": loadavg,
    }, indent=2))


if __name__ == "__main__":
    main()
