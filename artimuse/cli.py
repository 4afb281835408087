"""The `artimuse` command: score, assess, eval, and the `api` / `ui` servers.

    artimuse score IMG... [--json] [--aspects]
    artimuse assess IMG [--out results/image_results]
    artimuse eval --dataset AVA  |  --test-json FILE --images DIR   [--batch-size 8]
    artimuse eval ... --ray [ADDRESS] [--workers N]      (Ray Data; pip install "artimuse[ray]")
    artimuse serve [--replicas N] [--address A] [--host H --port P]          (Ray Serve)
    artimuse api [--host H --port P]      artimuse ui [...]
    artimuse download [NAME_OR_REPO] [--dir DIR]     (default: ArtiMuse into checkpoints/ArtiMuse)

The original scripts' flags work too: `--model_name` (a folder under checkpoints/),
`--image_path`, `--dataset`, `--device`. Only this module prints; errors end with status 2,
failed images with 1, Ctrl-C with 130.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from functools import partial
from pathlib import Path

from artimuse.config import (
    API_PORT,
    DEFAULT_BATCH_SIZE,
    listen_address,
    model_options,
    settings_from_args,
)
from artimuse.errors import ArtiMuseError, InputError
from artimuse.evaluation import (
    DATASETS_DIR,
    RESULTS_DIR,
    Dataset,
    ProgressLog,
    dataset_files,
    pending,
    read_dataset,
    result_paths,
    score_dataset,
    write_json_atomic,
    write_outputs,
)
from artimuse.images import ImageError
from artimuse.prompts import RADAR_ASPECTS
from artimuse.serialization import assessment_json, score_payload

IMAGE_RESULTS_DIR = Path("results/image_results")
DELEGATED = ("api", "ui")  # their own argument parsers take the rest of the line
log = logging.getLogger("artimuse.cli")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DELEGATED:
        return _delegate(argv[0], argv[1:])
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except ArtiMuseError as error:
        print(f"artimuse {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"artimuse {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `artimuse score ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _delegate(command: str, rest: list[str]) -> int:
    if command == "api":
        from artimuse.rest.app import main as serve
    else:
        try:
            from artimuse.webapp.app import main as serve
        except ImportError as error:
            print(
                f"artimuse ui: the web app is not available ({error}); "
                "install it with: pip install 'artimuse[gradio]'",
                file=sys.stderr,
            )
            return 2
    return serve(rest) or 0


# --- the model ------------------------------------------------------------------------------


def model_name_of(args: argparse.Namespace) -> str:
    """What results files are named by, known before loading: `--model_name` exactly as given
    (as the original does, symlink or not), else the checkpoint folder's own name."""
    if args.model_name and not args.ckpt:
        return args.model_name
    return Path(settings_from_args(args).ckpt).expanduser().absolute().name


def load_model(args: argparse.Namespace):
    from artimuse.api import load

    settings = settings_from_args(args)
    ckpt = _downloaded(settings.ckpt)
    return load(ckpt, **settings.load_options())


def _downloaded(ckpt: str) -> str:
    """A hub id as --ckpt / ARTIMUSE_CKPT: downloaded on first use as `artimuse download` does
    (with its progress bar) into checkpoints/<name>; anything else as given."""
    from artimuse.loading.hub import HubDownload, default_target, hub_repo
    from artimuse.loading.hub_checks import loads

    repo = hub_repo(ckpt)
    if repo is None or loads(default_target(repo)):
        return str(default_target(repo)) if repo else ckpt
    print(f"downloading {repo} into {default_target(repo)} (first use)", file=sys.stderr)
    job = HubDownload(repo)
    job.observers.append(_download_bar(job))
    return str(job.run())


# --- score ----------------------------------------------------------------------------------


def run_score(args: argparse.Namespace) -> int:
    images = args.images + ([args.image_path] if args.image_path else [])
    if not images:
        raise InputError("no image given: artimuse score IMG...")
    model = load_model(args)
    results = list(model.score_many(images, args.batch_size, aspects=args.aspects))
    _print_warnings(images, results)
    if args.json:
        rows = [_score_row(image, result) for image, result in zip(images, results, strict=True)]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(_score_table(images, results, args.aspects))
    return 1 if any(isinstance(r, ImageError) for r in results) else 0


def _print_warnings(images: list[str], results: list) -> None:
    for image, result in zip(images, results, strict=True):
        for warning in getattr(result, "warnings", ()):
            print(f"artimuse: {image}: {warning}", file=sys.stderr)


def _score_row(image: str, result) -> dict:
    if isinstance(result, ImageError):
        return {"image": image, "error": str(result)}
    return {"image": image, **score_payload(result)}


def _score_table(images: list[str], results: list, aspects: bool) -> str:
    width = max(len("image"), *(len(i) for i in images))
    short = [a.split()[0] for a in RADAR_ASPECTS] if aspects else []
    head = [f"{'image':<{width}}", "score", " ±std", f"{'band':<11}", *short]
    lines = ["  ".join(head)]
    for image, result in zip(images, results, strict=True):
        if isinstance(result, ImageError):
            lines.append(f"{image:<{width}}  error: {result}")
            continue
        cells = [
            f"{image:<{width}}",
            f"{result.total:5.1f}",
            f"{result.spread:5.1f}",
            f"{result.band:<11}",
        ]
        cells += [
            f"{result.aspects[a]:>{len(s)}.1f}" for a, s in zip(RADAR_ASPECTS, short, strict=False)
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


# --- assess ---------------------------------------------------------------------------------


def run_assess(args: argparse.Namespace) -> int:
    images = args.images + ([args.image_path] if args.image_path else [])
    if not images:
        raise InputError("no image given: artimuse assess IMG (or --image_path IMG)")
    model = load_model(args)
    failed = 0
    for image in images:
        try:
            assessment = model.assess(image)
        except ImageError as error:
            print(f"artimuse assess: {error}", file=sys.stderr)
            failed += 1
            continue
        except Exception as error:  # a bug costs this image, not the others
            log.exception("assessing %s failed", image)
            print(f"artimuse assess: {image} failed: {type(error).__name__}: {error}",
                  file=sys.stderr)
            failed += 1
            continue
        _print_warnings([image], [assessment.scores])
        path = Path(args.out) / f"{Path(image).stem}_{model.name}_eval.json"
        write_json_atomic(path, assessment.to_seed_json())
        print(
            json.dumps(assessment_json(assessment), indent=2, ensure_ascii=False)
            if args.json
            else assessment.to_markdown(title=str(image))
        )
        print(f"saved {path}", file=sys.stderr)
    return 1 if failed else 0


# --- eval -----------------------------------------------------------------------------------


def run_eval(args: argparse.Namespace) -> int:
    dataset = _dataset_of(args)
    model_name = model_name_of(args)
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
    model = load_model(args)
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
        ]
    )


def _others(counts: dict) -> str:
    """The rarer failure kinds, only when there are any."""
    return "".join(f", {counts[k]} {k}" for k in ("outside", "failed") if counts[k])


# --- download -------------------------------------------------------------------------------


def run_download(args: argparse.Namespace) -> int:
    from artimuse.loading.hub import HubDownload, human_bytes, repo_to_download

    repo = repo_to_download(args.name)
    job = HubDownload(repo, args.dir, endpoint=args.endpoint)
    job.observers.append(_download_bar(job))
    try:
        folder = job.run()
    except KeyboardInterrupt:
        job.cancel()
        print(f"\ninterrupted: finished files are kept in {job.target}; run the same command "
              "to go on", file=sys.stderr)
        return 130
    size = human_bytes(job.progress.total_bytes)
    print(f"{repo} ({size}) is in {folder} and loads. Use it with:")
    print(f"  artimuse ui --ckpt {folder}      # the web app (python demo_gradio.py --ckpt ...)")
    print(f"  artimuse score --ckpt {folder} photo.jpg")
    print(f"  ARTIMUSE_CKPT={folder} python demo_api.py")
    return 0


def _download_bar(job):
    """A tqdm bar (bytes, speed, ETA) on a terminal, nothing in logs and pipes."""
    from tqdm import tqdm

    bar = tqdm(desc=job.repo.split("/")[-1], unit="B", unit_scale=True, unit_divisor=1000,
               disable=None, file=sys.stderr, total=0)

    def observe(progress) -> None:
        if bar.total != progress.total_bytes:
            bar.total = progress.total_bytes
        bar.update(progress.done_bytes - bar.n)
        if not progress.active:
            bar.close()

    return observe


# --- arguments ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="artimuse", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    model = model_options()

    score = commands.add_parser("score", parents=[model], help="scores of images, as a table")
    _image_arguments(score)
    score.add_argument("--json", action="store_true", help="JSON instead of a table")
    score.add_argument("--aspects", action="store_true", help="also the 7 aspect scores")
    score.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE)
    score.set_defaults(run=run_score)

    assess = commands.add_parser("assess", parents=[model], help="scores and expert comments")
    _image_arguments(assess)
    assess.add_argument("--out", default=str(IMAGE_RESULTS_DIR), help="folder of the JSON file")
    assess.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    assess.set_defaults(run=run_assess)

    evaluate = commands.add_parser("eval", parents=[model], help="SRCC/PLCC/KRCC on a dataset")
    evaluate.add_argument("--dataset", help="test_datasets/NAME (or the name of --test-json)")
    evaluate.add_argument("--test-json", "--test_json", help="a test.json outside test_datasets")
    evaluate.add_argument("--images", dest="images_dir", help="the images of --test-json")
    evaluate.add_argument("--data-root", default=str(DATASETS_DIR))
    evaluate.add_argument("--out-dir", default=str(RESULTS_DIR))
    evaluate.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE)
    evaluate.add_argument("--limit", type=_positive, help="only the first N entries")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    _ray_arguments(evaluate)
    evaluate.set_defaults(run=run_eval)

    serve = commands.add_parser("serve", parents=[model], help="the REST service on Ray Serve")
    _serve_arguments(serve)
    serve.set_defaults(run=run_serve)

    download = commands.add_parser("download", help="get a checkpoint from the model hub")
    download.add_argument("name", nargs="?", default="ArtiMuse", metavar="NAME_OR_REPO",
                          help="ArtiMuse (default), ArtiMuse_AVA, ArtiMuse_FLICKR-AES, "
                          "ArtiMuse_PARA, ArtiMuse_TAD66K, or a hub repo id org/name")
    download.add_argument("--dir", help="where to put it (default: checkpoints/<name>)")
    download.add_argument("--endpoint", help="the hub's address, e.g. a mirror (default: "
                          "HF_ENDPOINT, else https://huggingface.co)")
    download.set_defaults(run=run_download)

    commands.add_parser("api", help="the REST service (artimuse api --help)", add_help=False)
    commands.add_parser("ui", help="the web app (artimuse ui --help)", add_help=False)
    return parser


def _ray_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Ray (pip install 'artimuse[ray]')")
    group.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="score on Ray: the cluster at ADDRESS, else RAY_ADDRESS, else a local Ray",
    )
    group.add_argument(
        "--workers", type=_positive, help="with --ray: model actors (default: 1 per GPU, else 1)"
    )


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    host, port = listen_address(API_PORT)
    parser.add_argument("--replicas", type=_positive, default=1, help="each with its own model")
    parser.add_argument("--address", help="a Ray cluster (default RAY_ADDRESS, else a local Ray)")
    parser.add_argument("--host", default=host)
    parser.add_argument("--port", type=int, default=port)


def run_serve(args: argparse.Namespace) -> int:
    from artimuse.distributed.serve import main as serve

    return serve(args, settings_from_args(args))


def _image_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", metavar="IMG")
    parser.add_argument("--image_path", "--image-path", help="one image (the original's flag)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
