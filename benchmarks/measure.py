"""Measuring helpers for the benchmark: clocks, memory, bandwidth, test images."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artimuse.inference.cpu_layers import Fp16Linear
from artimuse.inference.quant.torch_cpu import onednn_int8_exact

GB = 1e9


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable, device: torch.device, repeats: int = 1, warmup: int = 0) -> float:
    """Median wall time of `fn()` in seconds, over `repeats` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    return statistics.median(clock(fn, device)[1] for _ in range(repeats))


def rss_bytes() -> int:
    """Current resident set size (/proc/self/statm), falling back to the peak elsewhere."""
    try:
        resident = int(Path("/proc/self/statm").read_text().split()[1])
        return resident * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@torch.no_grad()
def memory_bandwidth(device: torch.device, gigabytes: float = 1.0, repeats: int = 5) -> dict:
    """Best-of-`repeats` read bandwidth (a float32 sum) and copy bandwidth (read + write), GB/s.

    The buffer is far larger than any cache, so this is what streaming weights can reach.
    """
    n = int(gigabytes * GB) // 4
    source = torch.ones(n, dtype=torch.float32, device=device)
    target = torch.empty_like(source)
    read = min(clock(source.sum, device)[1] for _ in range(repeats))
    copy = min(clock(lambda: target.copy_(source), device)[1] for _ in range(repeats))
    return {"read_gbps": 4 * n / read / GB, "copy_gbps": 8 * n / copy / GB, "buffer_gb": gigabytes}


def slope(values: list[float]) -> float:
    """Least-squares slope of `values` against their index (0 for fewer than 2 values)."""
    if len(values) < 2:
        return 0.0
    return float(np.polyfit(np.arange(len(values)), np.asarray(values, dtype=np.float64), 1)[0])


def make_images(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """`count` JPEGs of camera-like sizes (smooth gradients + noise), written into `folder`."""
    sizes = [(1024, 768), (800, 1200), (640, 480), (1600, 1200), (1200, 1200)]
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        width, height = sizes[i % len(sizes)]
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        phase = rng.uniform(0, 6.28, size=3)
        channels = [
            127 + 100 * np.sin(xx / (37 + 11 * c) + yy / (53 + 7 * c) + phase[c]) for c in range(3)
        ]
        pixels = np.stack(channels, -1) + rng.normal(0, 12, size=(height, width, 3))
        path = folder / f"image_{i:04d}.jpg"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


@contextmanager
def stopwatch(device: torch.device, **targets: tuple[object, str]) -> Iterator[dict]:
    """Time every call of the named methods (`name=(obj, "method")`) while inside the block.

    Wraps them on these instances only, so the code under test runs unchanged.
    -> name -> list of seconds, one per call.
    """
    times: dict[str, list[float]] = {name: [] for name in targets}

    def wrap(name: str, method: Callable) -> Callable:
        def timed_method(*args, **kwargs):
            sync(device)
            start = time.perf_counter()
            result = method(*args, **kwargs)
            sync(device)
            times[name].append(time.perf_counter() - start)
            return result

        return timed_method

    for name, (obj, attr) in targets.items():
        setattr(obj, attr, wrap(name, getattr(obj, attr)))
    try:
        yield times
    finally:
        for obj, attr in targets.values():
            delattr(obj, attr)  # the class's method shows through again


def clock(fn: Callable, device: torch.device):
    """(fn(), seconds)."""
    sync(device)
    start = time.perf_counter()
    result = fn()
    sync(device)
    return result, time.perf_counter() - start


@torch.no_grad()
def matmul_speed(
    layer: torch.nn.Linear,
    dtype: torch.dtype,
    device: torch.device,
    rows: tuple[int, ...] = (1, 8, 256),
) -> dict:
    """ms and GFLOP/s of one of the model's Linear layers (in its dtype, with the kernel chosen
    for it: see artimuse/inference/cpu_kernels.py) and of a plain float32 matmul of the same
    shape, for inputs of `rows` rows: shows how well this machine multiplies the model's dtype."""
    plain = torch.randn(layer.out_features, layer.in_features, device=device)
    kernels = {
        f"model_{str(dtype).removeprefix('torch.')}": (layer, dtype),
        "float32": (lambda x: F.linear(x, plain), torch.float32),
    }
    out = {}
    for name, (kernel, kernel_dtype) in kernels.items():
        for m in rows:
            x = torch.randn(m, layer.in_features, dtype=kernel_dtype, device=device)
            seconds = timed(lambda x=x, k=kernel: k(x), device, 3, warmup=1)
            flops = 2 * m * layer.out_features * layer.in_features
            out[f"{name}_rows_{m}"] = {"ms": 1000 * seconds, "gflops": flops / seconds / GB}
    return out


def weight_bytes(module: torch.nn.Module) -> int:
    """Parameters and buffers as stored: the Linear weights the CPU kernels moved into packed
    buffers or fbgemm's fp16 form, and the quantized ones (int8, packed int4, their scales)."""
    tensors = (*module.parameters(), *module.buffers())
    fp16 = (m.stored_bytes for m in module.modules() if isinstance(m, Fp16Linear))
    return sum(t.nbytes for t in tensors) + sum(fp16)


def cpu_features() -> dict:
    """What decides CPU matmul speed per dtype (torch's own detection)."""
    checks = ("avx2", "avx512", "avx512_bf16", "amx_tile", "amx_fp16")
    found = {}
    for name in checks:
        probe = getattr(torch.cpu, f"_is_{name}_supported", None)
        found[name] = bool(probe()) if probe else None
    try:  # ONEDNN_MAX_CPU_ISA=AVX2 switches it off: what a CPU without bf16 instructions gets
        found["onednn_bf16"] = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        found["onednn_bf16"] = None
    found["onednn_int8_exact"] = onednn_int8_exact()  # whether int8 / w8a8 take oneDNN
    return {"capability": torch.backends.cpu.get_cpu_capability(), **found}
