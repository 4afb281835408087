"""Joining Ray, sizing the workers, and the checkpoint on every node: shared by `eval --ray`,
`score_images` and `artimuse serve`.

Ray is imported only here and only when called, so the package works without the `[ray]` extra.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from artimuse.errors import InputError

log = logging.getLogger(__name__)
INSTALL = 'pip install "artimuse[ray]"'


class RayNotInstalled(InputError, ImportError):
    """Ray (the `[ray]` extra) is needed for this and is not installed."""


def require_ray(part: str = "data"):
    """The `ray` module with `ray.<part>` (data or serve: a bare `pip install ray` has neither),
    or RayNotInstalled with the command that installs it."""
    try:
        import importlib

        import ray

        importlib.import_module(f"ray.{part}")
    except ImportError as error:
        raise RayNotInstalled(
            f"Ray is not installed ({error}); install it with: {INSTALL}"
        ) from None
    return ray


def connect(address: str | None) -> bool:
    """Join the cluster at `address` (else RAY_ADDRESS, which Ray reads itself); with neither,
    start a local Ray for this process. False if this process had already joined one."""
    from artimuse.config import ray_address

    ray = require_ray()
    if ray.is_initialized():
        return False
    if address or ray_address():
        ray.init(address=address or None, logging_level=logging.WARNING)
    else:
        ray.init(address="local", num_cpus=local_cpus(), logging_level=logging.WARNING)
    return True


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """`connect` for the length of a command; leave the cluster (a local one stops) after it."""
    joined = connect(address)
    try:
        yield
    finally:
        if joined:
            require_ray().shutdown()


def local_cpus() -> int:
    """Logical CPUs of a local Ray: one more than the cores. The scoring actors take the cores;
    without a spare one the decoding tasks never get a CPU and the pipeline waits forever."""
    return (os.cpu_count() or 1) + 1


@dataclass(frozen=True)
class Workers:
    """How many model actors (or Serve replicas) and what each one asks Ray for."""

    count: int
    cpus: float
    gpus: float

    @property
    def threads(self) -> int:
        """torch threads per actor: its whole CPUs (Ray sets OMP_NUM_THREADS=1 for a fraction)."""
        return max(1, math.floor(self.cpus))

    def options(self) -> dict:
        return {"num_cpus": self.cpus, "num_gpus": self.gpus}


def size_workers(
    count: int | None = None,
    cpus: float | None = None,
    gpus: float | None = None,
    spare_cpus: float = 1,
) -> Workers:
    """Defaults from the cluster: one GPU per worker and one worker per GPU when it has GPUs;
    otherwise its CPUs shared out among `count` workers, `spare_cpus` left for other tasks."""
    resources = require_ray().cluster_resources()
    total_gpus, total_cpus = resources.get("GPU", 0.0), resources.get("CPU", 0.0)
    gpus = (1.0 if total_gpus >= 1 else 0.0) if gpus is None else float(gpus)
    if count is None:
        count = max(1, int(total_gpus // gpus)) if gpus else 1
    if gpus and count * gpus > total_gpus:
        log.warning("%d workers x %g GPUs: the cluster has %g now", count, gpus, total_gpus)
    if cpus is None:
        free = total_cpus - spare_cpus
        if free <= 0 and not gpus:
            raise InputError(
                f"the Ray cluster has {total_cpus:g} CPUs: too few to score on CPUs "
                f"with {spare_cpus:g} left for reading images"
            )
        share = 1.0 if gpus else free / count
        cpus = float(math.floor(share)) if share >= 1 else share
    return Workers(count, cpus, gpus)


# --- the checkpoint on every node -----------------------------------------------------------


def checkpoint_for_workers(ckpt: str) -> str:
    """What the workers are told to load: a local folder, checked here and made absolute (a
    worker's working directory may differ), or a hub repo spelled explicitly (`hf-hub:` or
    `ms:`, at its revision), which each node finds in its own hub cache or downloads (see
    `resolve_on_node`). A mistake raises the resolver's CheckpointNotFound here, once."""
    from artimuse.loading.checkpoint import read_config
    from artimuse.loading.hub import known_checkpoint, parse_spec
    from artimuse.loading.hub_resolve import resolve
    from artimuse.loading.weights import weight_files

    spec = parse_spec(ckpt)
    if spec is not None:
        return spec.explicit
    path = Path(ckpt).expanduser()
    folder = resolve(path, download=False)  # not a checkpoint: one clear message now
    read_config(folder)
    weight_files(folder)
    if not path.is_dir():  # checkpoints/<released name>, found in this machine's hub cache
        return parse_spec(known_checkpoint(path.name).name).explicit
    return str(folder.resolve())


def resolve_on_node(ckpt: str) -> Path:
    """The checkpoint on this node: a folder (a shared path) as it is; a hub repo from this
    node's hub cache, downloaded there by the first actor that needs it. No lock of ours:
    huggingface_hub (and the modelscope client) lock each file of the cache while fetching
    it, so the actors of a node that ask at once fetch every file once and wait for it."""
    from artimuse.loading.hub_resolve import resolve

    return resolve(ckpt)
