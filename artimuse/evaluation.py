"""Dataset evaluation: read a test set, score it resumably, and correlate with the ground truth.

Layout (behaviour §9):
`test_datasets/{name}/test.json` = `[{"image": "a.jpg", "gt_score": 5.21}, ...]`
with the images under `test_datasets/{name}/images/`. Every result is appended to a JSON-lines
progress file as soon as it exists, so an interrupted run loses nothing and a rerun scores only
what is missing. The final `results/dataset_results/{dataset}_{model_name}.json` keeps the
original tool's format, `[{"image": ..., "score": ...}]`, in test.json order.

An entry is read only inside its images folder (an absolute path or `../` is a per-entry
`outside` error); an image that fails in an unexpected way is recorded as `failed` with its
reason and the run goes on.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from artimuse.errors import InputError, InputNotFound, ItemFailed, read_json
from artimuse.images import ImageError

log = logging.getLogger(__name__)
DATASETS_DIR = Path("test_datasets")
RESULTS_DIR = Path("results/dataset_results")
MISSING, UNREADABLE, OUTSIDE, FAILED = "missing", "unreadable", "outside", "failed"
FAILURE_KINDS = (MISSING, UNREADABLE, OUTSIDE, FAILED)


@dataclass(frozen=True)
class Sample:
    image: str  # path relative to the images folder, as written in test.json
    gt_score: float


@dataclass(frozen=True)
class Dataset:
    name: str
    samples: list[Sample]
    images_dir: Path

    def path_of(self, image: str) -> Path:
        return self.images_dir / image

    def is_inside(self, image: str) -> bool:
        """Whether the entry names a file under the images folder, judged on the text (no
        absolute path, no `..` out of it): test.json may come from anyone, the folder's own
        symbolic links are its owner's choice."""
        folder = os.path.normpath(os.path.abspath(self.images_dir))
        target = os.path.normpath(os.path.join(folder, image))
        return not os.path.isabs(image) and os.path.commonpath([folder, target]) == folder

    def unique_images(self) -> list[str]:
        """Each image once, in test.json order (a repeated entry is scored once)."""
        return list(dict.fromkeys(s.image for s in self.samples))


def dataset_files(name: str, root: Path = DATASETS_DIR) -> tuple[Path, Path]:
    """(test.json, images dir) of a named dataset under `root`."""
    return root / name / "test.json", root / name / "images"


def read_dataset(test_json: Path, images_dir: Path, name: str | None = None) -> Dataset:
    """Read and check test.json; every problem names the file and the entry."""
    test_json, images_dir = Path(test_json), Path(images_dir)
    if not test_json.is_file():
        raise InputNotFound(
            f"{test_json} not found: a dataset is test_datasets/NAME/test.json with the images "
            "in test_datasets/NAME/images/ (or pass --test-json FILE --images DIR)"
        )
    if not images_dir.is_dir():
        raise InputNotFound(f"images folder {images_dir} not found (next to {test_json})")
    entries = read_json(test_json, InputError, "a list of entries")
    if not isinstance(entries, list) or not entries:
        raise InputError(
            f"{test_json} must be a non-empty JSON list of "
            f'{{"image": "relative/path.jpg", "gt_score": 5.21}} objects, got '
            f"{type(entries).__name__}{' (empty)' if entries == [] else ''}"
        )
    samples = [_sample(entry, index, test_json) for index, entry in enumerate(entries)]
    return Dataset(name or test_json.parent.name, samples, images_dir)


def _sample(entry: object, index: int, test_json: Path) -> Sample:
    where = f"{test_json}, entry {index}"
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected an object with image and gt_score, got {entry!r}")
    image, gt = entry.get("image"), entry.get("gt_score")
    if not isinstance(image, str) or not image.strip():
        raise InputError(f"{where}: `image` must be a non-empty path string, got {image!r}")
    # bool is an int in Python, and NaN/inf would poison every correlation
    if isinstance(gt, bool) or not isinstance(gt, (int, float)) or not math.isfinite(gt):
        raise InputError(f"{where} ({image}): `gt_score` must be a finite number, got {gt!r}")
    return Sample(image, float(gt))


class ProgressLog:
    """Results as JSON lines, one per image, flushed as written: the run's durable record."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def read(self) -> dict[str, dict]:
        """image -> its latest record; a line cut short by a crash is dropped (and cut off)."""
        if not self.path.is_file():
            return {}
        records, good_bytes = {}, 0
        with self.path.open("rb") as file:
            for line in file:
                try:
                    record = json.loads(line)
                    records[record["image"]] = record
                except (ValueError, KeyError, TypeError):
                    log.warning("%s: dropping an unreadable line", self.path)
                    break
                good_bytes += len(line) if line.endswith(b"\n") else 0
        self._truncate(good_bytes)
        return records

    def _truncate(self, size: int) -> None:
        if self.path.stat().st_size != size:  # so the next append starts on a fresh line
            with self.path.open("r+b") as file:
                file.truncate(size)

    def append(self, records: Sequence[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            for record in records:
                file.write(json.dumps(record, ensure_ascii=False) + "\n")
            file.flush()
            os.fsync(file.fileno())


def pending(dataset: Dataset, records: dict[str, dict]) -> list[str]:
    """Images with no score yet, in test.json order; failed ones are tried again (the file
    may have been fixed since)."""
    return [i for i in dataset.unique_images() if "score" not in records.get(i, {})]


def score_dataset(
    model,
    dataset: Dataset,
    progress: ProgressLog,
    records: dict[str, dict],
    batch_size: int = 8,
    on_record: Callable[[dict], None] = lambda record: None,
) -> dict[str, dict]:
    """Score the `pending` images in this process, logging each record as it comes.

    Records are `{"image", "score"}` or `{"image", "error": one of FAILURE_KINDS, "detail"}`;
    returns `records` (image -> record), updated.
    """
    keep = recorder(records, progress, on_record)
    present = present_images(dataset, pending(dataset, records), keep)
    paths = (str(dataset.path_of(image)) for image in present)
    results = model.score_many(paths, batch_size=batch_size, aspects=False)
    for image, result in zip(present, results, strict=True):
        failed = isinstance(result, ImageError)
        keep(failed_record(image, result) if failed else scored_record(image, result.total))
    return records


def recorder(
    records: dict[str, dict], progress: ProgressLog, on_record: Callable[[dict], None]
) -> Callable[[dict], None]:
    """record -> appended to the progress log (durable at once), kept in `records`, reported."""

    def keep(record: dict) -> None:
        progress.append([record])
        records[record["image"]] = record
        on_record(record)

    return keep


def present_images(
    dataset: Dataset, todo: Sequence[str], keep: Callable[[dict], None]
) -> list[str]:
    """The `todo` images inside the images folder whose file exists, in order; the others are
    kept now, as `outside` or `missing`."""
    for image in (i for i in todo if not dataset.is_inside(i)):
        detail = f"refused: the path leads outside the images folder {dataset.images_dir}"
        keep(failure_record(image, OUTSIDE, detail))
    todo = [i for i in todo if dataset.is_inside(i)]
    present = [i for i in todo if dataset.path_of(i).is_file()]
    found = set(present)
    for image in (i for i in todo if i not in found):
        keep(failure_record(image, MISSING, "no such file"))
    return present


def scored_record(image: str, total: float) -> dict:
    return {"image": image, "score": total}


def failed_record(image: str, error: ImageError) -> dict:
    """`failed` for an unexpected failure (ItemFailed), `unreadable` for a bad image."""
    return failure_record(image, error_kind(error), str(error))


def error_kind(error: ImageError) -> str:
    return FAILED if isinstance(error, ItemFailed) else UNREADABLE


def failure_record(image: str, kind: str, detail: str) -> dict:
    return {"image": image, "error": kind, "detail": detail}


def correlations(predicted: Sequence[float], truth: Sequence[float]) -> dict[str, float | None]:
    """SRCC, PLCC and KRCC (scipy.stats); None where undefined (< 2 pairs, constant input)."""
    from scipy import stats

    if len(predicted) < 2:
        return {"srcc": None, "plcc": None, "krcc": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: scipy warns and returns NaN
        values = {
            "srcc": stats.spearmanr(predicted, truth).statistic,
            "plcc": stats.pearsonr(predicted, truth).statistic,
            "krcc": stats.kendalltau(predicted, truth).statistic,
        }
    return {k: None if math.isnan(v) else float(v) for k, v in values.items()}


@dataclass
class Report:
    dataset: str
    model_name: str
    rows: list[dict]  # the seed format: {"image", "score"} in test.json order
    metrics: dict[str, float | None]
    entries: int
    failures: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        counts = {"entries": self.entries, "scored": len(self.rows)}
        counts |= {kind: sum(f["error"] == kind for f in self.failures) for kind in FAILURE_KINDS}
        return {
            "dataset": self.dataset,
            "model_name": self.model_name,
            **self.metrics,
            "counts": counts,
            "failures": self.failures,
        }


def build_report(dataset: Dataset, model_name: str, records: dict[str, dict]) -> Report:
    """Rows in test.json order for scored images; metrics over every scored entry."""
    scored = [s for s in dataset.samples if "score" in records.get(s.image, {})]
    rows = [{"image": s.image, "score": records[s.image]["score"]} for s in scored]
    metrics = correlations([r["score"] for r in rows], [s.gt_score for s in scored])
    failures = [
        records.get(i) or failure_record(i, MISSING, "not scored")
        for i in pending(dataset, records)
    ]
    return Report(dataset.name, model_name, rows, metrics, len(dataset.samples), failures)


def write_outputs(
    dataset: Dataset, model_name: str, records: dict[str, dict], paths: dict[str, Path]
) -> tuple[Report, dict]:
    """Write the seed-format results and the metrics file; return the report and the summary
    (the metrics file's content: metrics, counts, failures and the three paths)."""
    report = build_report(dataset, model_name, records)
    write_json_atomic(paths["results"], report.rows)
    summary = {**report.to_json(), **{k: str(v) for k, v in paths.items()}}
    write_json_atomic(paths["metrics"], summary)
    return report, summary


def result_paths(out_dir: Path, dataset: str, model_name: str) -> dict[str, Path]:
    stem = f"{dataset}_{model_name}"
    return {
        "results": out_dir / f"{stem}.json",
        "metrics": out_dir / f"{stem}.metrics.json",
        "progress": out_dir / f"{stem}.progress.jsonl",
    }


def write_json_atomic(path: Path, value) -> None:
    """Write next to `path`, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
