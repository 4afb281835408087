"""What every part of the benchmark measures on: the model, its test images, shared figures."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import torch

import artimuse
from artimuse.testing.checkpoints import PRESETS
from benchmarks.measure import memory_bandwidth


def load_model(checkpoint: str | Path, device: str, dtype: str, **options) -> artimuse.ArtiMuse:
    """`artimuse.load` (`options`: its other keywords) with every comment forced to its
    `max_new_tokens` (EOS ignored): the weights are random, so comment lengths mean nothing and
    each run must do the same work."""
    model = artimuse.load(str(checkpoint), device=device, dtype=dtype, **options)
    model.engine.ignore_eos = True
    return model


@dataclass
class Context:
    args: argparse.Namespace
    model: artimuse.ArtiMuse
    image: Path
    paths: list[Path]
    scores: artimuse.Scores | None = None  # the engine's scores of `image`, once measured
    _bandwidth: dict | None = field(default=None, repr=False)

    @property
    def engine(self):
        return self.model.engine

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def pixels(self) -> torch.Tensor:
        return self.model.pixels(self.image)

    def bandwidth(self) -> dict:
        """The memory bandwidth figures, measured once (the bandwidth and decode parts use it)."""
        if self._bandwidth is None:
            self._bandwidth = memory_bandwidth(self.device, self.args.bandwidth_gb)
        return self._bandwidth


def checkpoint_arguments(parser: argparse.ArgumentParser, preset: str = "1b") -> None:
    """The benchmarks' common --preset/--ckpt/--device/--dtype options."""
    parser.add_argument("--preset", choices=sorted(PRESETS), default=preset)
    parser.add_argument("--ckpt", type=Path, help="default: .benchmarks/<preset>-bfloat16")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="bfloat16")
