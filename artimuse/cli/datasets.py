"""`artimuse eval` (SRCC/PLCC/KRCC over a dataset, resumable, in this process or on Ray) and
`artimuse serve` (the REST service on Ray Serve)."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

from artimuse.cli import model as cli_model
from artimuse.config import API_PORT, listen_address, ray_address, settings_from_args
from artimuse.errors import InputError
from artimuse.evaluation import (
    Dataset,
    ProgressLog,
    dataset_files,
    pending,
    read_dataset,
    result_paths,
    score_dataset,
    write_outputs,
)
from artimuse.startup import check_listen

FAILURES_SHOWN = 5  # failed entries `eval` prints with their reasons; the rest are in the file


def run_eval(args: argparse.Namespace) -> int:
    dataset = _dataset_of(args)
    model_name = cli_model.model_name_of(args)
    paths = result_paths(Path(args.out_dir), dataset.name, model_name)
    progress = ProgressLog(paths["progress"])
    records = progress.read()
    todo = pending(dataset, records)
    if todo:
        try:
            _score_with_bar(_scorer(args), dataset, progress, records, len(todo))
        except KeyboardInterrupt:
            done = len(dataset.unique_images()) - len(pending(dataset, records))
            print(
                f"\ninterrupted: {done} of {len(dataset.unique_images())} images scored, "
                f"kept in {paths['progress']}; run the same command to go on",
                file=sys.stderr,
            )
            return 130
    report, summary = write_outputs(dataset, model_name, records, paths)
    print(
        json.dumps(summary, indent=2, ensure_ascii=False)
        if args.json
        else _eval_text(report, paths)
    )
    return 0


def _scorer(args: argparse.Namespace):
    """(dataset, progress, records, on_record) -> scores the pending images: in this process,
    or with `--ray` on a Ray cluster (artimuse.distributed.evaluation)."""
    if args.ray is not None:
        from artimuse.distributed.evaluation import ray_eval_scorer

        return ray_eval_scorer(settings_from_args(args), args.ray, args.workers, args.batch_size)
    model = cli_model.load_model(args)
    return partial(score_dataset, model, batch_size=args.batch_size)


def _dataset_of(args: argparse.Namespace) -> Dataset:
    if args.test_json or args.images_dir:
        if not (args.test_json and args.images_dir):
            raise InputError("--test-json and --images go together")
        dataset = read_dataset(Path(args.test_json), Path(args.images_dir), args.dataset)
    elif args.dataset:
        dataset = read_dataset(*dataset_files(args.dataset, Path(args.data_root)), args.dataset)
    else:
        raise InputError("name a dataset: --dataset NAME, or --test-json FILE --images DIR")
    if args.limit:
        dataset = Dataset(dataset.name, dataset.samples[: args.limit], dataset.images_dir)
    return dataset


def _score_with_bar(score, dataset, progress, records, todo: int) -> None:
    from tqdm import tqdm

    total = len(dataset.unique_images())
    # disable=None: a bar on a terminal, nothing in logs and pipes
    with tqdm(
        total=total,
        initial=total - todo,
        desc=dataset.name,
        unit="img",
        disable=None,
        file=sys.stderr,
    ) as bar:
        score(dataset, progress, records, on_record=lambda _: bar.update())


def _eval_text(report, paths: dict[str, Path]) -> str:
    counts = report.to_json()["counts"]
    number = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
    return "\n".join(
        [
            f"dataset  {report.dataset}",
            f"model    {report.model_name}",
            f"images   {counts['scored']} of {counts['entries']} entries scored "
            f"({counts['missing']} missing, {counts['unreadable']} unreadable"
            f"{_others(counts)})",
            f"SRCC     {number(report.metrics['srcc'])}",
            f"PLCC     {number(report.metrics['plcc'])}",
            f"KRCC     {number(report.metrics['krcc'])}",
            f"results  {paths['results']}",
            f"metrics  {paths['metrics']}",
            *_failure_lines(report.failures, paths["metrics"]),
        ]
    )


def _failure_lines(failures: list[dict], metrics: Path) -> list[str]:
    """The first few failed entries with their reasons, and where the others are."""
    if not failures:
        return []
    lines = [f"  {f['image']}: {f['error']} ({f['detail']})" for f in failures[:FAILURES_SHOWN]]
    rest = len(failures) - len(lines)
    more = f"; {rest} more" if rest else ""
    return [f"failed   {len(failures)} entries{more}, every reason in {metrics} "
            '("failures"):', *lines]


def _others(counts: dict) -> str:
    """The rarer failure kinds, only when there are any."""
    return "".join(f", {counts[k]} {k}" for k in ("outside", "failed") if counts[k])


def run_serve(args: argparse.Namespace) -> int:
    from artimuse.distributed.serve import main as serve

    host, port = listen_address(API_PORT)
    args.host, args.port = args.host or host, args.port or port
    if not (args.address or ray_address()):  # a local Ray listens here: check before it starts
        check_listen(args.host, args.port)
    return serve(args, settings_from_args(args))
