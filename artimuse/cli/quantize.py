"""`artimuse quantize SRC DST --quant int8|int4`: a pre-quantized copy of a checkpoint."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_quantize_command(commands) -> None:
    quantize = commands.add_parser(
        "quantize",
        help="write a pre-quantized checkpoint (loads in seconds, in its own size)",
        description="Quantize a checkpoint's language model for torch's CPU kernels, one shard "
        "at a time; the copy loads with --ckpt DST (docs/quantization.md).",
    )
    quantize.add_argument("src", help="a checkpoint folder (bf16, as released)")
    quantize.add_argument("dst", help="a new folder for the quantized checkpoint")
    quantize.add_argument("--quant", required=True, choices=("int8", "int4"))
    quantize.set_defaults(run=run_quantize)


def run_quantize(args: argparse.Namespace) -> int:
    from artimuse.inference.quant.shards import quantize_checkpoint
    from artimuse.loading.hub import human_bytes

    start = time.perf_counter()
    dst = quantize_checkpoint(
        Path(args.src), Path(args.dst), args.quant, lambda text: print(text, file=sys.stderr)
    )
    size = sum(f.stat().st_size for f in dst.glob("*.safetensors"))
    print(f"{dst}: {args.quant}, {human_bytes(size)} of weights, in "
          f"{time.perf_counter() - start:.0f} s. Use it with: artimuse score --ckpt {dst} IMG")
    return 0


def quantized_copy(folder: Path, name: str, quant: str) -> str:
    """`artimuse download --quant`: the downloaded checkpoint quantized shard by shard into
    checkpoints/<name>-<quant> (kept if it is there already) -> that folder."""
    from artimuse.inference.quant.shards import quantize_checkpoint
    from artimuse.loading.hub_checks import loads

    target = Path("checkpoints") / f"{name}-{quant}"
    if not loads(target):
        quantize_checkpoint(folder, target, quant, lambda text: print(text, file=sys.stderr))
    print(f"{quant} copy: {target}", file=sys.stderr)
    return str(target)
