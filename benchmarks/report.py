"""The `report` and `rss` parts: full assessments (scores + 8 comments of N forced tokens).

Comments run to their `max_new_tokens` because the benchmark's model ignores EOS
(`benchmarks.context.load_model`), so every run does the same work.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

import artimuse
from artimuse.prompts import ASPECTS
from artimuse.results import Finished, ScoresReady
from benchmarks.context import Context
from benchmarks.measure import GB, rss_bytes, slope, sync


def full_report(model: artimuse.ArtiMuse, image: Path, new_tokens: int) -> dict:
    """`stream` (what `assess` runs) for the 8 comments of `new_tokens` tokens each."""
    sync(model.device)
    start = time.perf_counter()
    scores_s = None
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
    """Median time of full reports; the best run's split into scores and comments."""
    n = ctx.args.new_tokens
    if "scores" in ctx.args.skip:  # otherwise the scores part has warmed the same kernels
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


def bench_rss(ctx: Context) -> dict:
    """Current RSS after each of N full assessments (short comments)."""
    n, tokens = ctx.args.repeat_rss, ctx.args.rss_new_tokens
    rss, cuda = [], []
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
