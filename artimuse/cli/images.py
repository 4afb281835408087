"""`artimuse score` (a table, a JSON list or JSON Lines of scores) and `artimuse assess` (scores and
comments, saved in the original tool's file format, with progress on a terminal)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from PIL import Image

from artimuse.cli import model as cli_model
from artimuse.errors import InputError
from artimuse.evaluation import write_json_atomic
from artimuse.images import FORMATS, ImageError
from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.results import Assessment, CommentDelta, CommentDone, Finished, ScoresReady
from artimuse.serialization import ScoreAnswer, assessment_json

IMAGE_RESULTS_DIR = Path("results/image_results")
RESULT_FILE = "<stem>_<model>_eval.json"  # the original tool's name for one image's result
log = logging.getLogger("artimuse.cli")


def image_arguments(args: argparse.Namespace, command: str) -> list[str]:
    """The images named: files as given, a folder as its images (sorted by name)."""
    named = args.images + ([args.image_path] if args.image_path else [])
    if not named:
        raise InputError(f"no image given: artimuse {command} IMG... (files or folders)")
    return [image for name in named for image in _expand(name)]


def _expand(name: str) -> list[str]:
    folder = Path(name)
    if not folder.is_dir():
        return [name]
    # Pillow's own extension table, narrowed to the formats we accept
    accepted = {f.pillow_id for f in FORMATS}
    suffixes = {s for s, fmt in Image.registered_extensions().items() if fmt in accepted}
    images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not images:
        raise InputError(
            f"{name} is a folder with no images in it ({', '.join(sorted(suffixes))})"
        )
    return [str(p) for p in images]


def print_json(rows: list[dict], lines: bool) -> None:
    """A JSON list (`--json`), or one object a line (`--jsonl`, JSON Lines)."""
    if lines:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False), flush=True)
    else:
        print(json.dumps(rows, indent=2, ensure_ascii=False))


def run_score(args: argparse.Namespace) -> int:
    images = image_arguments(args, "score")
    model = cli_model.load_model(args)
    results = []
    scored = model.score_many(images, args.batch_size, args.aspects)
    for image, result in zip(images, scored, strict=True):
        results.append(result)
        _print_warnings([image], [result])
        if args.jsonl:  # each line as its batch is done
            print_json([_score_row(image, result)], lines=True)
    if args.json:
        print_json([_score_row(i, r) for i, r in zip(images, results, strict=True)], lines=False)
    elif not args.jsonl:
        print(_score_table(images, results, args.aspects))
    return 1 if any(isinstance(r, ImageError) for r in results) else 0


def _print_warnings(images: list[str], results: list) -> None:
    for image, result in zip(images, results, strict=True):
        for warning in getattr(result, "warnings", ()):
            print(f"artimuse: {image}: {warning}", file=sys.stderr)


def _score_row(image: str, result) -> dict:
    if isinstance(result, ImageError):
        return {"image": image, "error": str(result)}
    return {"image": image, **ScoreAnswer.of(result).model_dump()}


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


def run_assess(args: argparse.Namespace) -> int:
    images = image_arguments(args, "assess")
    model = cli_model.load_model(args)
    rows = []
    for image in images:
        row, text = _assess_one(model, image, Path(args.out))
        rows.append(row)
        if args.jsonl:
            print_json([row], lines=True)
        elif not args.json and text:
            print(text, flush=True)
    if args.json:
        print_json(rows, lines=False)
    return 1 if any("error" in row for row in rows) else 0


def _assess_one(model, image: str, out: Path) -> tuple[dict, str]:
    """Assess one image and save its result file: its JSON row and its Markdown, or
    ({"image", "error"}, "") after saying why on stderr."""
    try:
        assessment = _assess_with_progress(model, image)
    except ImageError as error:
        print(f"artimuse assess: {error}", file=sys.stderr)
        return {"image": image, "error": str(error)}, ""
    except Exception as error:  # a bug costs this image, not the others
        log.exception("assessing %s failed", image)
        message = f"{image} failed: {type(error).__name__}: {error}"
        print(f"artimuse assess: {message}", file=sys.stderr)
        return {"image": image, "error": message}, ""
    _print_warnings([image], [assessment.scores])
    path = out / f"{Path(image).stem}_{model.name}_eval.json"
    write_json_atomic(path, assessment.to_seed_json())
    print(f"saved {path}", file=sys.stderr)
    row = {"image": image, "result_file": str(path), **assessment_json(assessment)}
    return row, assessment.to_markdown(title=str(image))


def _assess_with_progress(model, image: str) -> Assessment:
    """`model.assess(image)` with a progress line on a terminal's stderr: the scores, then
    "comments 3 of 8 done" (nothing in logs and pipes: tqdm's disable=None)."""
    from tqdm import tqdm

    with tqdm(total=len(ASPECTS), desc=f"{image}: ", bar_format="{desc}scores [{elapsed}]",
              disable=None, file=sys.stderr, leave=False, mininterval=0.5) as bar:
        for event in model.stream(image):
            if isinstance(event, ScoresReady):
                bar.bar_format = (f"{{desc}}score {event.scores.total:.1f}; "
                                  "comments {n} of {total} done [{elapsed}]")
                bar.refresh()
            elif isinstance(event, CommentDone):
                bar.update()
                bar.refresh()  # each finished comment shows, whatever the interval
            elif isinstance(event, CommentDelta):
                bar.update(0)  # the clock ticks while comments are written (twice a second)
            elif isinstance(event, Finished):
                return event.assessment
    raise RuntimeError("the stream ended without a result")  # not reachable
