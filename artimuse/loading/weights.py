"""Strict safetensors loading into a model built on the `meta` device."""

from __future__ import annotations

import ctypes
import json
import mmap
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

from artimuse.errors import CheckpointError, CheckpointNotFound

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


def weight_files(ckpt_dir: Path) -> list[Path]:
    """`model.safetensors`, or the shards its index names (every one must exist)."""
    index = ckpt_dir / INDEX_FILE
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"{index} is not a valid safetensors index: {error}") from error
        files = [ckpt_dir / name for name in sorted(set(weight_map.values()))]
    elif (ckpt_dir / SINGLE_FILE).is_file():
        files = [ckpt_dir / SINGLE_FILE]
    else:
        others = sorted(p.name for p in ckpt_dir.glob("*.bin")) or ["none"]
        raise CheckpointNotFound(
            f"no weights in {ckpt_dir}: expected {SINGLE_FILE} or {INDEX_FILE} "
            f"(found .bin files: {', '.join(others)}; only safetensors are loaded)"
        )
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise CheckpointNotFound(f"weight shards missing: {', '.join(missing)}")
    return files


def read_tensors(
    files: list[Path],
    dtype: torch.dtype,
    device: torch.device,
    stay_mapped: Callable[[str], bool] = lambda key: False,
) -> dict:
    """Every tensor of every file, converted one at a time to `dtype` on `device`. The keys
    `stay_mapped` accepts, and integer tensors (quantized weights), are kept as stored; the
    former on the CPU, where safetensors maps them without reading (to be quantized)."""
    # safetensors reads straight into CUDA memory; MPS goes through the CPU.
    load_device = "cpu" if device.type == "mps" else str(device)
    tensors: dict[str, torch.Tensor] = {}
    for file in files:
        try:
            with (
                safe_open(str(file), framework="pt", device=load_device) as reader,
                safe_open(str(file), framework="pt", device="cpu") as cpu_reader,
            ):
                for key in reader.keys():
                    if stay_mapped(key):
                        tensors[key] = cpu_reader.get_tensor(key)
                        continue
                    tensor = reader.get_tensor(key)
                    wanted = dtype if tensor.is_floating_point() else tensor.dtype
                    tensors[key] = tensor.to(device=device, dtype=wanted)
        except (SafetensorError, OSError, RuntimeError) as error:
            raise CheckpointError(f"{file} is corrupt or truncated: {error}") from error
    return tensors


def load_strict(
    model: nn.Module, tensors: dict, where: Path, device: torch.device, absent=frozenset()
) -> None:
    """Assign `tensors` as the model's parameters; every key used, every parameter filled but
    those `absent` (a pre-quantized checkpoint's layers: left on `meta`, built later)."""
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    expected = set(shapes) - absent
    tied = _tied_output_key(model)
    missing = sorted(expected - set(tensors) - ({tied} if tied else set()))
    unexpected = sorted(set(tensors) - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"weights in {where} do not match the model built from its config.json: "
            f"{len(missing)} missing ({_names(missing)}), "
            f"{len(unexpected)} unexpected ({_names(unexpected)})"
        )
    wrong = [
        f"{key} is {tuple(t.shape)} in the file, {shapes[key]} in the model"
        for key, t in tensors.items()
        if tuple(t.shape) != shapes[key]
    ]
    if wrong:
        raise CheckpointError(f"weights in {where} do not fit its config.json: {_names(wrong)}")
    model.load_state_dict(tensors, strict=not (tied or absent), assign=True)
    if tied:
        model.language_model.tie_weights()
    _materialize_buffers(model, device, absent)


def _tied_output_key(model: nn.Module) -> str | None:
    lm_config = model.language_model.config
    return "language_model.lm_head.weight" if lm_config.tie_word_embeddings else None


def _materialize_buffers(model: nn.Module, device: torch.device, absent) -> None:
    """Non-persistent buffers (rotary `inv_freq`) are not in the file: compute them afresh."""
    for module in model.modules():
        meta = [name for name, b in module.named_buffers(recurse=False) if b.is_meta]
        if not meta:
            continue
        fresh = type(module)(module.config)  # rotary embeddings take only the LM config
        for name in meta:
            setattr(module, name, getattr(fresh, name).to(device))
    left = [name for name, p in model.named_parameters() if p.is_meta and name not in absent]
    if left:
        raise CheckpointError(f"parameters left without weights: {_names(left)}")


def _names(keys: list[str], limit: int = 8) -> str:
    if not keys:
        return "none"
    shown = ", ".join(keys[:limit])
    return shown + (f", ... and {len(keys) - limit} more" if len(keys) > limit else "")


MADV_DONTNEED = 4  # Linux: drop the pages from this process; a file mapping rereads on access


def mapped_weight_files() -> list[tuple[int, int]]:
    """The address ranges where this process maps `.safetensors` files (none off Linux)."""
    try:
        lines = Path("/proc/self/maps").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    ranges = []
    for fields in (line.split(maxsplit=5) for line in lines):
        if len(fields) == 6 and fields[5].endswith(".safetensors"):
            low, high = fields[0].split("-")
            ranges.append((int(low, 16), int(high, 16)))
    return ranges


def release_file_pages(tensor: torch.Tensor, mapped: list[tuple[int, int]]) -> int:
    """Take the pages of a weight that is about to be dropped out of this process's memory.

    safetensors maps the weight files (private, copy-on-write) and our tensors point into those
    maps, so a page stays resident once read while any tensor of its file lives. Only whole
    pages inside a tensor that lies in one of the `mapped` ranges are dropped: they hold the
    file's bytes (weights are never written) and would be reread from it if ever touched.
    Call it only for a tensor nothing else shares. Returns the bytes released.
    """
    start, end = tensor.data_ptr(), tensor.data_ptr() + tensor.nbytes
    if not any(low <= start and end <= high for low, high in mapped):
        return 0
    page = mmap.PAGESIZE
    first, last = -(-start // page) * page, end // page * page
    if last <= first:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), MADV_DONTNEED):
        return 0
    return last - first
