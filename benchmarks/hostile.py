"""The hostile corpus against the REST service in process (its test client) on the tiny
conformance checkpoint, plus the heaviest inputs still accepted: statuses per endpoint, and per
input the worst wall time, the worst time on the model thread and on the decoding thread, and
the worst rise of the process's RSS over what it was before. Prints one JSON object.

    python -m benchmarks.hostile [--scale 2] [--skip-heavy]
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import struct
import threading
import time
import zlib
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

import artimuse
from artimuse.config import ServiceSettings
from artimuse.inference import work_queue
from artimuse.rest import uploads
from artimuse.rest.app import create_app
from artimuse.testing.hostile import REFUSE, VALID, Hostile, hostile_inputs, png_chunk

TINY_A = Path(__file__).resolve().parents[1] / "tests" / "data" / "tiny-a"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakRss:
    """Samples the RSS every millisecond or two while a request runs."""

    def __enter__(self):
        self.base = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())
        self.rise_mb = (self.peak - self.base) / 2**20


class Stopwatch:
    """Durations of the jobs on the model thread and on the decoding thread."""

    def __init__(self):
        self.model, self.decode = [], []
        timed, prepare = work_queue.WorkQueue._timed, uploads.Decoder.prepare
        watch = self

        def timed_job(queue, job):
            started = time.perf_counter()
            try:
                return timed(queue, job)
            finally:
                watch.model.append(time.perf_counter() - started)

        async def timed_prepare(decoder, model, data, label):
            def run():
                started = time.perf_counter()
                try:
                    return model.prepare(data, label)
                finally:
                    watch.decode.append(time.perf_counter() - started)

            class Timed:  # the decoder calls model.prepare(data, label)
                prepare = staticmethod(lambda d, n: run())

            return await prepare(decoder, Timed, data, label)

        work_queue.WorkQueue._timed = timed_job
        uploads.Decoder.prepare = timed_prepare

    def take(self) -> tuple[float, float]:
        model, decode = sum(self.model), sum(self.decode)
        self.model.clear()
        self.decode.clear()
        return model, decode


def heavy_inputs() -> list[Hostile]:
    """The most expensive files still accepted (and the 1 x 64,000,000 strip, now refused)."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 8000, dtype=np.float32)
    big = np.clip(ramp[None, :, None] + ramp[:, None, None] / 4, 0, 255).astype(np.uint8)
    big = np.repeat(big, 3, axis=2)
    big[::97, ::89] = rng.integers(0, 256, big[::97, ::89].shape)

    def encode(image, fmt, **params) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **params)
        return buffer.getvalue()

    def png_of_zeros(width: int, height: int, depth: int = 8, colour: int = 0) -> bytes:
        row = b"\x00" * (1 + width * (depth // 8) * (3 if colour == 2 else 1))
        compressor = zlib.compressobj(9)
        idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
        ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
                + png_chunk(b"IEND", b""))

    return [
        Hostile("heavy/jpeg-8000x8000", encode(Image.fromarray(big), "JPEG", quality=85), VALID),
        Hostile("heavy/png16-8000x8000-zeros", png_of_zeros(8000, 8000, 16), VALID),
        Hostile("heavy/png-rgb-8000x8000-zeros", png_of_zeros(8000, 8000, 8, 2), VALID),
        Hostile("heavy/png-65535x976-zeros", png_of_zeros(65535, 976), VALID),
        Hostile("heavy/png-976x65535-zeros", png_of_zeros(976, 65535), VALID),
        Hostile("heavy/png-1x64000000-zeros", png_of_zeros(1, 64_000_000), REFUSE),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=2, help="corpus size, ~340 per unit")
    parser.add_argument("--skip-heavy", action="store_true")
    args = parser.parse_args(argv)
    corpus = hostile_inputs(seed=1, scale=args.scale)
    heavy = [] if args.skip_heavy else heavy_inputs()
    model = artimuse.load(str(TINY_A), device="cpu", dtype="float32", max_new_tokens=12)
    watch = Stopwatch()
    report = {"inputs": len(corpus) + len(heavy), "endpoints": {}}
    with TestClient(create_app(model, ServiceSettings()), raise_server_exceptions=False) as client:
        plans = {
            "/score": corpus + heavy,
            "/infer": corpus[::10] + heavy,
            "/infer/stream": corpus[::10] + heavy,
        }
        for path, inputs in plans.items():
            report["endpoints"][path] = run_endpoint(client, path, inputs, watch)
        report["endpoints"]["/score/batch"] = run_batches(client, corpus + heavy, watch)
    report["rss_now_mb"] = round(rss_bytes() / 2**20, 1)
    print(json.dumps(report, indent=2))


def send(client: TestClient, path: str, hostile: Hostile) -> tuple[int, str]:
    files = {"file": (hostile.name, hostile.data)}
    if path == "/infer/stream":
        with client.stream("POST", path, files=files) as response:
            body = b"".join(response.iter_bytes())
            return response.status_code, body.decode(errors="replace")
    response = client.post(path, files=files)
    return response.status_code, response.text


def run_endpoint(client: TestClient, path: str, inputs: list[Hostile], watch: Stopwatch) -> dict:
    statuses, worst, wrong = collections.Counter(), _Worst(), []
    for hostile in inputs:
        started = time.perf_counter()
        with PeakRss() as rss:
            status, body = send(client, path, hostile)
        model_s, decode_s = watch.take()
        statuses[status] += 1
        worst.add(hostile.name, time.perf_counter() - started, model_s, decode_s, rss.rise_mb)
        if status >= 500 or (hostile.expect == VALID and status != 200) or (
            hostile.expect == REFUSE and status == 200
        ):
            wrong.append({"input": hostile.name, "status": status, "body": body[:200]})
    return {"tried": len(inputs), "statuses": dict(sorted(statuses.items())),
            "unexpected": wrong, **worst.report()}


def run_batches(client: TestClient, inputs: list[Hostile], watch: Stopwatch) -> dict:
    statuses, worst, items = collections.Counter(), _Worst(), collections.Counter()
    light = [h for h in inputs if not h.name.startswith("heavy/")]
    chunks = [light[i : i + 16] for i in range(0, len(light), 16)]
    chunks.append([h for h in inputs if h.name.startswith("heavy/")])  # one batch of the worst
    chunks = [chunk for chunk in chunks if chunk]
    for chunk in chunks:
        started = time.perf_counter()
        with PeakRss() as rss:
            files = [("files", (h.name, h.data)) for h in chunk]
            response = client.post("/score/batch", files=files)
        model_s, decode_s = watch.take()
        statuses[response.status_code] += 1
        items.update(r["status"] for r in response.json().get("results", []))
        label = f"batch of {len(chunk)} from {chunk[0].name}"
        worst.add(label, time.perf_counter() - started, model_s, decode_s, rss.rise_mb)
    return {"tried": len(inputs), "batches": len(chunks), "statuses": dict(statuses),
            "item_statuses": dict(sorted(items.items())), **worst.report()}


class _Worst:
    def __init__(self):
        self.rows = []

    def add(self, name, wall, model, decode, rise) -> None:
        self.rows.append((name, wall, model, decode, rise))

    def report(self) -> dict:
        def top(index, unit):
            name, *values = max(self.rows, key=lambda row: row[index])
            return {"input": name, unit: round(values[index - 1], 3)}

        return {"worst_wall": top(1, "s"), "worst_model_thread": top(2, "s"),
                "worst_decode_thread": top(3, "s"), "worst_rss_rise": top(4, "mb")}


if __name__ == "__main__":
    main()
