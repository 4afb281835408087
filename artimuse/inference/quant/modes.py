"""One vocabulary of quantization modes, and which kernel runs each mode on which device.

`none`: the weights in the model's dtype. `int8`, `int4`: torch's own kernels on the CPU
(inference.quant.torch_cpu); `int8`, `nf4`: bitsandbytes on CUDA. A mode a device cannot run
is refused before anything is read, naming the modes that can.
"""

from __future__ import annotations

import importlib.util
import re

import torch
from torch import nn

from artimuse.config import QUANT_MODES
from artimuse.errors import CheckpointError
from artimuse.inference.quant import bnb, torch_cpu

# The decoder layers' projections: ~90% of an 8B LM's weights.
DECODER_LINEAR = re.compile(
    r"^language_model\.model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)$"
)
LM_HEAD = "language_model.lm_head"
EMBEDDINGS = "language_model.model.embed_tokens"
NO_W8A8 = (
    "quant=w8a8 needs int8 products that are exact on this CPU (VNNI or AMX instructions); "
    "here they saturate: use int8 (int8 weights, 16-bit activations) or int4"
)


def kernels(device: torch.device) -> dict[str, str]:
    """mode -> the kernel that runs it on `device`'s type (what the log and /meta name)."""
    if device.type == "cuda":
        return bnb.KERNELS
    if device.type != "cpu":
        return {}
    int4 = torch_cpu.Int4Linear.kernel + " (int4 in groups of up to 128)"
    if not torch_cpu.onednn_int8_exact():
        return {"int8": "torch._weight_int8pack_mm (int8 per output channel)", "int4": int4}
    return {
        "int8": "onednn::qlinear_pointwise (int8 per output channel; activations at 16 bits in"
        f" two int8 parts; layers under {torch_cpu.ONEDNN_MIN_WEIGHTS:,} weights:"
        " torch._weight_int8pack_mm)",
        "int4": int4,
        "w8a8": "onednn::qlinear_pointwise (int8 per output channel, int8 activations per row)",
    }


def runnable_modes(device: torch.device) -> list[str]:
    return ["none", *kernels(device)]


def check_quant_support(quant: str, device: torch.device) -> str | None:
    """The kernel that runs `quant` on `device` (None for `none`), or a CheckpointError saying
    which modes run there, before anything is read."""
    if quant not in QUANT_MODES:
        raise CheckpointError(f"quant must be one of {', '.join(QUANT_MODES)}, got {quant!r}")
    if quant == "none":
        return None
    kernel = kernels(device).get(quant)
    if kernel is None and quant == "w8a8" and device.type == "cpu":
        raise CheckpointError(NO_W8A8)
    if kernel is None:
        raise CheckpointError(
            f"quant={quant} does not run on {device.type}; there use "
            + " or ".join(runnable_modes(device))
            + " (int8, int4: torch's CPU kernels; int8, nf4: bitsandbytes on CUDA)"
        )
    if device.type == "cuda" and importlib.util.find_spec("bitsandbytes") is None:
        raise CheckpointError(
            f"quant={quant} on CUDA needs bitsandbytes: pip install 'artimuse[quant]'"
        )
    return kernel


def quantized_names(model: nn.Module, device: torch.device) -> list[str]:
    """The modules a mode quantizes. On the CPU lm_head and the embeddings too (int8): they
    are a quarter of the 1b preset's LM, and the 101 score rows are kept apart, unquantized
    (the drift this adds is measured by benchmarks/drift.py). bitsandbytes: the decoder only."""
    modules = model.named_modules()
    names = [n for n, m in modules if type(m) is nn.Linear and DECODER_LINEAR.match(n)]
    if device.type == "cpu":
        names += [LM_HEAD, EMBEDDINGS]
    return names


def source_keys(quant: str, device: torch.device):
    """-> key -> whether the loader leaves that tensor mapped on the CPU, to be quantized."""
    if quant == "none":
        return None

    def stay_mapped(key: str) -> bool:
        name = key.removesuffix(".weight")
        on_cpu_too = device.type == "cpu" and name in (LM_HEAD, EMBEDDINGS)
        return key.endswith(".weight") and (bool(DECODER_LINEAR.match(name)) or on_cpu_too)

    return stay_mapped
