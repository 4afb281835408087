"""The `bandwidth` and `decode` parts: what streaming weights can reach, and how near a decode
step comes to that bound."""

from __future__ import annotations

import copy
import statistics
import time

import artimuse
from artimuse.prompts import ASPECTS
from benchmarks.context import Context
from benchmarks.measure import GB, matmul_speed, sync, weight_bytes


def bench_bandwidth(ctx: Context) -> dict:
    """Memory bandwidth, and matmul speed in the model's dtype vs float32 on an LM MLP weight."""
    gate = ctx.engine.backbone.layers[0].mlp.gate_proj  # (hidden -> intermediate)
    return ctx.bandwidth() | {"matmul": matmul_speed(gate, ctx.model.dtype, ctx.device)}


def decode_steps(ctx: Context, cache, batch: int, steps: int) -> dict:
    """Per-step wall time of `Engine.generate` at `batch` rows over one image's prefix cache
    (every row runs `steps` steps: the benchmark's engine ignores EOS)."""
    e = ctx.engine
    cache = copy.deepcopy(cache)  # generate consumes it
    suffixes = [e.comment_suffix(ASPECTS[i % len(ASPECTS)]) for i in range(batch)]
    sync(ctx.device)
    start = time.perf_counter()
    stamps = [time.perf_counter() for _ in e.generate(cache, suffixes, steps)]
    intervals = [b - a for a, b in zip(stamps, stamps[1:])]  # each: forward + lm_head + argmax
    kv_bytes = sum(t.nbytes for layer in cache.layers for t in (layer.keys, layer.values))
    return {
        "ms_per_step": 1000 * statistics.median(intervals),
        "ms_per_step_mean": 1000 * statistics.fmean(intervals),
        "first_token_ms": 1000 * (stamps[0] - start),
        "kv_cache_mb": kv_bytes / 1e6,
    }


def lm_read_bytes(model: artimuse.ArtiMuse) -> int:
    """Bytes of LM weights one decode step reads, as stored: every LM parameter, lm_head
    included, but not the embedding table (a step gathers only B of its rows) unless lm_head
    is tied to it. The table may be quantized (int8 rows and scales, no `.weight`)."""
    lm = model.engine.model.language_model
    table = lm.get_input_embeddings()
    weight = getattr(table, "weight", None)
    tied = weight is not None and getattr(model.engine.lm_head, "weight", None) is weight
    return weight_bytes(lm) - (0 if tied else weight_bytes(table))


def bench_decode(ctx: Context) -> dict:
    """ms per decode step at batch 1 and 8 against the weight-streaming bound."""
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
