"""The `dataset` part: images/s of scoring a folder of JPEGs (total score only)."""

from __future__ import annotations

from benchmarks.context import Context
from benchmarks.measure import clock

DATASET_BATCHES = (1, 4, 16)  # the default of --dataset-batches


def bench_dataset(ctx: Context) -> dict:
    """Images/s of `score_many` (total score only, as the dataset script) over JPEG files, at
    each of `--dataset-batches`."""
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
