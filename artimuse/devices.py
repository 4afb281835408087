"""Devices and dtypes: what `auto` means here, and a clear error for one this machine lacks."""

from __future__ import annotations

import torch

from artimuse.errors import InputError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str | torch.device | None) -> torch.device:
    """`auto` -> cuda:0, else mps, else cpu (any case: `CPU`, `CUDA:0`); anything that does not
    exist is an InputError."""
    name = "auto" if name is None else str(name).strip().lower()
    available = available_devices()
    if name == "auto":
        return torch.device(available[1] if len(available) > 1 else "cpu")
    if name == "cuda" and "cuda:0" in available:
        name = "cuda:0"
    if name not in available:
        raise InputError(
            f"device {name!r} is not available on this machine; available: {', '.join(available)}"
            " (or 'auto')"
        )
    return torch.device(name)


def resolve_dtype(name: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """`auto` -> bfloat16 on CUDA and CPU (an 8B model fits 24 GB only in bf16), float16 on MPS."""
    if isinstance(name, torch.dtype):
        if name not in DTYPES.values():
            raise InputError(f"dtype {name} is not supported; choose one of {', '.join(DTYPES)}")
        return name
    name = "auto" if name is None else str(name).strip().lower()
    name = DTYPE_ALIASES.get(name, name)
    if name == "auto":
        return torch.float16 if device.type == "mps" else torch.bfloat16
    if name not in DTYPES:
        aliases = ", ".join(f"{alias} = {full}" for alias, full in DTYPE_ALIASES.items())
        raise InputError(
            f"dtype {name!r} is not supported; choose auto, {', '.join(DTYPES)} ({aliases})"
        )
    return DTYPES[name]
