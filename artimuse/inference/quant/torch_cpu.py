"""int8 and int4 weights run by torch's own CPU kernels.

int8: symmetric, one scale per output channel. Where oneDNN's int8 products are exact (CPUs
with VNNI or AMX: `onednn_int8_exact`), layers of at least `ONEDNN_MIN_WEIGHTS` weights run
oneDNN's int8 matmul at every size (`onednn::qlinear_pointwise`, the kernel of torch's x86 int8
linear), the weights in its packed layout. Quant mode int8 keeps the activations at 16 bits
there: each row is scaled to [-127, 127] and split into two int8 parts, its rounding and that
rounding's error in 1/254 steps (within 1.6e-5 of the row's largest value, finer than bf16
itself for all but the smallest values), so one matmul of twice the rows gives the weight-only
product; w8a8 sends one int8 part (and takes oneDNN for every layer). On a 2-vCPU Zen 5, the 8B
shape's decode step at batch 1: 165 ms against `torch._weight_int8pack_mm`'s 249 and bf16's
346; a score 1.03x bf16's (w8a8 0.63x), measured interleaved with bf16. Smaller layers keep
torch's kernel: the split's small passes cost more there than the product saves. Elsewhere
(AVX2 alone: oneDNN adds the int8 pairs in 16 bits, which saturate) `torch._weight_int8pack_mm`
runs decode-sized inputs (~2x faster than bf16 at one row, 3-20x slower at hundreds of rows),
and above `MIN_ROWS` rows the weight is converted to the best dense dtype of this CPU
(`dense_dtype`, see inference.cpu_kernels) a block of output channels at a time, the
per-channel scales applied to the output (x @ (q * s).T = (x @ q.T) * s): at 300 rows of an
18944x3584 weight on a Zen 4, 110 ms against bf16's 97.

int4: asymmetric, one scale and zero per group of `group` inputs,
`torch._weight_int4pack_mm_for_cpu` at every size (its packed layout is opaque, so there is no
cheap dequantization; on AVX2 it runs big inputs as fast as float32 does). Its layout needs the
output size a multiple of 16 and the input size a multiple of the group: other layers get int8.

The portable forms written to pre-quantized checkpoints are `qweight` (int8 (N, K), or int4
values two to a byte, uint8 (N, K/2), low nibble first) and `scales` (float32: (N,) for int8;
(K/group, N, 2) scale-and-zero pairs for int4, torch's layout).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

MIN_ROWS = 16  # below this many rows a matmul is bound by reading the weight
INT4_GROUPS = (128, 64, 32)  # the first that divides the input size is used
INT4_ROWS = 16  # torch's int4 CPU layout takes output channels in blocks of this
BLOCK_ELEMENTS = 1 << 21  # weight elements converted or quantized at a time (4-8 MB)
ONEDNN_MIN_WEIGHTS = 1 << 23  # smaller int8 layers keep torch's kernel (measured, above)
ZERO_POINT = 128  # oneDNN takes u8 inputs as value + 128 (its s8 ones measured ~600x slower)
FINE_STEPS = 254  # the second int8 part of an activation: its rounding error in 1/254 steps
ONEDNN_ROWS = 128  # rows given to oneDNN at a time: the temporaries then stay in the heap
# (bigger ones are fresh pages every call: a whole 300-row prefill at once was 17 % slower)


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


@functools.cache
def onednn_int8_exact() -> bool:
    """Whether oneDNN's int8 matmul is exact on this CPU. With VNNI or AMX it is; with AVX2
    alone it adds u8 x s8 pairs in 16 bits, which saturate (255 x 127 x 2 > 32767: on a Zen 4
    limited to AVX2, random int8 inputs 4096 long came out ~2.5e5 off, and torch._int_mm the
    same), so one extreme product shows it. False where torch has no oneDNN."""
    try:
        packed = torch.ops.onednn.qlinear_prepack(torch.full((16, 64), 127, dtype=torch.int8), None)
        out = torch.ops.onednn.qlinear_pointwise(
            torch.full((1, 64), 255, dtype=torch.uint8), 1.0, 0, packed, torch.ones(16),
            torch.zeros(16, dtype=torch.int64), None, 1.0, 0, torch.float32, "none", [], "",
        )
    except (AttributeError, RuntimeError, NotImplementedError):
        return False
    return bool((out == 255 * 127 * 64).all())


def uses_onednn(out_features: int, in_features: int, int8_activations: bool) -> bool:
    """w8a8 needs oneDNN (quant.modes refuses it elsewhere); int8 takes it for big layers."""
    big = out_features * in_features >= ONEDNN_MIN_WEIGHTS
    return (int8_activations or big) and onednn_int8_exact()


def onednn_int8_product(shifted, packed, scales, zero_points) -> torch.Tensor:
    """(u8 inputs - 128) @ packed int8 weights, times the channels' scales: float32."""
    return torch.ops.onednn.qlinear_pointwise(
        shifted, 1.0, ZERO_POINT, packed, scales, zero_points, None, 1.0, 0, torch.float32,
        "none", [], "",
    )


@torch.library.custom_op("artimuse::onednn_int8_product", mutates_args=())
def onednn_int8_op(
    shifted: torch.Tensor, packed: torch.Tensor, scales: torch.Tensor, zero_points: torch.Tensor
) -> torch.Tensor:
    """The same, opaque to torch.compile: inductor lowers oneDNN's int8 linear only for weights
    it packed itself (frozen constants), as for cpu_layers.packed_linear."""
    return onednn_int8_product(shifted, packed, scales, zero_points)


@onednn_int8_op.register_fake
def _onednn_int8_shape(shifted, packed, scales, zero_points):
    return shifted.new_empty((shifted.shape[0], scales.shape[0]), dtype=torch.float32)


class Int8Linear(nn.Module):
    """A Linear with int8 weights: oneDNN's int8 matmul where `uses_onednn` (its packed weight
    in `packed_qweight`), else torch's kernel (`qweight`) and `dense_dtype` for big inputs.
    `int8_activations` (quant mode w8a8): inputs in one int8 part, not two."""

    def __init__(self, qweight, scales, bias, dtype: torch.dtype, dense_dtype: torch.dtype,
                 int8_activations: bool = False, onednn: bool | None = None):
        super().__init__()
        self.int8_activations = int8_activations
        self.out_features, self.in_features = qweight.shape
        if onednn is None:
            onednn = uses_onednn(*qweight.shape, int8_activations)
        self.onednn = onednn
        if self.onednn:
            self.register_buffer("packed_qweight", torch.ops.onednn.qlinear_prepack(qweight, None))
            self.register_buffer("scales", scales.float())
            self.register_buffer("zero_points", torch.zeros(self.out_features, dtype=torch.int64),
                                 persistent=False)
        else:
            self.register_buffer("qweight", aligned(qweight))
            self.register_buffer("scales", scales.to(dtype))
        self.register_buffer("bias", None if bias is None else bias.to(dtype))
        self.dense_dtype = dense_dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).contiguous()  # the kernels take no strides
        if self.onednn:
            out = self._in_row_blocks(flat)
        elif flat.shape[0] >= MIN_ROWS:
            out = self._dense(flat)
        else:
            out = torch._weight_int8pack_mm(flat, self.qweight, self.scales.to(x.dtype))
            out = out if self.bias is None else out + self.bias.to(x.dtype)
        return out.reshape(*x.shape[:-1], self.out_features)

    def _in_row_blocks(self, flat: torch.Tensor) -> torch.Tensor:
        step = ONEDNN_ROWS // (1 if self.int8_activations else 2)
        if flat.shape[0] <= step:
            return self._onednn_product(flat)
        out = flat.new_empty(flat.shape[0], self.out_features)
        for start in range(0, flat.shape[0], step):
            out[start:start + step] = self._onednn_product(flat[start:start + step])
        return out

    def _onednn_product(self, flat: torch.Tensor) -> torch.Tensor:
        """Each row scaled to [-127, 127]; its rounding (and, unless w8a8, that rounding's
        error in 1/254 steps, as more rows) multiplied by oneDNN in int8, then recombined.
        In place where possible: at prefill sizes each fresh temporary costs more than its
        arithmetic (and vector_norm, aminmax and a copying `.to` measured ~10x slower)."""
        rows = flat.shape[0]
        x = flat.float() if flat.dtype != torch.float32 else flat.clone()  # changed in place
        row_scales = torch.maximum(x.amax(1, keepdim=True), x.amin(1, keepdim=True).neg_())
        x.div_(row_scales.div_(127).clamp_min_(1e-30))
        if self.int8_activations:
            parts = x.round_()
        else:
            parts = x.new_empty(2 * rows, x.shape[1])
            torch.round(x, out=parts[:rows])
            torch.sub(x, parts[:rows], out=parts[rows:]).mul_(FINE_STEPS).round_()
        # q as the u8 q + 128 oneDNN takes: the same bits with the sign bit flipped
        shifted = parts.to(torch.int8).view(torch.uint8).bitwise_xor_(ZERO_POINT)
        product = onednn_int8_op if torch.compiler.is_compiling() else onednn_int8_product
        out = product(shifted, self.packed_qweight, self.scales, self.zero_points)
        if not self.int8_activations:
            out = out[:rows].add_(out[rows:], alpha=1 / FINE_STEPS)
        out.mul_(row_scales)
        if self.bias is not None:
            out.add_(self.bias.float())
        return out.to(flat.dtype)

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
