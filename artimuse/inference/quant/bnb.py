"""8-bit and 4-bit (nf4) weights by bitsandbytes: the CUDA path of `ARTIMUSE_QUANT=int8|nf4`.

On a CPU bitsandbytes' int8 matmul measured ~100x slower than torch's own int8 kernel at one
row (a decode step), so the CPU uses inference.quant.torch_cpu instead.
"""

from __future__ import annotations

import torch
from torch import nn

from artimuse.errors import CheckpointError

KERNELS = {"int8": "bitsandbytes Linear8bitLt", "nf4": "bitsandbytes Linear4bit (nf4)"}


def bnb_linear(dense: nn.Linear, quant: str, device: torch.device, dtype) -> nn.Module:
    """A bitsandbytes Linear built on `meta`, its weight quantized on the way to `device`."""
    import bitsandbytes as bnb

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
    layer.weight = layer.weight.to(device)  # bitsandbytes quantizes on this move
    if dense.bias is not None:
        layer.bias = nn.Parameter(dense.bias.detach().to(device, dtype), requires_grad=False)
    return layer.eval().requires_grad_(False)
