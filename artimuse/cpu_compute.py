"""bf16 weights with float32 arithmetic for big matmuls, on CPUs without bf16 instructions.

On an AVX2-only CPU, PyTorch's bf16 matmul runs about 5x slower than float32 and the bf16
convolution about 25x slower, so the vision pass and the prefills (hundreds of rows) are
compute-starved. Upcasting the weight of one layer at a time costs a few milliseconds and gives
the same numbers: bf16 products are exact in float32 and both paths accumulate in float32.
Decode steps (a few rows) stay in bf16: there reading the weights is the cost, and bf16 halves it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)
MIN_ROWS = 16  # below this a matmul is bound by reading weights, not by arithmetic
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        flags = cpuinfo.read_text(encoding="utf-8", errors="replace").split()
    except OSError:  # not Linux: assume the vendor's bf16 kernels are fine
        return True
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


class UpcastLinear(nn.Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() < MIN_ROWS * x.shape[-1]:
            return super().forward(x)
        bias = None if self.bias is None else self.bias.float()
        return F.linear(x.float(), self.weight.float(), bias).to(x.dtype)


class UpcastConv2d(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias.float()
        return self._conv_forward(x.float(), self.weight.float(), bias).to(x.dtype)


def upcast_big_matmuls(model: nn.Module, device: torch.device, dtype: torch.dtype) -> bool:
    """Switch the model's Linear and Conv2d layers to float32 arithmetic where that is faster.

    Only the layers' class changes: the bf16 parameters stay as they are (no extra memory).
    """
    if device.type != "cpu" or dtype != torch.bfloat16 or cpu_has_native_bf16():
        return False
    for module in model.modules():
        if type(module) is nn.Linear:
            module.__class__ = UpcastLinear
        elif type(module) is nn.Conv2d:
            module.__class__ = UpcastConv2d
    log.info("this CPU has no bf16 instructions: big matmuls run in float32 on bf16 weights")
    return True
