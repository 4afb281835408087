"""The CPU kernels for bf16 weights, chosen per CPU by a short timed probe while loading.

Which matmul is fastest depends on the CPU's instructions, and the flags alone do not say how
much (a Zen 4 and an AMX Xeon both have bf16 instructions; oneDNN may or may not use them), so
`probe` times the candidates on a weight of an LM's size at a decode's 8 rows and a prefill's
128 (~0.5 s without bf16 instructions, ~0.1 s with), and `decide` picks one of four ways to
hold and multiply every bf16 Linear weight:

- "packed": oneDNN's packed bf16 layout (CPUs with bf16 instructions): bit for bit plain bf16's
  numbers; the dense copy is dropped.
- "fp16": fbgemm's fp16-weight, float32-arithmetic matmul (`quantized::linear_dynamic_fp16`,
  torch's kernel for small-batch CPU inference). bf16 values convert to fp16 exactly (8 bits of
  mantissa into 11) for magnitudes from 2^-17 to 65504; smaller ones land on fp16's subnormals
  within 2^-25, larger ones keep their layer on the "float32" way; the products are float32:
  the weights' values without bf16's intermediate roundings (against plain bf16 kernels on the
  1b preset: total score 0.15 / 0.44 points mean / max, 78 % of greedy tokens equal; both a
  few tenths from the float32 model). The fp16 copy replaces the bf16 one (same size).
- "bf16": the plain kernels.
- "float32": big inputs upcast to float32 a layer at a time, decoding in bf16 (where fbgemm is
  missing: ARM builds).

Measured on a 2-vCPU Zen 4 (ms, 8 / 300 rows of a 4096x4096 weight): packed 1.37 / 22.9, fp16
1.62 / 53, bf16 2.2 / 25; the same CPU limited to AVX2 (no bf16 instructions, what most laptops
have): fp16 1.76 / 47, bf16 6.4 / 221, float32 (bf16 decode) 6.4 / 80. The int8 copy that used
to decode there (`torch._weight_int8pack_mm`: 2.6 ms, half the LM's bytes more) is gone: fp16
is faster at both sizes, takes no extra memory and keeps more greedy tokens equal to plain
bf16's (78 % against 70 % on the 1b preset). The layers are in inference.cpu_layers; where the
way is fp16 or float32 a single comment's LM attention runs in float32 (inference.cpu_attention).
"""

from __future__ import annotations

import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from artimuse.inference.cpu_attention import attend_in_float32
from artimuse.inference.cpu_layers import (
    PACK_ROWS,
    CpuLinear,
    Fp16Linear,
    PackedLinear,
    UpcastConv2d,
    fp16_product,
    fp16_weight,
)
from artimuse.loading.weights import mapped_weight_files, release_file_pages

log = logging.getLogger(__name__)
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "avx_ne_convert")
PROBE_DECODE = (8, 4096, 4096)  # rows, in, out: a 32 MB weight, beyond the caches
PROBE_PREFILL = (128, 1024, 4096)
FP16_MAX = 65504.0  # the largest finite fp16: a layer with bigger weights is not converted
# Each way: the probe's kernel for its big inputs, and for its decode steps. In this order the
# exact-bit ways come first, so a tie keeps them.
WAYS = {"packed": ("packed", "packed"), "bf16": ("bf16", "bf16"), "fp16": ("fp16", "fp16"),
        "float32": ("float32", "bf16")}


@dataclass(frozen=True)
class KernelChoice:
    """What runs the bf16 matmuls, and the probe's timings that decided it."""

    prefill: str = "default"  # "bf16", "packed", "fp16", "float32" ("default": not bf16 on a CPU)
    decode: str = "default"  # "bf16", "packed", "fp16"
    timings_ms: dict = field(default_factory=dict)
    reason: str = "not a bf16 model on the CPU: the framework's kernels"

    @property
    def upcasts(self) -> bool:
        """Whether this way does its arithmetic in float32 (bf16's is slow on this CPU)."""
        return self.prefill in ("float32", "fp16")

    @property
    def dense_dtype(self) -> torch.dtype:
        """The dtype big inputs are multiplied in (quantized layers dequantize to it)."""
        return torch.float32 if self.upcasts else torch.bfloat16

    def describe(self) -> dict:
        return {"prefill": self.prefill, "decode": self.decode, "why": self.reason,
                "probe_ms": self.timings_ms, "cpu_bf16_instructions": cpu_has_native_bf16()}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """The CPU's flags as the kernel lists them (what `lscpu` shows); [] off Linux."""
    try:
        lines = cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    flags = next((line for line in lines if line.startswith("flags")), "flags:")
    return sorted(flags.split(":", 1)[1].split())


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Recorded with the choice (the probe decides, not the flags)."""
    if not cpuinfo.exists():  # not Linux
        return True
    return any(flag in cpu_flags(cpuinfo) for flag in NATIVE_BF16_FLAGS)


def pack_possible() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a PyTorch built without oneDNN
        return False


@functools.cache
def fp16_possible() -> bool:
    """fbgemm's fp16 matmul is built in (x86 builds of PyTorch; not ARM ones)."""
    try:
        fp16_weight(torch.ones(16, 16))
        return True
    except (AttributeError, RuntimeError):
        return False


# --- the probe ------------------------------------------------------------------------------


def best_ms(kernels: dict, repeats: int = 5) -> dict[str, float]:
    """The fastest of a few runs of each kernel, taken in turns: other work on the machine
    only ever adds time, and a burst of it then hits every candidate alike."""
    for fn in kernels.values():
        fn()  # warm-up
    best = dict.fromkeys(kernels, float("inf"))
    for _ in range(repeats):
        for name, fn in kernels.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], 1000 * (time.perf_counter() - start))
    return best


@functools.cache  # once a process: the CPU does not change
@torch.no_grad()
def probe() -> dict[str, dict[str, float]]:
    """ms of each candidate kernel at decode and prefill size, on random bf16 weights."""
    generator = torch.Generator().manual_seed(0)
    out: dict[str, dict[str, float]] = {}
    for part, (rows, k, n) in (("decode", PROBE_DECODE), ("prefill", PROBE_PREFILL)):
        w = torch.randn(n, k, generator=generator).to(torch.bfloat16)
        x = torch.randn(rows, k, generator=generator).to(torch.bfloat16)
        out[part] = {name: round(ms, 3) for name, ms in best_ms(_candidates(part, x, w)).items()}
    return out


def bf16_ways(w: torch.Tensor) -> dict:
    """name -> f(x): each way this build of torch can multiply x by the bf16 weight `w`, the
    weight prepared once (also benchmarks.kernel_limits's)."""
    ways = {"bf16": lambda x: F.linear(x, w)}
    if pack_possible():
        packed = torch.ops.mkldnn._reorder_linear_weight(w, PACK_ROWS)
        ways["packed"] = lambda x: torch.ops.mkldnn._linear_pointwise(
            x, packed, None, "none", [], ""
        )
    if fp16_possible():
        fp16 = fp16_weight(w)
        ways["fp16"] = lambda x: fp16_product(x, fp16)
    return ways


def _candidates(part: str, x: torch.Tensor, w: torch.Tensor) -> dict:
    ways = bf16_ways(w)
    if part == "prefill":
        ways["float32"] = lambda x: F.linear(x.float(), w.float()).to(x.dtype)
    return {name: functools.partial(way, x) for name, way in ways.items()}


def decide(timings: dict) -> KernelChoice:
    """The way the probe's `timings` imply (a pure function: tested on recorded timings): the
    one nearest the fastest at both sizes, i.e. whose larger slowdown against the fastest
    decode and the fastest prefill is the smallest (scores are prefills; comments decode)."""
    prefill, decode = timings["prefill"], timings["decode"]
    offered = {way: (prefill[big], decode[few]) for way, (big, few) in WAYS.items()
               if big in prefill and few in decode}
    fastest = min(p for p, _ in offered.values()), min(d for _, d in offered.values())

    def slowdown(way: str) -> float:
        return max(offered[way][0] / fastest[0], offered[way][1] / fastest[1])

    way = min(offered, key=slowdown)  # the first of equals: WAYS puts exact bits first
    big, few = WAYS[way]
    p, d = offered[way]
    reason = (f"{way}: {p:g} ms at {PROBE_PREFILL[0]} rows (fastest {fastest[0]:g}), "
              f"{d:g} ms at {PROBE_DECODE[0]} rows (fastest {fastest[1]:g})")
    return KernelChoice(big, few, timings, reason)


def choose_cpu_kernels(device: torch.device, dtype: torch.dtype) -> KernelChoice:
    """Probe this CPU (for a bf16 model on the CPU; otherwise the framework's kernels)."""
    if device.type != "cpu" or dtype != torch.bfloat16:
        return KernelChoice()
    return decide(probe())


def fits_fp16(weight: torch.Tensor) -> bool:
    low, high = torch.aminmax(weight)
    return max(-low.item(), high.item()) <= FP16_MAX


def apply_cpu_kernels(model: nn.Module, choice: KernelChoice) -> dict:
    """Switch the model's plain Linear/Conv2d layers to `choice` -> `choice.describe()`.

    Run it after reading anything a packed Linear no longer has (its dense `weight`) and after
    quantization (quantized layers are not plain Linears and keep their own kernels).
    """
    if choice.prefill in ("packed", "fp16"):
        replace_linear_weights(model, choice.prefill)
    elif choice.prefill == "float32":
        for module in model.modules():
            if type(module) is nn.Linear:
                module.__class__ = CpuLinear
    if choice.upcasts:
        for module in model.modules():
            if type(module) is nn.Conv2d:
                module.__class__ = UpcastConv2d
    attention = "float32" if choice.upcasts and attend_in_float32(model) else "as loaded"
    log.info("CPU kernels: big matmuls %s, decode %s, LM attention %s (%s)", choice.prefill,
             choice.decode, attention, choice.reason)
    return choice.describe() | {"lm_attention": attention}


def replace_linear_weights(model: nn.Module, way: str = "packed") -> bool:
    """Move every bf16 Linear weight into oneDNN's ("packed") or fbgemm's ("fp16") layout, one
    layer at a time (the dense copy is freed at once, so memory does not grow). A weight tied
    to an embedding table stays for the table's lookups: packed leaves that Linear as it is
    (bf16 decodes well on CPUs that pack); fp16 gives it an fp16 copy (bf16 at 8 rows is 3.7x
    slower there, and a tied `lm_head` is a quarter of the 1b preset's decode reads).
    False where the kernels are missing."""
    if not (pack_possible() if way == "packed" else fp16_possible()):
        return False
    tied = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    linears = [m for m in model.modules() if type(m) is nn.Linear
               and (way == "fp16" or id(m.weight) not in tied)]
    kept = [m for m in linears if way == "fp16" and not fits_fp16(m.weight.detach())]
    for module in kept:
        module.__class__ = CpuLinear  # the float32 way for this layer
    linears = [m for m in linears if type(m) is nn.Linear]
    mapped, released, copies = mapped_weight_files(), 0, 0
    for module, form in zip(linears, _new_forms(way, linears)):
        weight = module.weight.detach()
        if way == "packed":
            module.register_buffer("packed_weight", form, persistent=False)
        else:
            module.fp16_weight = form
        if id(module.weight) in tied:
            copies += weight.nbytes
        else:  # else read pages stay: 2x the weights
            released += release_file_pages(weight, mapped)
        del module.weight, weight
        module.__class__ = PackedLinear if way == "packed" else Fp16Linear
    log.info("bf16 matmuls use %s weights (%d layers; %.2f GB copied from embedding tables; "
             "%.2f GB of mapped file released)", way, len(linears), copies / 1e9, released / 1e9)
    if kept:
        log.info("%d layers keep bf16 weights: some exceed fp16's range", len(kept))
    return True


def _new_forms(way: str, linears: list):
    """Each layer's new form, in order. fbgemm packs a weight on one thread (~8 ns a weight:
    ~100 s for the 8B shape), so the fp16 forms are made by as many threads as torch uses
    (1.6x faster on 2, measured); the caller swaps each in as it comes, faster than they come."""
    if way == "packed":
        for module in linears:
            yield torch.ops.mkldnn._reorder_linear_weight(module.weight.detach(), PACK_ROWS)
        return
    with ThreadPoolExecutor(max(1, torch.get_num_threads())) as pool:
        yield from pool.map(lambda module: fp16_weight(module.weight.detach()), linears)
