"""The CPU kernels for bf16 weights, chosen per CPU by a short timed probe while loading.

Which matmul is fastest depends on the CPU's instructions, and the flags alone do not say how
much (a Zen 4 and an AMX Xeon both have bf16 instructions; oneDNN may or may not use them), so
`probe` times the candidates on a weight of an LM's size (~0.5 s without bf16 instructions,
~0.1 s with), and `decide` picks:

- big inputs (the vision pass, prefills: hundreds of rows): plain bf16, oneDNN's packed bf16
  layout, or float32 arithmetic on the bf16 weights (upcast one layer at a time: the same
  numbers within a rounding step, as bf16 products are exact in float32). Measured on an
  AVX-512/AMX CPU: packed 0.8 ms, bf16 1.0 ms, float32 7 ms (300 rows of a 896x4864 weight);
  the same CPU limited to AVX2 (no bf16 instructions): bf16 134 ms, float32 20-28 ms.
- decode steps (8 rows: a batch of comments): bf16 or packed, or, on CPUs whose exact kernels
  are compute-starved there, an int8 copy of every LM Linear weight run by
  `torch._weight_int8pack_mm` (it reads half the bytes; the scores stay exact, since they come
  from big-input matmuls; comment tokens may differ from bf16's: benchmarks/drift.py). The copy
  costs half the LM's bf16 bytes, so it is made only where memory allows it.

Where the CPU has bf16 instructions and oneDNN packs, packed wins both (bit for bit the same as
plain bf16; reordering is done once and the dense copy dropped).
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from artimuse.inference.quant.torch_cpu import MIN_ROWS, quantize_int8
from artimuse.loading.weights import mapped_weight_files, release_file_pages

log = logging.getLogger(__name__)
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "avx_ne_convert")
PACK_ROWS = 8  # the layout is chosen for this many rows (a batch of comments); any count works
PROBE_DECODE = (8, 4096, 4096)  # rows, in, out: a 32 MB weight, beyond the caches
PROBE_PREFILL = (128, 1024, 4096)
INT8_COPY_GAIN = 1.5  # an int8 decode copy must be this much faster than the exact kernels
MEMORY_MARGIN = 1 << 30  # bytes left free after the int8 copies


@dataclass(frozen=True)
class KernelChoice:
    """What runs the bf16 matmuls, and the probe's timings that decided it."""

    prefill: str = "default"  # "bf16", "packed", "float32" ("default": not a bf16 CPU model)
    decode: str = "default"  # "bf16", "packed", "int8 copy"
    timings_ms: dict = field(default_factory=dict)
    reason: str = "not a bf16 model on the CPU: the framework's kernels"

    @property
    def dense_dtype(self) -> torch.dtype:
        """The dtype big inputs are multiplied in (quantized layers dequantize to it)."""
        return torch.float32 if self.prefill == "float32" else torch.bfloat16

    def describe(self) -> dict:
        return {"prefill": self.prefill, "decode": self.decode, "why": self.reason,
                "probe_ms": self.timings_ms, "cpu_bf16_instructions": cpu_has_native_bf16()}


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Recorded with the choice (the probe decides, not the flags)."""
    try:
        flags = cpuinfo.read_text(encoding="utf-8", errors="replace").split()
    except OSError:  # not Linux
        return True
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def pack_possible() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a PyTorch built without oneDNN
        return False


# --- the probe ------------------------------------------------------------------------------


def _best_ms(fn, repeats: int = 5) -> float:
    """The fastest of a few runs: other work on the machine only ever adds time."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


@functools.cache  # once a process: the CPU does not change
@torch.no_grad()
def probe() -> dict[str, dict[str, float]]:
    """ms of each candidate kernel at decode and prefill size, on random bf16 weights."""
    generator = torch.Generator().manual_seed(0)
    out: dict[str, dict[str, float]] = {}
    for part, (rows, k, n) in (("decode", PROBE_DECODE), ("prefill", PROBE_PREFILL)):
        w = torch.randn(n, k, generator=generator).to(torch.bfloat16)
        x = torch.randn(rows, k, generator=generator).to(torch.bfloat16)
        out[part] = {name: round(_best_ms(fn), 3) for name, fn in _candidates(part, x, w).items()}
    return out


def _candidates(part: str, x: torch.Tensor, w: torch.Tensor) -> dict:
    kernels = {"bf16": lambda: F.linear(x, w)}
    if pack_possible():
        packed = torch.ops.mkldnn._reorder_linear_weight(w, PACK_ROWS)
        kernels["packed"] = lambda: torch.ops.mkldnn._linear_pointwise(
            x, packed, None, "none", [], ""
        )
    if part == "decode":
        q, scales = quantize_int8(w)
        scales = scales.to(torch.bfloat16)
        kernels["int8 copy"] = lambda: torch._weight_int8pack_mm(x, q, scales)
    else:
        kernels["float32"] = lambda: F.linear(x.float(), w.float()).to(x.dtype)
    return kernels


def decide(timings: dict, int8_copy_fits: bool) -> KernelChoice:
    """The choice the probe's `timings` imply (a pure function: tested on recorded timings)."""
    prefill, decode = timings["prefill"], timings["decode"]
    if "packed" in prefill and prefill["packed"] <= 1.1 * min(prefill.values()):
        return KernelChoice("packed", "packed", timings, "oneDNN's packed bf16 is the fastest")
    big = min(("bf16", "float32"), key=prefill.__getitem__)
    exact = decode["bf16"]
    if decode["int8 copy"] * INT8_COPY_GAIN <= exact:
        if int8_copy_fits:
            return KernelChoice(big, "int8 copy", timings, (
                f"bf16 decode is compute-bound here ({exact:g} ms vs int8 "
                f"{decode['int8 copy']:g} ms); big matmuls in {big}"))
        reason = "an int8 decode copy would be faster but does not fit in memory"
    else:
        reason = "bf16 decode streams the weights well enough here"
    return KernelChoice(big, "bf16", timings, f"{reason}; big matmuls in {big}")


def choose_cpu_kernels(device: torch.device, dtype: torch.dtype, lm_bytes: int = 0,
                       quantized: bool = False) -> KernelChoice:
    """Probe this CPU (for a bf16 model on the CPU; otherwise the framework's kernels).
    `lm_bytes`: the bf16 bytes of the LM's Linear weights (what an int8 copy halves)."""
    if device.type != "cpu" or dtype != torch.bfloat16:
        return KernelChoice()
    timings = probe()
    fits = not quantized and _available_bytes() >= lm_bytes // 2 + lm_bytes + MEMORY_MARGIN
    return decide(timings, fits)


def _available_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0  # unknown: no copies


# --- the layers -----------------------------------------------------------------------------


class CpuLinear(nn.Linear):
    """A bf16 Linear; big inputs in `self.big_dtype`, few rows in bf16 or with `qweight`, an
    int8 copy of the weight (when the choice is "int8 copy")."""

    big_dtype = torch.bfloat16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() >= MIN_ROWS * self.in_features:
            if self.big_dtype == x.dtype:
                return super().forward(x)
            bias = None if self.bias is None else self.bias.to(self.big_dtype)
            return F.linear(x.to(self.big_dtype), self.weight.to(self.big_dtype), bias).to(x.dtype)
        if getattr(self, "qweight", None) is None:
            return super().forward(x)
        flat = x.reshape(-1, self.in_features).contiguous()  # the kernels take no strides
        out = torch._weight_int8pack_mm(flat, self.qweight, self.qscales.to(x.dtype))
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)


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


def apply_cpu_kernels(model: nn.Module, choice: KernelChoice) -> dict:
    """Switch the model's plain Linear/Conv2d layers to `choice` -> `choice.describe()`.

    Run it after reading anything a packed Linear no longer has (its dense `weight`) and after
    quantization (quantized layers are not plain Linears and keep their own kernels).
    """
    if choice.prefill == "packed":
        pack_linear_weights(model)
    elif choice.prefill != "default":
        _cpu_linears(model, choice)
    log.info("CPU kernels: big matmuls %s, decode %s (%s)", choice.prefill, choice.decode,
             choice.reason)
    return choice.describe()


def _cpu_linears(model: nn.Module, choice: KernelChoice) -> None:
    copies = 0
    lm = getattr(model, "language_model", None)
    in_lm = {id(m) for m in lm.modules()} if lm is not None else set()
    for module in model.modules():
        if type(module) is nn.Linear:
            module.__class__ = CpuLinear
            module.big_dtype = choice.dense_dtype
            if choice.decode == "int8 copy" and id(module) in in_lm:
                q, scales = quantize_int8(module.weight)
                module.register_buffer("qweight", q, persistent=False)
                module.register_buffer("qscales", scales.to(module.weight.dtype), persistent=False)
                copies += q.nbytes
        elif type(module) is nn.Conv2d and choice.prefill == "float32":
            module.__class__ = UpcastConv2d
    if copies:
        log.info("int8 decode copies of the LM's Linear weights: %.2f GB", copies / 1e9)


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
