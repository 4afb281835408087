"""Run-time settings from the environment (behaviour §9).

Every front end (Python API, web app, REST service, CLI) takes the model's settings from
`Settings.from_env()` and its listening address from `listen_address()`; service limits are read
with `env_int`, so a malformed value is reported with the variable's name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

DEFAULT_CKPT = "checkpoints/ArtiMuse"
CHECKPOINTS_DIR = Path("checkpoints")
HUB_REPOS = (
    "Thunderbolt215215/ArtiMuse",
    "Thunderbolt215215/ArtiMuse_AVA",
    "Thunderbolt215215/ArtiMuse_FLICKR-AES",
    "Thunderbolt215215/ArtiMuse_PARA",
    "Thunderbolt215215/ArtiMuse_TAD66K",
)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}


@dataclass(frozen=True)
class Settings:
    ckpt: str = DEFAULT_CKPT
    device: str = "auto"
    dtype: str = "auto"
    max_new_tokens: int = 2048

    @classmethod
    def from_env(cls) -> Settings:
        max_new_tokens = env_int("ARTIMUSE_MAX_NEW_TOKENS", 2048)
        if max_new_tokens < 1:
            raise ValueError(f"ARTIMUSE_MAX_NEW_TOKENS must be >= 1, got {max_new_tokens}")
        return cls(
            ckpt=os.environ.get("ARTIMUSE_CKPT", DEFAULT_CKPT),
            device=os.environ.get("ARTIMUSE_DEVICE", "auto"),
            dtype=os.environ.get("ARTIMUSE_DTYPE", "auto"),
            max_new_tokens=max_new_tokens,
        )


def env_int(name: str, default: int) -> int:
    """An integer from the environment, with a message naming the variable when it is not one."""
    raw = os.environ.get(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}")


def listen_address(default_port: int) -> tuple[str, int]:
    """`HOST` (default 0.0.0.0) and `PORT`: where a server listens unless flags say otherwise."""
    return os.environ.get("HOST", "0.0.0.0"), env_int("PORT", default_port)


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str | torch.device | None) -> torch.device:
    """`auto` -> cuda:0, else mps, else cpu; anything that does not exist raises ValueError."""
    name = "auto" if name is None else str(name).strip()
    available = available_devices()
    if name == "auto":
        return torch.device(available[1] if len(available) > 1 else "cpu")
    if name == "cuda" and "cuda:0" in available:
        name = "cuda:0"
    if name not in available:
        raise ValueError(
            f"device {name!r} is not available on this machine; available: {', '.join(available)}"
            " (or 'auto')"
        )
    return torch.device(name)


def resolve_dtype(name: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """`auto` -> bfloat16 on CUDA and CPU (an 8B model fits 24 GB only in bf16), float16 on MPS."""
    if isinstance(name, torch.dtype):
        if name not in DTYPES.values():
            raise ValueError(f"dtype {name} is not supported; choose one of {', '.join(DTYPES)}")
        return name
    name = "auto" if name is None else DTYPE_ALIASES.get(str(name).strip(), str(name).strip())
    if name == "auto":
        return torch.float16 if device.type == "mps" else torch.bfloat16
    if name not in DTYPES:
        raise ValueError(f"dtype {name!r} is not supported; choose auto, {', '.join(DTYPES)}")
    return DTYPES[name]
