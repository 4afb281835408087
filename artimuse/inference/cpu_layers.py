"""The layers the CPU kernel choice (inference.cpu_kernels) swaps in for plain bf16 ones."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from artimuse.inference.quant.torch_cpu import MIN_ROWS

PACK_ROWS = 8  # the layout is chosen for this many rows (a batch of comments); any count works
FP16_PIECE = 1 << 24  # weight elements packed at a time (64 MB of float32 while packing)


def fp16_weight(weight: torch.Tensor) -> list:
    """fbgemm's packed fp16 form of a (N, K) weight: opaque torch objects, one for each block of
    at most FP16_PIECE elements of output channels (fbgemm packs from float32, and a whole
    152064x3584 `lm_head` in float32 would be 2.2 GB of fresh memory while loading)."""
    rows = max(1, FP16_PIECE // weight.shape[1])
    return [torch.ops.quantized.linear_prepack_fp16(weight[start:start + rows].float(), None)
            for start in range(0, weight.shape[0], rows)]


class CpuLinear(nn.Linear):
    """A bf16 Linear whose big inputs are multiplied in float32 (the "float32" way)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() < MIN_ROWS * self.in_features:
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


def fp16_product(x: torch.Tensor, pieces: list, bias: torch.Tensor | None = None) -> torch.Tensor:
    x32 = x.float()
    outs = [torch.ops.quantized.linear_dynamic_fp16(x32, piece) for piece in pieces]  # float32
    out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
    return (out if bias is None else out.add_(bias)).to(x.dtype)


class Fp16Linear(nn.Linear):
    """A Linear whose weight lives only in fbgemm's packed fp16 form (`fp16_weight`)."""

    @torch.compiler.disable  # an opaque torch object dynamo cannot trace: run as it is
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fp16_product(x, self.fp16_weight, self.bias)

    @property
    def stored_bytes(self) -> int:
        """What the packed weight holds (no tensor: `parameters()` do not count it)."""
        return 2 * self.in_features * self.out_features
