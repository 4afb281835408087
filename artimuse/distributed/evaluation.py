"""`artimuse eval --ray`: `evaluation.score_dataset` on Ray Data, with the same records.

The CLI runs everything around the scoring (the dataset, the progress log, resuming, the result
files, the metrics) as it does without Ray; only the pending images go through the pipeline of
`artimuse.distributed.data`, in the batches the one-process eval forms, and each result is
appended to the progress log as it streams back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from artimuse.config import Settings
from artimuse.distributed.cluster import (
    Workers,
    checkpoint_for_workers,
    ray_session,
    require_ray,
    size_workers,
)
from artimuse.distributed.data import ScorerSpec, group_dataset, scored
from artimuse.errors import ItemFailed
from artimuse.evaluation import (
    FAILED,
    Dataset,
    ProgressLog,
    failed_record,
    pending,
    present_images,
    recorder,
    scored_record,
)
from artimuse.images import ImageError

log = logging.getLogger(__name__)


def ray_eval_scorer(
    settings: Settings, address: str | None, workers: int | None, batch_size: int
) -> Callable:
    """The CLI's scorer for `eval --ray [ADDRESS] --workers N`: (dataset, progress, records,
    on_record) -> scores the pending images on Ray, in a Ray session of its own."""
    spec = ScorerSpec(
        checkpoint_for_workers(settings.ckpt),  # a wrong path fails now, before Ray starts
        settings.device,
        settings.dtype,
        aspects=False,
        quant=settings.quant,
        compile=settings.compile,
    )

    def score(dataset: Dataset, progress: ProgressLog, records: dict, on_record) -> dict:
        with ray_session(address or None):
            # the CLI's own bar counts images; Ray's per-operator bars and reports would interleave
            logging.getLogger("ray.data").setLevel(logging.ERROR)
            require_ray("data").data.DataContext.get_current().enable_progress_bars = False
            pool = size_workers(workers)
            return score_dataset_on_ray(
                dataset, progress, records, on_record, spec, pool, batch_size
            )

    return score


def score_dataset_on_ray(
    dataset: Dataset,
    progress: ProgressLog,
    records: dict,
    on_record: Callable[[dict], None],
    spec: ScorerSpec,
    workers: Workers,
    batch_size: int,
) -> dict:
    """`evaluation.score_dataset` on Ray: the same records, written to the same progress log
    as each result streams back, and the same batches, so the same numbers."""
    keep = recorder(records, progress, on_record)
    images_at = defaultdict(list)  # a file named twice in test.json is scored once
    for image in present_images(dataset, pending(dataset, records), keep):
        images_at[str(dataset.path_of(image))].append(image)
    if not images_at:
        return records
    for row in scored(group_dataset(list(images_at), batch_size), spec, workers).iter_rows():
        for image in images_at[row["path"]]:
            keep(_record(image, row))
    return records


def _record(image: str, row: dict) -> dict:
    if row["error"] is None:
        return scored_record(image, row["total"])
    error = (ItemFailed if row["error_kind"] == FAILED else ImageError)(row["error"])
    return failed_record(image, error)
