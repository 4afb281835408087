"""Read the weights while loading, with progress, so that the first request costs what the
second does.

safetensors maps the weight files; a tensor's bytes come off the disk when something first
touches them. Left alone, that is the first request: on the 8b preset it spends most of a
minute in page faults, one 4 KiB page (or a readahead window) at a time, and nothing can show
how far it got. `read_weights` asks the kernel to read every page the model still maps
(`madvise(MADV_POPULATE_READ)`, Linux 5.14+; elsewhere one byte per page is touched), in chunks
of `CHUNK` bytes in file order, and reports a `LoadProgress` after each chunk.

Only the tensors the model still holds in a mapped file are read: a weight that loading copied
elsewhere (oneDNN's packed layout, a quantized copy, GPU memory) is resident already, and its
file pages were released, so rereading them would double the memory for nothing. Embedding
tables are left out too: a prompt reads a few of their rows, a page each, and the whole table
(1.1 GB at the 8b shape) need not take memory.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from artimuse.loading.weights import mapped_weight_files

log = logging.getLogger(__name__)
CHUNK = 256 << 20  # bytes per madvise call: progress ~60 times over the 8b preset's weights
MADV_POPULATE_READ = 22  # Linux: fault the range in (readahead and page tables) in one call


@dataclass(frozen=True)
class LoadProgress:
    """Where loading stands: the record a progress callback receives (CLI bar, server log,
    the web app's status line)."""

    step: str  # what is being done, e.g. "reading weights"
    done_bytes: int
    total_bytes: int
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 1.0

    @property
    def bytes_per_s(self) -> float:
        return self.done_bytes / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        speed = self.bytes_per_s
        return (self.total_bytes - self.done_bytes) / speed if speed else None

    def describe(self) -> str:
        eta = "" if self.eta_s is None or self.fraction >= 1 else f", {self.eta_s:.0f} s left"
        return (
            f"{self.step}: {int(100 * self.fraction)}% of {self.total_bytes / 1e9:.1f} GB "
            f"({self.bytes_per_s / 1e9:.2f} GB/s{eta})"
        )


Progress = Callable[[LoadProgress], None]


def read_weights(model: nn.Module, progress: Progress | None = None) -> LoadProgress:
    """Bring every mapped weight page the model uses into memory; -> the final record.

    `progress` gets a record after each chunk (default: a log line every 10 percent).
    """
    ranges = mapped_ranges(model)
    total = sum(end - start for start, end in ranges)
    report = progress or log_every_tenth()
    start_time = time.perf_counter()
    done = 0

    def record() -> LoadProgress:
        return LoadProgress("reading weights", done, total, time.perf_counter() - start_time)

    for start, end in ranges:
        for chunk in range(start, end, CHUNK):
            size = min(CHUNK, end - chunk)
            populate(chunk, size)
            done += size
            report(record())
    final = record()
    log.info("weights read: %.2f GB in %.1f s", total / 1e9, final.elapsed_s)
    return final


def mapped_ranges(model: nn.Module) -> list[tuple[int, int]]:
    """Page-aligned, merged address ranges of the model's tensors that lie in mapped weight
    files, Embedding tables aside (see the module's docstring)."""
    mapped = mapped_weight_files()
    if not mapped:
        return []
    page = mmap.PAGESIZE
    spans = []
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            continue
        tensors = [*module.parameters(recurse=False), *module.buffers(recurse=False)]
        for tensor in tensors:
            if tensor.device.type != "cpu" or tensor.is_mkldnn or not tensor.nbytes:
                continue  # on a device, or oneDNN's own (packed) memory: nothing mapped
            low, high = tensor.data_ptr(), tensor.data_ptr() + tensor.nbytes
            if any(a <= low and high <= b for a, b in mapped):
                spans.append((low // page * page, -(-high // page) * page))
    return _merged(spans)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return [(low, high) for low, high in merged]


def populate(address: int, size: int) -> None:
    """Fault `size` bytes at `address` in: one madvise on Linux, one byte per page elsewhere."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if not libc.madvise(ctypes.c_void_p(address), ctypes.c_size_t(size), MADV_POPULATE_READ):
            return
    # An older kernel (EINVAL) or another system: touch each page through a byte view.
    buffer = (ctypes.c_ubyte * size).from_address(address)
    pages = torch.frombuffer(buffer, dtype=torch.uint8)[:: mmap.PAGESIZE]
    pages.sum()


def log_every_tenth() -> Progress:
    """A progress callback that logs at every tenth of the way (library code logs; only the
    CLI draws bars)."""
    last = [-1]

    def report(progress: LoadProgress) -> None:
        tenth = int(progress.fraction * 10)
        if tenth > last[0]:
            last[0] = tenth
            log.info("%s", progress.describe())

    return report

