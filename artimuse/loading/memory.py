"""Will the weights fit? Said before anything is read, with the numbers and the way out.

A checkpoint that does not fit in memory does not fail cleanly by itself: on a CPU the mapped
weight files thrash the page cache (every step rereads the disk) or the kernel's OOM killer ends
the process mid-load. So `check_memory_fit` compares what the weights will take, from the
safetensors headers (no tensor is read), with what this machine has free for them, and raises
`CheckpointError` with the modes that would fit ("needs ~17 GB, 12 GB available: use --quant
int8 (10 GB) or int4 (6 GB)").

The free figure is `MemAvailable` of /proc/meminfo (file pages count as free: the kernel drops
them for us), lowered to a cgroup v2 limit's headroom where there is one, or the free CUDA memory
of the device; `ARTIMUSE_MEMORY_GB` sets it instead (a machine shared with other work, a test).
"""

from __future__ import annotations

import json
import logging
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from artimuse.config import QUANT_MODES, memory_budget_gb
from artimuse.errors import CheckpointError
from artimuse.loading.weights import weight_files

log = logging.getLogger(__name__)
GB = 1e9
# Bytes a quantized weight element takes, its scales included (int8: a float32 scale per
# output row, ~0 per element; int4: a float32 scale and zero per group of 128, 0.0625; nf4:
# bitsandbytes' blocks of 64 with an absmax, ~0.03).
QUANT_BYTES = {"int8": 1.0, "int8-embedding": 1.0, "int4": 0.5625, "nf4": 0.53}
# (key, mode, shape) -> what `mode` stores that tensor as (a QUANT_BYTES key), None: unchanged.
# The quantization step knows; api.load passes its answer in (loading imports no inference).
StoredAs = Callable[[str, str, tuple[int, ...]], str | None]
# Besides the weights: activations, the KV cache of a report and the libraries' own memory,
# measured at ~0.3 GB + 2% on the 1b and 8b presets (benchmarks/README.md); rounded up.
RUNTIME_BYTES = 0.5 * GB
RUNTIME_SHARE = 0.03
_DTYPE_BYTES = {torch.float32: 4, torch.float16: 2, torch.bfloat16: 2}


@dataclass(frozen=True)
class MemoryFit:
    needed: float  # bytes: the weights in the chosen form, plus the runtime's share
    available: float  # bytes this process may take, and where that figure came from
    source: str
    by_mode: dict[str, float]  # quant mode -> bytes it would need

    @property
    def fits(self) -> bool:
        return self.needed <= self.available


def check_memory_fit(
    checkpoint: Path, device: torch.device, dtype: torch.dtype, quant: str, stored_as: StoredAs
) -> MemoryFit | None:
    """Raise CheckpointError, before loading, when the weights of the `checkpoint` folder
    cannot fit; the message offers the quant modes that would (those that run on `device`)."""
    modes = smaller_modes(device)
    fit = memory_fit(weight_files(checkpoint), device, dtype, quant, stored_as, modes)
    if fit is None:
        return None
    log.info(
        "memory: the weights need ~%.1f GB (%s), %.1f GB available (%s)",
        fit.needed / GB, quant, fit.available / GB, fit.source,
    )
    if not fit.fits:
        raise CheckpointError(too_large_message(fit, quant, device))
    return fit


def smaller_modes(device: torch.device) -> tuple[str, ...]:
    offered = ("int8", "nf4") if device.type == "cuda" else ("int8", "int4")
    return tuple(m for m in offered if m in QUANT_MODES)


def memory_fit(
    files: list[Path], device: torch.device, dtype: torch.dtype, quant: str, stored_as: StoredAs,
    modes: tuple[str, ...] = ("int8", "int4"),
) -> MemoryFit | None:
    """The figures behind `check_memory_fit`; None when the check is switched off."""
    available, source = available_bytes(device)
    if available is None:
        return None
    tensors = [t for file in files for t in tensor_table(file).items()]
    every = dict.fromkeys(("none", *modes, quant))
    by_mode = {m: needed_bytes(tensors, dtype, m, stored_as) for m in every}
    return MemoryFit(by_mode[quant], available, source, by_mode)


def too_large_message(fit: MemoryFit, quant: str, device: torch.device) -> str:
    where = "GPU memory" if device.type == "cuda" else "memory"
    mode = "" if quant == "none" else f" with --quant {quant}"
    text = (
        f"the weights do not fit: they need ~{_gb(fit.needed)}{mode}, "
        f"{_gb(fit.available)} of {where} available ({fit.source})"
    )
    smaller = {
        m: b for m, b in fit.by_mode.items() if m not in ("none", quant) and b < fit.needed
    }
    fitting = [f"{m} ({_gb(b)})" for m, b in smaller.items() if b <= fit.available]
    if fitting:
        return f"{text}: use --quant {' or '.join(fitting)} (ARTIMUSE_QUANT)"
    sizes = ", ".join(f"{m} ~{_gb(b)}" for m, b in smaller.items())
    return (
        f"{text}, and no smaller mode fits either{f' ({sizes})' if sizes else ''}: close other "
        "programs or use a machine with more memory (ARTIMUSE_MEMORY_GB sets the figure this "
        "check uses; off skips it)"
    )


def needed_bytes(
    tensors: list[tuple[str, Tensor]], dtype: torch.dtype, quant: str, stored_as: StoredAs
) -> float:
    """Bytes of every tensor as `quant` keeps it (floating point ones in `dtype`), plus the
    runtime's share. `tensors`: (key, its header entry) of every file."""
    element = _DTYPE_BYTES.get(dtype, 2)
    total = 0.0
    for key, (stored, shape) in tensors:
        kind = stored_as(key, quant, shape) if quant != "none" else None
        count = math.prod(shape)
        if kind is not None:
            total += count * QUANT_BYTES.get(kind, 1.0)
        else:  # a float converted to `dtype`; anything else (a pre-quantized int8) as stored
            total += count * (element if stored in _FLOAT_TYPES else _FILE_BYTES.get(stored, 1))
    return total * (1 + RUNTIME_SHARE) + RUNTIME_BYTES


Tensor = tuple[str, tuple[int, ...]]  # a header entry: safetensors dtype name, shape
_FLOAT_TYPES = {"F64", "F32", "F16", "BF16"}
_FILE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U8": 1, "BOOL": 1}


def tensor_table(file: Path) -> dict[str, Tensor]:
    """key -> (dtype, shape), from a safetensors file's header alone (8-byte length + JSON)."""
    try:
        with file.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(min(length, 100_000_000)))
        return {
            k: (v["dtype"], tuple(v["shape"])) for k, v in header.items() if k != "__metadata__"
        }
    except (OSError, ValueError, KeyError, TypeError, struct.error) as error:
        raise CheckpointError(f"{file} is corrupt or truncated: {error}") from error


def available_bytes(device: torch.device) -> tuple[float | None, str]:
    """(bytes this process may fill, where the figure comes from); (None, ...) = no check."""
    budget = memory_budget_gb()
    if budget is not None:
        return (None, "ARTIMUSE_MEMORY_GB=off") if budget == 0 else (
            budget * GB, "ARTIMUSE_MEMORY_GB"
        )
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return float(free), f"free on {torch.cuda.get_device_name(device)}"
    readings = [r for r in (_meminfo_available(), _cgroup_headroom()) if r[0] is not None]
    return min(readings, default=(None, "unknown"))


def _meminfo_available() -> tuple[float | None, str]:
    fields = _key_values(Path("/proc/meminfo"), lambda v: int(v.split()[0]) * 1024)
    value = fields.get("MemAvailable")
    return (None if value is None else float(value)), "MemAvailable"


def _cgroup_headroom(root: Path = Path("/sys/fs/cgroup")) -> tuple[float | None, str]:
    """A cgroup v2 limit (a container) less the memory its processes hold (not file pages)."""
    try:
        limit = (root / "memory.max").read_text(encoding="utf-8").strip()
    except OSError:
        return None, "cgroup"
    if limit == "max":
        return None, "cgroup"
    anon = _key_values(root / "memory.stat", int).get("anon", 0)
    return float(int(limit) - anon), "the container's memory limit"


def _key_values(path: Path, parse: Callable[[str], int]) -> dict[str, int]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    pairs = (line.replace(":", " ", 1).split(maxsplit=1) for line in lines)
    out = {}
    for pair in pairs:
        if len(pair) == 2:
            try:
                out[pair[0]] = parse(pair[1])
            except ValueError:
                continue
    return out


def _gb(count: float) -> str:
    return f"{count / GB:.0f} GB" if count >= 10 * GB else f"{count / GB:.1f} GB"
