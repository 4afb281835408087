"""The CPU kernels for bf16 weights: packed oneDNN matmuls where the CPU has bf16 instructions,
float32 arithmetic for big matmuls where it has not. The same numbers, or within a rounding step.

With bf16 instructions (avx512_bf16, AMX), PyTorch's plain bf16 matmul reads a weight at about
a third of the memory bandwidth when only a few rows multiply it (a decode step), and keeping
the weight in oneDNN's blocked layout (what torch.compile's freezing does) doubles that and
makes the big matmuls ~15% faster, bit for bit the same results. Reordering is done once.

Without them (AVX2 only), PyTorch's bf16 matmul runs about 5x slower than float32 and the bf16
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

from artimuse.loading.weights import mapped_weight_files, release_file_pages

log = logging.getLogger(__name__)
MIN_ROWS = 16  # below this a matmul is bound by reading weights, not by arithmetic
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
PACK_ROWS = 8  # the layout is chosen for this many rows (a batch of comments); any count works


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


class PackedLinear(nn.Linear):
    """A Linear whose weight lives only in oneDNN's blocked layout (`packed_weight`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_compiling():  # the compiled decode step (inference.compiled)
            return packed_linear(x, self.packed_weight, self.bias, self.out_features)
        return torch.ops.mkldnn._linear_pointwise(x, self.packed_weight, self.bias, "none", [], "")


@torch.library.custom_op("artimuse::packed_linear", mutates_args=())
def packed_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, out_features: int
) -> torch.Tensor:
    """oneDNN's packed matmul as an opaque op for torch.compile: inductor lowers
    `mkldnn._linear_pointwise` only for weights it packed itself (frozen constants)."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


@packed_linear.register_fake
def _packed_linear_shape(x, weight, bias, out_features):
    return x.new_empty((*x.shape[:-1], out_features))


def choose_cpu_kernels(model: nn.Module, device: torch.device, dtype: torch.dtype) -> str:
    """Pick the fastest exact kernels for bf16 weights on this CPU -> what was chosen.

    Call it after anything that reads Linear weights directly (the engine's score rows): a
    packed Linear has no dense `weight` any more.
    """
    if device.type != "cpu" or dtype != torch.bfloat16:
        return "default"
    if not cpu_has_native_bf16():
        upcast_big_matmuls(model)
        return "float32 arithmetic"
    if pack_linear_weights(model):
        return "packed"
    return "default"


def pack_possible() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a PyTorch built without oneDNN
        return False


def pack_linear_weights(model: nn.Module) -> bool:
    """Reorder every untied bf16 Linear weight into oneDNN's layout, one layer at a time (the
    dense copy is freed at once, so memory does not grow). False where oneDNN cannot."""
    if not pack_possible():
        return False
    tied = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    linears = [m for m in model.modules() if type(m) is nn.Linear and id(m.weight) not in tied]
    mapped, released = mapped_weight_files(), 0
    for module in linears:
        weight = module.weight.detach()
        packed = torch.ops.mkldnn._reorder_linear_weight(weight, PACK_ROWS)
        released += release_file_pages(weight, mapped)  # else read pages stay: 2x the weights
        del module.weight, weight
        module.register_buffer("packed_weight", packed, persistent=False)
        module.__class__ = PackedLinear
    log.info(
        "bf16 matmuls use oneDNN's packed weights (%d layers; %.2f GB of mapped file released)",
        len(linears),
        released / 1e9,
    )
    return True


def upcast_big_matmuls(model: nn.Module) -> None:
    """Switch the model's Linear and Conv2d layers to float32 arithmetic where that is faster.

    Only the layers' class changes: the bf16 parameters stay as they are (no extra memory).
    """
    for module in model.modules():
        if type(module) is nn.Linear:
            module.__class__ = UpcastLinear
        elif type(module) is nn.Conv2d:
            module.__class__ = UpcastConv2d
    log.info("this CPU has no bf16 instructions: big matmuls run in float32 on bf16 weights")
