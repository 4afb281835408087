"""The `seed` part (`--baseline seed`): the same work done the original implementation's way
(`benchmarks.seed_baseline`), checked to compute the same scores and tokens, and the ratios."""

from __future__ import annotations

from artimuse.prompts import ASPECTS, RADAR_ASPECTS, SCORE_KEYS
from benchmarks.context import Context
from benchmarks.measure import clock
from benchmarks.seed_baseline import SeedBaseline


def bench_seed(ctx: Context) -> dict:
    """Each piece of seed work runs once and is timed; the demo and evaluation-script totals are
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
        rows, comments_s = clock(lambda: seed.comments(pixels, RADAR_ASPECTS, n), dev)
        out["demo_report"] = {
            "total_s": out["scores_s"] + comments_s,
            "scores_s": out["scores_s"],
            "comments_s": comments_s,
            "comments": len(rows),
        }
        single = [clock(lambda a=a: seed.comments(pixels, [a], n), dev)[1] for a in ASPECTS]
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
    engine_rows = [list(r) for r in zip(*e.generate(e.prefill(pixels), suffixes, steps))]
    seed_rows = seed.comments(pixels, aspects, steps)
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
