"""`eval --ray` against the one-process eval: images/s, Ray's per-image overhead, RSS per worker.

    python -m benchmarks.ray_eval --preset 1b --images 24 --out .benchmarks/ray-1b.json

Scores the same generated JPEG dataset (total score only, as `artimuse eval`) three ways: in this
process (`evaluation.score_dataset`), and on a local Ray with 1 and 2 model actors
(`distributed.evaluation.score_dataset_on_ray`, what `eval --ray --workers N` runs). Prints one JSON
object. `wall_s` and `images_per_s` are the whole run, model loading (and actor start) included;
`steady_images_per_s` counts after every worker's first batch. `ray_overhead_ms_per_image` is
one actor against one process with the same threads, per image: on the tiny preset, 64x48
images and one thread each, where model and decoding take milliseconds, it is Ray's own cost
(a decode task, pixels through the object store, Arrow rows back). The preset's runs use the
defaults of `eval` and `eval --ray` (torch's threads; an equal share of CPUs per worker).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

GB = 1e9


def make_dataset(folder: Path, count: int, size: tuple[int, int] = (640, 480)) -> Path:
    """`count` JPEGs of smooth random colour fields and a test.json with made-up truth."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(count):
        corners = rng.integers(0, 256, (2, 2, 3)).astype(np.uint8)
        picture = Image.fromarray(corners).resize(size, Image.BICUBIC)
        picture.save(folder / "images" / f"{i:04d}.jpg", quality=90)
        entries.append({"image": f"{i:04d}.jpg", "gt_score": float(rng.uniform(1, 10))})
    (folder / "test.json").write_text(json.dumps(entries))
    return folder


class Arrivals:
    """Times at which records arrive: the on_record callback of both scorers."""

    def __init__(self, first_round: int):
        self.first_round = first_round  # results of the first batch of every worker
        self.start, self.times = time.perf_counter(), []

    def __call__(self, record: dict) -> None:
        if "score" not in record:
            raise RuntimeError(f"a generated image failed: {record}")
        self.times.append(time.perf_counter())

    def summary(self) -> dict:
        """Wall time; images/s after the first round (start-up and model loading left out)."""
        times, k = self.times, min(self.first_round, len(self.times) - 1)
        steady = (len(times) - k) / (times[-1] - times[k - 1]) if times[-1] > times[k - 1] else None
        return {
            "images": len(times),
            "wall_s": round(times[-1] - self.start, 2),
            "first_result_s": round(times[0] - self.start, 2),
            "images_per_s": round(len(times) / (times[-1] - self.start), 4),
            "steady_images_per_s": None if steady is None else round(steady, 4),
        }


class WorkerRss:
    """Polls /proc for the Ray actor processes that score and keeps each one's largest RSS."""

    def __init__(self, marker: str = "_Scorer", every_s: float = 0.2):
        self.marker, self.every_s, self.peak = marker.encode(), every_s, {}
        self.before = {p.name for p in Path("/proc").iterdir()}  # a previous run's actors
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def _poll(self) -> None:
        while not self.stop.wait(self.every_s):
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit() and proc.name not in self.before:
                    self._sample(proc)

    def _sample(self, proc: Path) -> None:
        try:
            if self.marker not in (proc / "cmdline").read_bytes():
                return
            status = (proc / "status").read_text()
        except OSError:
            return
        rss = next(int(line.split()[1]) * 1024 for line in status.splitlines() if "VmRSS" in line)
        self.peak[proc.name] = max(self.peak.get(proc.name, 0), rss)

    def gigabytes(self) -> list[float]:
        return sorted(round(v / GB, 2) for v in self.peak.values())


def one_process(ckpt: Path, dataset, dtype: str, batch: int, out: Path, threads) -> dict:
    """`artimuse eval` without Ray, in a fresh process (no Ray threads, its own peak RSS)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(_one_process, ckpt, dataset, dtype, batch, out, threads).result()


def _one_process(ckpt: Path, dataset, dtype: str, batch: int, out: Path, threads) -> dict:
    import artimuse
    from artimuse.evaluation import ProgressLog, score_dataset

    if threads:
        torch.set_num_threads(threads)
    started = time.perf_counter()
    model = artimuse.load(str(ckpt), device="cpu", dtype=dtype)
    load_s = time.perf_counter() - started
    arrivals = Arrivals(batch)
    score_dataset(model, dataset, ProgressLog(out), {}, batch, arrivals)
    result = arrivals.summary() | {"load_s": round(load_s, 2), "threads": torch.get_num_threads()}
    result["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB, 2)
    return result


def on_ray(ckpt: Path, dataset, dtype: str, batch: int, shape, out: Path) -> dict:
    from artimuse.distributed.data import ScorerSpec
    from artimuse.distributed.evaluation import score_dataset_on_ray
    from artimuse.evaluation import ProgressLog

    spec = ScorerSpec(str(ckpt.resolve()), "cpu", dtype, aspects=False)
    arrivals = Arrivals(shape.count * batch)
    with WorkerRss() as rss:
        score_dataset_on_ray(dataset, ProgressLog(out), {}, arrivals, spec, shape, batch)
    result = arrivals.summary() | dataclasses.asdict(shape) | {"threads_per_worker": shape.threads}
    return result | {"worker_peak_rss_gb": rss.gigabytes()}


def compare(ckpt: Path, dtype: str, dataset, args, work: Path, threads: int | None = None) -> dict:
    """One process, 1 and 2 workers on the Ray that is running, one process again: the two
    one-process runs bracket how the load of a shared machine moved meanwhile. `threads`:
    that many torch threads everywhere (a CPU share of that size per worker), else defaults."""
    from artimuse.distributed.cluster import Workers, size_workers

    tag, batch = ckpt.name, args.batch_size
    runs = {"one_process": one_process(ckpt, dataset, dtype, batch, work / tag, threads)}
    for n in args.workers:
        shape = Workers(n, float(threads), 0.0) if threads else size_workers(n)
        runs[f"ray_{n}_workers"] = on_ray(ckpt, dataset, dtype, batch, shape, work / f"{tag}-{n}")
    again = one_process(ckpt, dataset, dtype, batch, work / f"{tag}-again", threads)
    runs["one_process_again"] = again
    base = max(runs[k]["steady_images_per_s"] or 0 for k in ("one_process", "one_process_again"))
    for n in args.workers:
        run = runs[f"ray_{n}_workers"]
        if base and run["steady_images_per_s"]:
            run["steady_speed_vs_one_process"] = round(run["steady_images_per_s"] / base, 3)
    single = runs.get("ray_1_workers", {}).get("steady_images_per_s")
    if base and single:  # the same threads as one process: the difference is Ray's doing
        runs["ray_overhead_ms_per_image"] = round(1e3 * (1 / single - 1 / base), 1)
    runs["load_average_after"] = os.getloadavg()
    return runs


def checkpoint(preset: str, dtype: str, root: Path) -> Path:
    from artimuse.testing.checkpoints import PRESETS, ensure_checkpoint

    return ensure_checkpoint(root / f"{preset}-{dtype}", dataclasses.replace(PRESETS[preset]))


def run(args: argparse.Namespace) -> dict:
    import ray

    from artimuse.distributed.cluster import connect, local_cpus
    from artimuse.evaluation import read_dataset

    work = Path(tempfile.mkdtemp(prefix="ray-eval-"))
    datasets = {}
    # overhead run: small images decode in no time, so what Ray adds is not hidden by decoding
    for name, count, size in (("tiny", args.tiny_images, (64, 48)), ("model", args.images, None)):
        folder = make_dataset(work / name, count, size or (640, 480))
        datasets[name] = read_dataset(folder / "test.json", folder / "images")
    result = {
        "machine": {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()},
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    started = time.perf_counter()
    connect(None)  # a local Ray, as `eval --ray` without an address starts
    result["ray"] = {
        "version": ray.__version__,
        "logical_cpus": local_cpus(),
        "start_s": round(time.perf_counter() - started, 2),
    }
    try:
        tiny = checkpoint("tiny", "float32", args.ckpt_dir)
        # one thread each: Ray's own cost, without OpenMP's trouble on a busy 2-core machine
        result["tiny"] = compare(tiny, "float32", datasets["tiny"], args, work, threads=1)
        ckpt = checkpoint(args.preset, args.dtype, args.ckpt_dir)
        result[args.preset] = compare(ckpt, args.dtype, datasets["model"], args, work)
    finally:
        ray.shutdown()
    result["machine"]["load_average_after"] = os.getloadavg()
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="1b", choices=["tiny", "1b", "8b"])
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    parser.add_argument("--images", type=int, default=24, help="for --preset")
    parser.add_argument("--tiny-images", type=int, default=160, help="for the overhead run")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ckpt-dir", type=Path, default=Path(".benchmarks"))
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    text = json.dumps(run(args), indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
