"""int8 and int4 weights run by torch's own CPU kernels.

int8: symmetric, one scale per output channel, `torch._weight_int8pack_mm` for decode-sized
inputs. Measured on AVX-512 CPUs it is ~2x faster than bf16 at one row and 3-20x slower at
hundreds of rows, so above `MIN_ROWS` rows the weight is converted to the best dense dtype of
this CPU (`dense_dtype`: bf16 where the CPU has bf16 instructions, float32 where not; see
inference.cpu_kernels) a block of output channels at a time, and the per-channel scales are
applied to the output (x @ (q * s).T = (x @ q.T) * s). A block of ~4 MB stays in the caches:
at 300 rows of an 18944x3584 weight on a Zen 4 that is 110 ms against bf16's 97, where
converting the whole weight and scaling it first took 184 ms (and ~270 MB of fresh memory a
call).

int4: asymmetric, one scale and zero per group of `group` inputs,
`torch._weight_int4pack_mm_for_cpu` at every size (its packed layout is opaque, so there is no
cheap dequantization; on AVX2 it runs big inputs as fast as float32 does). Its layout needs the
output size a multiple of 16 and the input size a multiple of the group: other layers get int8.

The portable forms written to pre-quantized checkpoints are `qweight` (int8 (N, K), or int4
values two to a byte, uint8 (N, K/2), low nibble first) and `scales` (float32: (N,) for int8;
(K/group, N, 2) scale-and-zero pairs for int4, torch's layout).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MIN_ROWS = 16  # below this many rows a matmul is bound by reading the weight
INT4_GROUPS = (128, 64, 32)  # the first that divides the input size is used
INT4_ROWS = 16  # torch's int4 CPU layout takes output channels in blocks of this
BLOCK_ELEMENTS = 1 << 21  # weight elements converted or quantized at a time (4-8 MB)


def row_blocks(rows: int, columns: int):
    """Slices of at most ~BLOCK_ELEMENTS elements of a (rows, columns) weight: temporaries that
    size stay in the caches and the allocator's reuse (whole-layer float32 temporaries were
    ~270 MB each, fresh pages every time: 31.6 M minor faults quantizing the 8b preset)."""
    step = max(INT4_ROWS, BLOCK_ELEMENTS // columns // INT4_ROWS * INT4_ROWS)
    return [slice(start, min(start + step, rows)) for start in range(0, rows, step)]


def quantize_int8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, K) float -> int8 (N, K) and float32 scales (N,): weight ~ q * scale."""
    q = torch.empty(weight.shape, dtype=torch.int8)
    scales = torch.empty(weight.shape[0], dtype=torch.float32)
    for rows in row_blocks(*weight.shape):
        w = weight[rows].detach().to(torch.float32, copy=True)  # changed in place below
        block = torch.amax(w.abs(), dim=1).div_(127).clamp_min_(1e-12)
        q[rows] = w.div_(block[:, None]).round_().clamp_(-127, 127)
        scales[rows] = block
    return q, scales


def int4_group(in_features: int, out_features: int) -> int | None:
    """The group size torch's int4 kernel can use for this shape, or None (int8 instead)."""
    if out_features % INT4_ROWS:
        return None
    return next((g for g in INT4_GROUPS if in_features % g == 0), None)


def quantize_int4(weight: torch.Tensor, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, K) float -> int4 values packed two to a byte (N, K/2) and (K/group, N, 2) float32
    scale-and-zero pairs: weight ~ (q - 8) * scale + zero, per group of `group` inputs."""
    n, k = weight.shape
    packed = torch.empty(n, k // 2, dtype=torch.uint8)
    pairs = torch.empty(n, k // group, 2, dtype=torch.float32)
    for rows in row_blocks(n, k):
        w = weight[rows].detach().to(torch.float32, copy=True).reshape(-1, k // group, group)
        low, high = w.amin(-1), w.amax(-1)
        scales = high.sub_(low).div_(15).clamp_min_(1e-12)
        q = w.sub_(low[..., None]).div_(scales[..., None]).round_().clamp_(0, 15)
        q = q.to(torch.uint8).reshape(-1, k)
        packed[rows] = q[:, ::2] | (q[:, 1::2] << 4)
        pairs[rows, :, 0] = scales
        pairs[rows, :, 1] = low.add_(8 * scales)  # torch's kernel: (q - 8) * scale + zero
    return packed, pairs.transpose(0, 1).contiguous()


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    """uint8 (N, K/2) -> int32 (N, K) values 0..15 (the input of torch's packing)."""
    low, high = packed & 0xF, packed >> 4
    return torch.stack([low, high], dim=-1).reshape(packed.shape[0], -1).to(torch.int32)


def aligned(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor`, copied if it does not start on a 64-byte boundary: torch's int8 kernel
    crashes on a weight mapped from a safetensors file at an offset of 8 (measured)."""
    return tensor if tensor.data_ptr() % 64 == 0 else tensor.clone()


class Int8Linear(nn.Module):
    """A Linear with int8 weights; `dense_dtype` is the dtype big inputs are multiplied in."""

    kernel = "torch._weight_int8pack_mm"
    activation_kernel = "torch._int_mm"

    def __init__(self, qweight, scales, bias, dtype: torch.dtype, dense_dtype: torch.dtype,
                 int8_activations: bool = False):
        super().__init__()
        self.int8_activations = int8_activations
        self.out_features, self.in_features = qweight.shape
        self.register_buffer("qweight", aligned(qweight))
        self.register_buffer("scales", scales.to(dtype))
        self.register_buffer("bias", None if bias is None else bias.to(dtype))
        self.dense_dtype = dense_dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).contiguous()  # the kernels take no strides
        if flat.shape[0] >= MIN_ROWS:
            big = self._int8_product if self.int8_activations else self._dense
            return big(flat).reshape(*x.shape[:-1], self.out_features)
        out = torch._weight_int8pack_mm(flat, self.qweight, self.scales.to(x.dtype))
        if self.bias is not None:
            out = out + self.bias.to(x.dtype)
        return out.reshape(*x.shape[:-1], self.out_features)

    def _dense(self, flat: torch.Tensor) -> torch.Tensor:
        """Many rows: the weight converted block by block, the scales applied to the output."""
        dense = flat.to(self.dense_dtype)
        out = torch.empty(flat.shape[0], self.out_features, dtype=self.dense_dtype)
        for rows in row_blocks(self.out_features, self.in_features):
            out[:, rows] = F.linear(dense, self.qweight[rows].to(self.dense_dtype))
        out.mul_(self.scales.to(self.dense_dtype))
        if self.bias is not None:
            out.add_(self.bias.to(self.dense_dtype))
        return out.to(flat.dtype)

    def _int8_product(self, flat: torch.Tensor) -> torch.Tensor:
        """Many rows, quant mode w8a8: each row quantized to int8 with its own scale, then an
        int8 x int8 -> int32 product (VNNI/AMX). The product alone is 1.7x faster than bf16's on
        a Zen 4 at 300 rows, but these quantize/rescale passes take most of that back: an 8b
        score was still slower than bf16 there (benchmarks/README.md); drift: benchmarks.drift."""
        x = flat.to(torch.float32, copy=True)  # changed in place below
        row_scales = torch.amax(x.abs(), dim=1, keepdim=True).div_(127).clamp_min_(1e-12)
        q = x.div_(row_scales).round_().clamp_(-127, 127).to(torch.int8)
        out = torch._int_mm(q, self.qweight.t()).float()
        out.mul_(row_scales).mul_(self.scales.float())
        if self.bias is not None:
            out.add_(self.bias.float())
        return out.to(flat.dtype)


class Int4Linear(nn.Module):
    """A Linear with group-wise int4 weights in torch's packed CPU layout."""

    kernel = "torch._weight_int4pack_mm_for_cpu"

    def __init__(self, packed, pairs, bias, group: int, dtype: torch.dtype):
        super().__init__()
        self.out_features = packed.shape[0]
        self.in_features = packed.shape[1] * 2
        self.group = group
        cpu_layout = torch._convert_weight_to_int4pack_for_cpu(unpack_int4(packed), 1)
        self.register_buffer("packed_weight", cpu_layout)
        self.register_buffer("scales_and_zeros", pairs.to(dtype))
        self.register_buffer("bias", None if bias is None else bias.to(dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).contiguous()  # the kernels take no strides
        out = torch._weight_int4pack_mm_for_cpu(
            flat, self.packed_weight, self.group, self.scales_and_zeros.to(x.dtype)
        )
        if self.bias is not None:
            out = out + self.bias.to(x.dtype)
        return out.reshape(*x.shape[:-1], self.out_features)


class Int8Embedding(nn.Module):
    """An embedding table in int8 with one scale per row: a lookup reads only its rows."""

    kernel = "int8 rows, scaled on lookup"

    def __init__(self, qweight, scales, dtype: torch.dtype):
        super().__init__()
        self.num_embeddings, self.embedding_dim = qweight.shape
        self.register_buffer("qweight", qweight)
        self.register_buffer("scales", scales.to(dtype))
        self.dtype = dtype

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = F.embedding(ids, self.qweight).to(self.dtype)
        return rows * self.scales[ids][..., None]
