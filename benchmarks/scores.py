"""The `scores` part: time to the 8 scores of one image from its file, and where it goes."""

from __future__ import annotations

import statistics

from artimuse.prompts import SCORE_KEYS
from benchmarks.context import Context
from benchmarks.measure import clock, stopwatch


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
