"""8-bit and 4-bit weights for the language model's Linear layers (bitsandbytes), made while
loading: `ARTIMUSE_QUANT=int8|nf4`.

Only the decoder layers' projections (attention q/k/v/o, MLP gate/up/down: ~90% of an 8B LM's
weights) are quantized. The vision encoder, the `mlp1` projector, the token embeddings and
`lm_head` stay in the model's dtype: together they are ~2.8 GB of the 8B checkpoint, the score
(behaviour §7) is a softmax over 101 rows of `lm_head` whose differences of a few hundredths of
a logit move the expected score, and greedy comments take the argmax over all of `lm_head`; the
vision path sees every pixel once, so quantizing it saves little memory for the drift it adds.

Quantized weights never exist in full precision on the device: the loader leaves them on the
CPU (safetensors maps the file, nothing is read yet) and `quantize_language_model` reads,
quantizes and moves one layer at a time, then drops the file pages it read.
"""

from __future__ import annotations

import importlib.util
import logging
import re

import torch
from torch import nn

from artimuse.errors import CheckpointError
from artimuse.loading.weights import mapped_weight_files, release_file_pages

log = logging.getLogger(__name__)
CPU_NF4_ROWS = 32  # bitsandbytes' packed CPU nf4 layout takes out_features in blocks of this
QUANTIZED = re.compile(
    r"^language_model\.model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)$"
)


def quantized_module_names(model: nn.Module) -> list[str]:
    """The names of the Linear layers `quantize_language_model` replaces."""
    return [
        name
        for name, module in model.named_modules()
        if type(module) is nn.Linear and QUANTIZED.match(name)
    ]


def quantized_weight_keys(model: nn.Module) -> set[str]:
    """Their weights' state-dict keys: the tensors the loader keeps on the CPU."""
    return {f"{name}.weight" for name in quantized_module_names(model)}


def check_quant_support(quant: str, device: torch.device, dtype: torch.dtype) -> None:
    """A CheckpointError saying why `quant` cannot run here, before anything is read."""
    if quant == "none":
        return
    if importlib.util.find_spec("bitsandbytes") is None:
        raise CheckpointError(
            f"quant={quant} needs bitsandbytes: pip install 'artimuse[quant]' (or bitsandbytes)"
        )
    if device.type not in ("cuda", "cpu"):
        raise CheckpointError(
            f"quant={quant} runs on CUDA and on the CPU (bitsandbytes), not on {device.type}; "
            "use ARTIMUSE_QUANT=none there"
        )
    if dtype == torch.float16 and device.type == "cpu":
        raise CheckpointError(f"quant={quant} on the CPU computes in bfloat16 or float32")


def quantize_language_model(
    model: nn.Module, quant: str, device: torch.device, dtype: torch.dtype
) -> int:
    """Replace the decoder's Linear layers by bitsandbytes ones holding `quant` weights on
    `device`, one layer at a time. -> the bytes of the quantized weights."""
    import bitsandbytes as bnb

    mapped, stored, released = mapped_weight_files(), 0, 0
    for name in quantized_module_names(model):
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        dense: nn.Linear = getattr(parent, attr)
        layer = _quantized_linear(bnb, dense, quant, device, dtype)
        setattr(parent, attr, layer)
        released += release_file_pages(dense.weight, mapped)  # its bf16 bytes are not needed
        stored += layer.weight.nbytes
    log.info(
        "language model Linear weights in %s: %.2f GB (%.2f GB of mapped file released)",
        quant, stored / 1e9, released / 1e9,
    )
    return stored


def _quantized_linear(bnb, dense: nn.Linear, quant: str, device, dtype) -> nn.Module:
    """A bitsandbytes Linear built on `meta`, its weight quantized on the way to `device`."""
    weight = dense.weight.detach()
    if weight.device.type == "meta":
        raise CheckpointError("a quantized layer was left without weights")
    args = (dense.in_features, dense.out_features, dense.bias is not None)
    if quant == "int8":
        layer = bnb.nn.Linear8bitLt(*args, has_fp16_weights=False, device="meta")
        layer.weight = bnb.nn.Int8Params(weight, requires_grad=False, has_fp16_weights=False)
    else:
        layer = bnb.nn.Linear4bit(*args, compute_dtype=dtype, quant_type="nf4", device="meta")
        layer.weight = bnb.nn.Params4bit(
            weight, requires_grad=False, quant_type="nf4", module=layer
        )
        if device.type == "cpu" and (
            dense.out_features % CPU_NF4_ROWS or dense.in_features % layer.weight.blocksize
        ):
            # Its packed CPU layout needs whole blocks; the plain path takes any shape.
            layer.support_avx512bf16_for_cpu = False
    layer.weight = layer.weight.to(device)  # bitsandbytes quantizes on this move
    if dense.bias is not None:
        layer.bias = nn.Parameter(dense.bias.detach().to(device, dtype), requires_grad=False)
    return layer.eval().requires_grad_(False)
