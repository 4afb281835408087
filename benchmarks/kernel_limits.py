"""What this CPU's matmul kernels can do at one weight's shape: the limits the CPU goals meet.

    python -m benchmarks.kernel_limits [--shape 18944 3584] [--rows 1 8 64 300] [--out F.json]

For one weight (default: the 8B shape's MLP projection) and inputs of each `--rows` count, the
best-of-runs ms of every way the project can multiply it on a CPU: the bf16 probe's candidates
(`cpu_kernels.bf16_ways`: plain bf16, oneDNN's packed bf16, fbgemm's fp16 weights with float32
arithmetic), the int8 layer as loading builds it, the bare oneDNN int8 product of the two int8
parts that quant mode int8 sends (where the CPU's int8 products are exact), and the int4 layer.
Also a square float32 matmul's GFLOP/s (what the CPU's float32 FMA reaches: the floor of every
way without bf16 or int8 dot-product instructions) and the time to unpack the int4 weight's
nibbles to bf16 (the least a dequantize-then-bf16 prefill would add). One JSON, with the CPU
flags and torch's CPU capability; compare figures only within one run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from artimuse.inference.cpu_kernels import (
    best_ms,
    bf16_ways,
    choose_cpu_kernels,
    cpu_flags,
)
from artimuse.inference.quant import torch_cpu

SQUARE = 2048  # the float32 matmul: big enough to run at the FMA units' pace


def figure(value: float) -> float:
    """Four significant digits: a tiny shape's microseconds do not round to zero."""
    return float(f"{value:.4g}")


def float32_gflops() -> float:
    a, b = torch.randn(SQUARE, SQUARE), torch.randn(SQUARE, SQUARE)
    ms = best_ms({"mm": lambda: a @ b})["mm"]
    return figure(2 * SQUARE**3 / ms / 1e6)


def int8_ways(w: torch.Tensor) -> dict:
    """The int8 layer as loading builds it, and its bare oneDNN product where it takes one."""
    dense = choose_cpu_kernels(torch.device("cpu"), torch.bfloat16).dense_dtype  # as loading does
    int8 = torch_cpu.Int8Linear(*torch_cpu.quantize_int8(w), None, torch.bfloat16, dense)
    ways = {"int8_layer": int8}
    if int8.onednn:  # the product alone: two u8 rows per input row, no splitting or recombining
        ways["int8_onednn_two_parts"] = lambda x: torch_cpu.onednn_int8_product(
            torch.zeros(2 * x.shape[0], x.shape[1], dtype=torch.uint8), int8.packed_qweight,
            int8.scales, int8.zero_points)
    return ways


def int4_unpack_ms(packed: torch.Tensor) -> float:
    """Unpacking the portable int4 form to bf16 values, block by block (no scales applied)."""
    shape = (packed.shape[0], 2 * packed.shape[1])

    def unpack():
        out = torch.empty(shape, dtype=torch.bfloat16)
        for rows in torch_cpu.row_blocks(*shape):
            out[rows] = torch_cpu.unpack_int4(packed[rows])

    return figure(best_ms({"unpack": unpack}, repeats=2)["unpack"])


@torch.no_grad()
def run(shape: tuple[int, int], rows: list[int]) -> dict:
    n, k = shape
    w = (torch.randn(n, k) * 0.02).to(torch.bfloat16)
    ways = bf16_ways(w) | int8_ways(w)
    group = torch_cpu.int4_group(k, n)
    int4 = None if group is None else torch_cpu.quantize_int4(w, group)
    if int4 is not None:
        ways["int4_layer"] = torch_cpu.Int4Linear(*int4, None, group, torch.bfloat16)
    by_rows = {}
    for m in rows:
        x = torch.randn(m, k).to(torch.bfloat16)
        times = best_ms({name: (lambda f=f, x=x: f(x)) for name, f in ways.items()}, repeats=3)
        by_rows[str(m)] = {name: figure(ms) for name, ms in times.items()}
        by_rows[str(m)]["gflop"] = figure(2 * m * n * k / 1e9)
    return {
        "machine": {"cpu_flags": cpu_flags(), "threads": torch.get_num_threads(),
                    "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                    "torch": torch.__version__},
        "onednn_int8_exact": torch_cpu.onednn_int8_exact(),
        "int8_layer_onednn": ways["int8_layer"].onednn,
        "float32_matmul_gflops": float32_gflops(),
        "shape": [n, k],
        "ms_by_rows": by_rows,
        "int4_unpack_to_bf16_ms": None if int4 is None else int4_unpack_ms(int4[0]),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", type=int, nargs=2, default=(18944, 3584), metavar=("OUT", "IN"))
    p.add_argument("--rows", type=int, nargs="+", default=[1, 8, 64, 300])
    p.add_argument("--threads", type=int)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    text = json.dumps(run(tuple(args.shape), args.rows), indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
