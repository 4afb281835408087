"""`artimuse score` (a table or JSON of scores) and `artimuse assess` (scores and comments,
saved in the original tool's file format)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from artimuse.cli import model as cli_model
from artimuse.errors import InputError
from artimuse.evaluation import write_json_atomic
from artimuse.images import ImageError
from artimuse.prompts import RADAR_ASPECTS
from artimuse.serialization import ScoreAnswer, assessment_json

IMAGE_RESULTS_DIR = Path("results/image_results")
log = logging.getLogger("artimuse.cli")


def run_score(args: argparse.Namespace) -> int:
    images = args.images + ([args.image_path] if args.image_path else [])
    if not images:
        raise InputError("no image given: artimuse score IMG...")
    model = cli_model.load_model(args)
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
    images = args.images + ([args.image_path] if args.image_path else [])
    if not images:
        raise InputError("no image given: artimuse assess IMG (or --image_path IMG)")
    model = cli_model.load_model(args)
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
