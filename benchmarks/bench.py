"""ArtiMuse speed and memory benchmark on a random-weight checkpoint of a preset shape.

Prints one JSON object (see benchmarks/README.md for what every number means):

    python benchmarks/bench.py --preset 1b --dtype bfloat16 --threads 2 --baseline seed

Parts (`--skip` any): load (fresh subprocess: load time, peak RSS), bandwidth, scores, report
(8 comments of N forced tokens), decode (ms/step at batch 1 and 8 against the bandwidth bound),
dataset (images/s at batch 1, 4, 16), rss (RSS over repeated assessments). `--baseline seed`
also runs the original implementation's way (benchmarks/seed_baseline.py) and prints ratios.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script from anywhere

from measure import (  # noqa: E402
    GB,
    clock,
    cpu_features,
    forced_length,
    make_images,
    matmul_speed,
    memory_bandwidth,
    peak_rss_bytes,
    rss_bytes,
    slope,
    stopwatch,
    sync,
)
from seed_baseline import SeedBaseline  # noqa: E402

import artimuse  # noqa: E402
from artimuse.prompts import ASPECTS, RADAR_ASPECTS, SCORE_KEYS  # noqa: E402
from artimuse.results import Finished, ScoresReady  # noqa: E402
from artimuse.testing.checkpoints import PRESETS, ensure_checkpoint  # noqa: E402

log = logging.getLogger("bench")
PARTS = ("load", "bandwidth", "scores", "report", "decode", "dataset", "rss")
DATASET_BATCHES = (1, 4, 16)
# The original implementation on the project's 2-core CPU, preset 1b, bf16 (issue 3).
ORIGINAL_1B_CPU = {
    "scores_s": 15.7,
    "demo_report_s": 41.4,
    "eval_report_s": 97.8,
    "dataset_images_per_s": 0.62,
    "peak_rss_gb": 5.2,
    "weights_gb": 1.9,
}
REPEAT_RSS = {"tiny": 100, "1b": 20, "8b": 10}


@dataclass
class Context:
    args: argparse.Namespace
    model: artimuse.ArtiMuse
    image: Path
    paths: list[Path]
    scores: artimuse.Scores | None = None  # the engine's scores of `image`, once measured
    _bandwidth: dict | None = field(default=None, repr=False)

    @property
    def engine(self):
        return self.model.engine

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def pixels(self) -> torch.Tensor:
        return self.model.pixels(self.image)

    def bandwidth(self) -> dict:
        if self._bandwidth is None:
            self._bandwidth = memory_bandwidth(self.device, self.args.bandwidth_gb)
        return self._bandwidth


# ---------------------------------------------------------------------------------------------
# Parts


def bench_bandwidth(ctx: Context) -> dict:
    """Memory bandwidth, and matmul speed in the model's dtype vs float32 on an LM MLP weight."""
    lm = ctx.engine.backbone
    gate = lm.layers[0].mlp.gate_proj  # (hidden -> intermediate)
    return ctx.bandwidth() | {"matmul": matmul_speed(gate, ctx.model.dtype, ctx.device)}


def bench_scores(ctx: Context) -> dict:
    """Time to the 8 scores of one image from its file; where that time goes; the total alone.

    The breakdown comes from the timed runs themselves (the engine's methods are clocked).
    """
    m, e, dev = ctx.model, ctx.engine, ctx.device
    for _ in range(ctx.args.warmup):
        m.score(ctx.image)
    runs = []
    with stopwatch(
        dev,
        pixels=(m, "prepare"),  # decode + preprocess: what score() calls
        vision=(e.model, "image_features"),
        prefill=(e, "prefill"),
        scores=(e, "scores"),
    ) as parts:
        for _ in range(ctx.args.repeats):
            ctx.scores, seconds = clock(lambda: m.score(ctx.image), dev)
            runs.append(seconds)
    i = runs.index(statistics.median_low(runs))
    cache = e.prefill(ctx.pixels)
    # Apart: what the total alone costs (the dataset path) and what the 7 aspects add.
    _, total_forward_s = clock(lambda: e.scores(cache, SCORE_KEYS[:1]), dev)
    _, aspects_forward_s = clock(lambda: e.scores(cache, SCORE_KEYS[1:]), dev)
    return {
        "scores_s": statistics.median(runs),
        "runs": len(runs),
        "image_to_pixels_s": parts["pixels"][i],
        "vision_s": parts["vision"][i],
        "prefix_prefill_s": parts["prefill"][i] - parts["vision"][i],
        "score_batch_s": parts["scores"][i],
        "total_score_s": parts["prefill"][i] + total_forward_s,
        "total_only_forward_s": total_forward_s,
        "aspects_only_forward_s": aspects_forward_s,
        "prefix_tokens": len(e.prefix_ids),
        "suffix_tokens": {k: len(e.score_suffixes[k]) for k in SCORE_KEYS},
    }


def full_report(model: artimuse.ArtiMuse, image: Path, new_tokens: int) -> dict:
    """`stream` (what `assess` runs) with every comment forced to `new_tokens` tokens."""
    sync(model.device)
    start = time.perf_counter()
    scores_s = None
    with forced_length(model.engine):
        for event in model.stream(image, ASPECTS, new_tokens):
            if isinstance(event, ScoresReady):
                scores_s = time.perf_counter() - start
            elif isinstance(event, Finished):
                comments = len(event.assessment.comments)
    sync(model.device)
    total_s = time.perf_counter() - start
    return {
        "total_s": total_s,
        "scores_s": scores_s,
        "comments_s": total_s - scores_s,
        "comments": comments,
    }


def bench_report(ctx: Context) -> dict:
    n = ctx.args.new_tokens
    if "scores" in ctx.args.skip:
        for _ in range(ctx.args.warmup):
            full_report(ctx.model, ctx.image, 2)
    runs = [full_report(ctx.model, ctx.image, n) for _ in range(ctx.args.report_repeats)]
    best = min(runs, key=lambda run: run["total_s"])
    return {
        "new_tokens": n,
        "comments": best["comments"],
        "report_s": statistics.median(run["total_s"] for run in runs),
        "scores_s": best["scores_s"],
        "comments_s": best["comments_s"],
        "comment_tokens_per_s": best["comments"] * n / best["comments_s"],
        "runs": len(runs),
    }


def decode_steps(ctx: Context, cache, batch: int, steps: int) -> dict:
    """Per-step wall time of `Engine.generate` at `batch` rows over one image's prefix cache."""
    e = ctx.engine
    cache = copy.deepcopy(cache)  # generate consumes it
    suffixes = [e.comment_suffix(ASPECTS[i % len(ASPECTS)]) for i in range(batch)]
    sync(ctx.device)
    start = time.perf_counter()
    stamps = [time.perf_counter() for _ in e.generate(cache, suffixes, steps, ignore_eos=True)]
    intervals = [b - a for a, b in zip(stamps, stamps[1:])]  # each: forward + lm_head + argmax
    kv_bytes = sum(t.nbytes for layer in cache.layers for t in (layer.keys, layer.values))
    return {
        "ms_per_step": 1000 * statistics.median(intervals),
        "ms_per_step_mean": 1000 * statistics.fmean(intervals),
        "first_token_ms": 1000 * (stamps[0] - start),
        "kv_cache_mb": kv_bytes / 1e6,
    }


def lm_read_bytes(model: artimuse.ArtiMuse) -> int:
    """Bytes of LM weights one decode step reads: every LM parameter, lm_head included, but
    not the embedding table (a step gathers only B of its rows) unless lm_head is tied to it."""
    lm = model.engine.model.language_model
    table = lm.get_input_embeddings().weight
    tied = getattr(model.engine.lm_head, "weight", None) is table
    return weight_bytes(lm) - (0 if tied else table.nbytes)


def weight_bytes(module: torch.nn.Module) -> int:
    """Parameters, and the Linear weights that cpu_compute moved into packed buffers."""
    return sum(
        t.nbytes for t in (*module.parameters(), *module.buffers()) if t.dtype.is_floating_point
    )


def bench_decode(ctx: Context) -> dict:
    steps = ctx.args.decode_steps
    cache = ctx.engine.prefill(ctx.pixels)
    if "scores" in ctx.args.skip and ctx.args.warmup:
        decode_steps(ctx, cache, 8, 3)
    read = lm_read_bytes(ctx.model)
    bandwidth = ctx.bandwidth()["read_gbps"]
    bound_ms = 1000 * read / (bandwidth * GB)
    out = {"steps": steps, "lm_read_gb": read / GB, "read_gbps": bandwidth, "bound_ms": bound_ms}
    for batch in (1, 8):
        run = decode_steps(ctx, cache, batch, steps)
        kv_bound = 1000 * (read + run["kv_cache_mb"] * 1e6) / (bandwidth * GB)
        out[f"batch_{batch}"] = {
            **run,
            "over_bound": run["ms_per_step"] / bound_ms,
            "bound_with_kv_ms": kv_bound,
        }
    return out


def bench_dataset(ctx: Context) -> dict:
    """Images/s of `score_many` (total score only, as the dataset script) over JPEG files."""
    m, paths = ctx.model, ctx.paths
    out: dict = {"images": len(paths)}
    batches = ctx.args.dataset_batches
    for batch in batches:
        if ctx.args.warmup and (ctx.device.type != "cpu" or batch == batches[0]):
            list(m.score_many(paths[:batch], batch_size=batch))  # warm-up at this batch shape
        results, seconds = clock(
            lambda b=batch: list(m.score_many(paths, batch_size=b)), ctx.device
        )
        if any(isinstance(r, Exception) for r in results):
            raise RuntimeError(f"score_many failed on a generated image: {results}")
        out[f"batch_{batch}_images_per_s"] = len(paths) / seconds
    out["best_images_per_s"] = max(out[f"batch_{b}_images_per_s"] for b in batches)
    return out


def bench_rss(ctx: Context) -> dict:
    """Current RSS after each of N full assessments (short forced comments)."""
    n, tokens = ctx.args.repeat_rss, ctx.args.rss_new_tokens
    rss, cuda = [], []
    with forced_length(ctx.engine):
        for _ in range(n):
            ctx.model.assess(ctx.image, ASPECTS, tokens)
            rss.append(rss_bytes() / GB)
            if ctx.device.type == "cuda":
                cuda.append(torch.cuda.memory_allocated(ctx.device) / GB)
    settled = rss[len(rss) // 10 :]  # the first assessments warm the allocator up
    out = {
        "assessments": n,
        "new_tokens": tokens,
        "first_gb": rss[0],
        "last_gb": rss[-1],
        "max_gb": max(rss),
        "growth_mb": 1000 * (rss[-1] - rss[0]),
        "slope_kb_per_assessment": 1e6 * slope(settled),
    }
    if cuda:
        out |= {"cuda_first_gb": cuda[0], "cuda_last_gb": cuda[-1], "cuda_max_gb": max(cuda)}
    return out


# ---------------------------------------------------------------------------------------------
# The seed's way


def bench_seed(ctx: Context) -> dict:
    """The same work done the original implementation's way (benchmarks/seed_baseline.py).

    Each piece of seed work runs once and is timed; the demo and evaluation-script totals are
    sums of their sequential pieces (8 single-prompt scores + one 7-comment batch; the total
    score + 8 single comments). The first seed call is warmed by our own parts (same kernels).
    """
    seed, m, dev, n = SeedBaseline(ctx.engine), ctx.model, ctx.device, ctx.args.new_tokens
    pixels, pixels_s = clock(lambda: m.pixels(ctx.image), dev)
    key_s, theirs = {}, {}
    for key in SCORE_KEYS:
        probabilities, key_s[key] = clock(lambda k=key: seed.score(pixels, k), dev)
        theirs[key] = float(ctx.engine.expected_scores(probabilities))
    out: dict = {"check": seed_check(seed, ctx, theirs)}
    out["scores_s"] = pixels_s + sum(key_s.values())
    out["total_score_s"] = pixels_s + key_s["total"]
    if "report" not in ctx.args.skip:
        rows, comments_s = clock(lambda: seed.comments(pixels, RADAR_ASPECTS, n, True), dev)
        out["demo_report"] = {
            "total_s": out["scores_s"] + comments_s,
            "scores_s": out["scores_s"],
            "comments_s": comments_s,
            "comments": len(rows),
        }
        single = [clock(lambda a=a: seed.comments(pixels, [a], n, True), dev)[1] for a in ASPECTS]
        out["eval_report"] = {
            "total_s": out["total_score_s"] + sum(single),
            "scores_s": out["total_score_s"],
            "comments_s": sum(single),
            "comments": len(single),
        }
    if "dataset" not in ctx.args.skip:
        count = min(len(ctx.paths), ctx.args.seed_dataset_images)
        out["dataset_images_per_s"] = count / clock(lambda: seed.dataset(ctx.paths[:count]), dev)[1]
        out["dataset_images"] = count
    return out


def seed_check(seed: SeedBaseline, ctx: Context, theirs: dict) -> dict:
    """The baseline does the same work: same 8 scores, same greedy tokens (float32: exact)."""
    ours = ctx.scores or ctx.model.score(ctx.image)
    ours_by_key = {"total": ours.total, **ours.aspects}
    diff = max(abs(ours_by_key[k] - theirs[k]) for k in SCORE_KEYS)
    steps, e, pixels = min(ctx.args.new_tokens, 4), ctx.engine, ctx.pixels
    aspects = ASPECTS[:2]
    suffixes = [e.comment_suffix(a) for a in aspects]
    engine_rows = [list(r) for r in zip(*e.generate(e.prefill(pixels), suffixes, steps, True))]
    seed_rows = seed.comments(pixels, aspects, steps, ignore_eos=True)
    same = sum(a == b for er, sr in zip(engine_rows, seed_rows) for a, b in zip(er, sr))
    return {
        "score_max_abs_diff": diff,
        "tokens_compared": steps * len(aspects),
        "tokens_equal": same,
        "scores": {"engine": ours_by_key, "seed": theirs},
    }


def ratios(result: dict) -> dict:
    """Speed-ups of our engine over the seed's way measured in the same run."""
    seed, out = result.get("seed", {}), {}
    scores, report, dataset = (result.get(k, {}) for k in ("scores", "report", "dataset"))
    if "scores_s" in seed and "scores_s" in scores:
        out["scores"] = seed["scores_s"] / scores["scores_s"]
        out["total_score"] = seed["total_score_s"] / scores["total_score_s"]
    if "demo_report" in seed and "report_s" in report:
        out["report_vs_demo"] = seed["demo_report"]["total_s"] / report["report_s"]
        out["report_vs_eval_script"] = seed["eval_report"]["total_s"] / report["report_s"]
    if "dataset_images_per_s" in seed and "best_images_per_s" in dataset:
        out["dataset"] = dataset["best_images_per_s"] / seed["dataset_images_per_s"]
    return out


def targets(result: dict) -> list[dict]:
    """Issue 3's goals for the preset and device of this run (1b on CPU, 8b on a GPU)."""
    parts = ("scores", "report", "decode", "dataset", "load")
    s, rep, dec, ds, load = (result.get(k, {}) for k in parts)
    n = result["new_tokens"]
    goals = []
    if result["preset"] == "1b" and result["device"] == "cpu":
        goals = [
            ("scores_s", s.get("scores_s"), 2.0, "<="),
            (f"report_s ({n} tokens; goal set for 128)", rep.get("report_s"), 14.0, "<="),
            ("decode batch 8 / bound", dec.get("batch_8", {}).get("over_bound"), 1.5, "<="),
            (
                "dataset images/s",
                ds.get("best_images_per_s"),
                1.5 * ORIGINAL_1B_CPU["dataset_images_per_s"],
                ">=",
            ),
            ("dataset images/s / seed's way", result["ratios"].get("dataset"), 1.5, ">="),
            ("peak RSS / weights", load.get("peak_rss_use_over_weights"), 1.3, "<="),
        ]
    elif result["preset"] == "8b" and result["device"].startswith("cuda"):
        goals = [
            ("scores_s", s.get("scores_s"), 0.150, "<="),
            (f"report_s ({n} tokens; goal set for 256)", rep.get("report_s"), 8.0, "<="),
        ]
    rows = []
    for name, value, goal, op in goals:
        met = None if value is None else (value <= goal if op == "<=" else value >= goal)
        rows.append({"target": name, "value": value, "goal": f"{op} {goal:g}", "met": met})
    return rows


# ---------------------------------------------------------------------------------------------
# Loading, in a fresh process so that its peak RSS is the load's (and the first use's) own


def bench_load(args: argparse.Namespace, ckpt: Path) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--probe-load",
        str(ckpt),
        "--device",
        args.device,
        "--dtype",
        args.dtype,
    ]
    if args.threads:
        command += ["--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"load probe failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def probe_load(args: argparse.Namespace) -> None:
    """Child process: load, measure, run one score and one short report, print one JSON line."""
    device = torch.device(args.device if args.device != "cuda" else "cuda:0")
    before = rss_bytes()
    start = time.perf_counter()
    model = artimuse.load(args.probe_load, device=args.device, dtype=args.dtype)
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
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------


def machine(args: argparse.Namespace) -> dict:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_avg_start": os.getloadavg(),
        "cpu_features": cpu_features(),
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
    started = time.perf_counter()
    ckpt, made_s = prepare_checkpoint(args)
    result = {
        "preset": args.preset,
        "device": args.device,
        "dtype": args.dtype,
        "new_tokens": args.new_tokens,
        "checkpoint": str(ckpt),
        "checkpoint_ready_s": made_s,
        "machine": machine(args),
        "skipped": list(args.skip),
    }
    save = lambda: write(result, args.out)  # noqa: E731  (after every part: a partial result)
    if "load" not in args.skip:  # before this process loads: no two copies in memory
        log.info("load (subprocess)")
        result["load"] = bench_load(args, ckpt)
        save()
    model = artimuse.load(str(ckpt), device=args.device, dtype=args.dtype)
    with tempfile.TemporaryDirectory() as folder:
        paths = make_images(Path(folder), max(args.dataset_images, 1))
        ctx = Context(args, model, paths[0], paths)
        parts = {
            "bandwidth": bench_bandwidth,
            "scores": bench_scores,
            "report": bench_report,
            "decode": bench_decode,
            "dataset": bench_dataset,
            "rss": bench_rss,
        }
        if args.baseline == "seed":
            parts["seed"] = bench_seed
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
            save()
    result["ratios"] = ratios(result)
    if args.preset == "1b" and args.device == "cpu" and args.dtype == "bfloat16":
        result["vs_original"] = vs_original(result)
    result["targets"] = targets(result)
    result["machine"]["load_avg_end"] = os.getloadavg()
    result["wall_s"] = time.perf_counter() - started
    save()
    return result


def vs_original(result: dict) -> dict:
    """Speed-ups over the original implementation's figures measured on the project's CPU."""
    o, out = ORIGINAL_1B_CPU, {}
    if "scores_s" in result.get("scores", {}):
        out["scores"] = o["scores_s"] / result["scores"]["scores_s"]
    if "report_s" in result.get("report", {}):
        out["report_vs_demo"] = o["demo_report_s"] / result["report"]["report_s"]
        out["report_vs_eval_script"] = o["eval_report_s"] / result["report"]["report_s"]
    if "best_images_per_s" in result.get("dataset", {}):
        out["dataset"] = result["dataset"]["best_images_per_s"] / o["dataset_images_per_s"]
    return out


def write(result: dict, out: Path | None) -> None:
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
    p.add_argument("--baseline", choices=("seed",), help="also time the original's way")
    p.add_argument("--skip", nargs="*", default=[], choices=PARTS, help="parts not to run")
    p.add_argument("--repeats", type=int, default=3, help="timed runs of the scores (median)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs before the first timing")
    p.add_argument("--report-repeats", type=int, default=1, help="timed full reports")
    p.add_argument("--decode-steps", type=int, default=32, help="steps per decode timing")
    p.add_argument("--dataset-images", type=int, default=32)
    p.add_argument("--dataset-batches", type=lambda t: [int(b) for b in t.split(",")],
                   default=list(DATASET_BATCHES), help="comma-separated batch sizes")
    p.add_argument("--seed-dataset-images", type=int, default=8)
    p.add_argument("--repeat-rss", type=int, help="assessments (default: tiny 100, 1b 20, 8b 10)")
    p.add_argument("--rss-new-tokens", type=int, default=8)
    p.add_argument("--bandwidth-gb", type=float, default=1.0, help="buffer of the bandwidth test")
    p.add_argument("--deadline-s", type=float, help="skip the parts that would start after this")
    p.add_argument("--ckpt-dir", type=Path, help="default: .benchmarks/<preset>-<dtype>")
    p.add_argument("--out", type=Path, help="also write the JSON here (after every part)")
    p.add_argument("--probe-load", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.ckpt_dir = args.ckpt_dir or Path(".benchmarks") / f"{args.preset}-{args.dtype}"
    args.repeat_rss = args.repeat_rss or REPEAT_RSS[args.preset]
    if args.new_tokens < 2 or args.decode_steps < 3:
        p.error("--new-tokens must be >= 2 and --decode-steps >= 3")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.probe_load:
        probe_load(args)
        return
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
