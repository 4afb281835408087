"""Datasets on Ray Data: `score_images` for your own pipelines, and `artimuse eval --ray`.

    from artimuse.distributed.data import score_images
    scores = score_images(paths, "checkpoints/ArtiMuse_AVA", aspects=True, workers=8)
    scores.write_parquet("scores/")                  # path, total, 7 aspects, error
    keep = scores.filter(lambda row: row["total"] is not None and row["total"] >= 60)

The pipeline: groups of `batch_size` images (the batches the model will see) -> reading,
decoding and resizing as CPU tasks (`artimuse.images`: the guards and messages of every front
end) -> scoring in a pool of actors that each load the model once (one GPU each when the
cluster has GPUs) -> one row per image, in no particular order.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from artimuse.api import batched, prepare_or_error
from artimuse.config import DEFAULT_BATCH_SIZE, Settings, check_quant
from artimuse.distributed.cluster import (
    checkpoint_for_workers,
    connect,
    require_ray,
    resolve_on_node,
    size_workers,
)
from artimuse.errors import InputError, ItemFailed
from artimuse.evaluation import FAILED, error_kind
from artimuse.images import ImageError, PreparedImage
from artimuse.prompts import RADAR_ASPECTS

if TYPE_CHECKING:
    import ray.data

    from artimuse.distributed.cluster import Workers

log = logging.getLogger(__name__)
# "Composition & Design" -> "composition_design": names that Parquet, SQL and pandas like
ASPECT_COLUMNS = {a: re.sub(r"[^a-z]+", "_", a.lower()).strip("_") for a in RADAR_ASPECTS}
MAX_READ_BLOCKS = 4096  # a list of paths is split into at most this many read tasks


def score_images(
    images: Iterable[str | Path] | ray.data.Dataset,
    ckpt: str | None = None,
    *,
    aspects: bool = False,
    workers: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str | None = None,
    dtype: str | None = None,
    cpus_per_worker: float | None = None,
    gpus_per_worker: float | None = None,
    quant: str | None = None,
    compile: bool | None = None,
) -> ray.data.Dataset:
    """Score images on Ray; returns a lazy `ray.data.Dataset`, one row per image: `path`,
    `total` (0-100), the 7 aspect scores if `aspects` (`ASPECT_COLUMNS`), `warnings`, `error`
    and `error_kind` ("unreadable" or "failed"; None with `error` for a scored image).

    `images` is a list of paths (on a file system every node sees) or a Dataset with a `path`
    column (and optionally `bytes`, as `ray.data.read_binary_files(..., include_paths=True)`
    gives, e.g. from S3). A bad image gets `total` None and its `error`; it never stops the rest.
    Unset arguments come from ARTIMUSE_* (`quant`, `compile`: as `artimuse.load`'s, for every
    actor); `workers` defaults to one per GPU, else 1. Joins
    RAY_ADDRESS, or starts a local Ray, unless this process has called `ray.init` already.
    """
    ray = require_ray("data")
    connect(None)
    env = Settings.from_env()
    if isinstance(images, ray.data.Dataset):
        groups = images.map_batches(_rows_to_group, batch_size=batch_size, batch_format="numpy")
    else:
        groups = group_dataset([str(p) for p in images], batch_size)
    scorer = ScorerSpec(
        checkpoint_for_workers(ckpt or env.ckpt),
        device or env.device,
        dtype or env.dtype,
        aspects,
        quant=check_quant(quant, "quant") if quant else env.quant,
        compile=env.compile if compile is None else compile,
    )
    return scored(groups, scorer, size_workers(workers, cpus_per_worker, gpus_per_worker))


# --- the pipeline ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorerSpec:
    """What each scoring actor loads (device "auto": its GPU if Ray gave it one), and answers."""

    ckpt: str  # from `checkpoint_for_workers`
    device: str
    dtype: str
    aspects: bool
    quant: str = "none"  # artimuse.load's options, as the one-process paths take them
    compile: bool = False


def group_dataset(paths: Sequence[str], batch_size: int) -> ray.data.Dataset:
    """paths -> a Dataset of `{"paths": [...]}` rows, `batched` exactly as `score_many` does."""
    ray = require_ray("data")
    rows = [{"paths": group} for group in batched(paths, batch_size)]
    return ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), MAX_READ_BLOCKS)))


def _rows_to_group(batch: dict[str, np.ndarray]) -> dict[str, list]:
    """A batch of a user's rows (`path`, optionally `bytes`) -> one group row."""
    if "path" not in batch:
        raise InputError(f"score_images needs a `path` column; the dataset has {list(batch)}")
    group = {"paths": [[str(p) for p in batch["path"]]]}
    if "bytes" in batch:
        group["data"] = [list(batch["bytes"])]
    return group


def _decode_group(row: dict, size: int) -> dict:
    """CPU task: a group's images -> pixels (n, 3, S, S) float32, and per image its error and
    error kind ("" if fine; its pixels are zeros) and its warnings. `prepare_or_error`, as
    every other front end prepares images."""
    paths = [str(p) for p in row["paths"]]
    data = row.get("data")
    data = [None] * len(paths) if data is None else data
    sources = [path if x is None else bytes(x) for path, x in zip(paths, data, strict=True)]
    prepared = [prepare_or_error(s, size, name=p) for s, p in zip(sources, paths, strict=True)]
    blank = np.zeros((3, size, size), np.float32)
    good = [(x, None) if isinstance(x, PreparedImage) else (None, x) for x in prepared]
    return {
        "paths": paths,
        "pixels": np.stack([x.pixels[0].numpy() if x else blank for x, _ in good]),
        "errors": [str(e) if e else "" for _, e in good],
        "kinds": [error_kind(e) if e else "" for _, e in good],
        "warnings": [list(x.warnings) if x else [] for x, _ in good],
    }


def _prepared(pixels: np.ndarray, error: str, kind: str, warnings) -> PreparedImage | ImageError:
    """A decoded image back from its columns, as the model takes it."""
    if error:
        return (ItemFailed if kind == FAILED else ImageError)(error)
    tensor = torch.from_numpy(np.array(pixels[None]))  # a writable copy of the block's memory
    return PreparedImage(tensor, tuple(str(w) for w in warnings))


class _Scorer:
    """Actor: loads the model once, then scores one group per call as one engine batch."""

    def __init__(self, spec: ScorerSpec, threads: int):
        from artimuse.api import load

        torch.set_num_threads(threads)
        path = resolve_on_node(spec.ckpt)
        self.model = load(str(path), spec.device, spec.dtype, quant=spec.quant,
                          compile=spec.compile)
        self.aspects = spec.aspects

    def __call__(self, batch: dict[str, np.ndarray]):
        columns = defaultdict(list)
        groups = zip(batch["paths"], batch["pixels"], batch["errors"], batch["kinds"])
        for (paths, pixels, errors, kinds), warnings in zip(groups, batch["warnings"]):
            items = map(_prepared, pixels, errors, kinds, warnings)
            results = self.model.score_prepared(list(items), self.aspects)
            for path, result in zip(paths, results, strict=True):
                _add_row(columns, str(path), result, self.aspects)
        return _table(columns, self.aspects)


def _add_row(columns: dict[str, list], path: str, result, aspects: bool) -> None:
    failed = isinstance(result, ImageError)
    columns["path"].append(path)
    columns["total"].append(None if failed else result.total)
    for aspect, column in ASPECT_COLUMNS.items() if aspects else ():
        columns[column].append(None if failed else result.aspects[aspect])
    columns["warnings"].append([] if failed else list(result.warnings))
    columns["error"].append(str(result) if failed else None)
    columns["error_kind"].append(error_kind(result) if failed else None)


def _table(columns: dict[str, list], aspects: bool):
    """The output rows as an Arrow table with fixed types (nulls where an image failed)."""
    import pyarrow as pa

    text, floats = pa.string(), pa.float64()
    types = {"path": text, "total": floats, **dict.fromkeys(ASPECT_COLUMNS.values(), floats)}
    types |= {"warnings": pa.list_(text), "error": text, "error_kind": text}
    names = [n for n in types if aspects or n not in ASPECT_COLUMNS.values()]
    return pa.table({n: pa.array(columns[n], types[n]) for n in names})


def scored(groups: ray.data.Dataset, spec: ScorerSpec, workers: Workers) -> ray.data.Dataset:
    """Groups -> decoded as CPU tasks -> scored by `workers.count` actors -> a row per image."""
    ray = require_ray("data")
    decoded = groups.map(_decode_group, fn_kwargs={"size": image_size_of(spec)}, num_cpus=1)
    return decoded.map_batches(
        _Scorer,
        batch_size=1,  # one group = one engine batch
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers.count),
        fn_constructor_kwargs={"spec": spec, "threads": workers.threads},
        **workers.options(),
    )


def image_size_of(spec: ScorerSpec) -> int:
    """The checkpoint's input size: from its config.json here, or for a hub id on a worker
    node (which downloads it there, once, as its actors will need it anyway)."""
    from artimuse.loading.checkpoint import model_config, read_config

    path = Path(spec.ckpt)
    if path.is_dir():
        return model_config(read_config(path)).image_size
    ray = require_ray("data")

    def size_on_node() -> int:
        path = resolve_on_node(spec.ckpt)
        return model_config(read_config(path)).image_size

    try:
        return ray.get(ray.remote(size_on_node).remote())
    except ray.exceptions.RayTaskError as error:
        raise error.cause from None  # the loader's own message, not a remote traceback
