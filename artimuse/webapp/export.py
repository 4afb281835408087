"""Files the web app hands out: one assessment as JSON (behaviour §9 single-image format plus aspect
scores and the distribution) or Markdown, and a batch as CSV and JSON (behaviour §9 dataset format
plus aspect scores). Every file goes into its own fresh folder, so two users never share one.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from artimuse.errors import InputError
from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.results import Scores
from artimuse.serialization import assessment_from_json, assessment_json


def result_stem(result: dict) -> str:
    """`{image_stem}_{model_name}_eval`: the original tool's file name (behaviour §9)."""
    image = Path(result.get("image") or "image").stem
    checkpoint = result["assessment"].get("Checkpoint") or "ArtiMuse"
    return f"{image}_{checkpoint}_eval"


def write_result(result: dict | None, root: Path, kind: str) -> Path:
    """Write the current assessment as `kind` ("json" or "md"); ValueError when there is none."""
    if not result or "assessment" not in result:
        raise InputError("There is no assessment to export yet: assess a picture first.")
    assessment = assessment_from_json(result["assessment"])
    path = _fresh_dir(root) / f"{result_stem(result)}.{kind}"
    if kind == "json":
        text = json.dumps(assessment_json(assessment), indent=2, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
    else:
        title = f"ArtiMuse assessment of {result.get('image') or 'an image'}"
        path.write_text(assessment.to_markdown(title), encoding="utf-8")
    return path


def batch_records(rows: Sequence[dict], errors: Sequence[tuple[str, str]]) -> list[dict]:
    """Ranked by total: behaviour §9 dataset entries (`image`, `score`) plus spread and aspects,
    comments when written; files that could not be read last, with their `error`."""
    ranked = sorted(rows, key=lambda r: -r["scores"].total)
    records = []
    for rank, row in enumerate(ranked, 1):
        scores: Scores = row["scores"]
        record = {
            "rank": rank,
            "image": row["name"],
            "score": scores.total,
            "score_std": scores.spread,
            **{a: scores.aspects.get(a) for a in RADAR_ASPECTS},
        }
        if "comments" in row:
            record["comments"] = row["comments"]
        records.append(record)
    records += [
        {"rank": None, "image": name, "score": None, "error": message} for name, message in errors
    ]
    return records


def write_batch(
    rows: Sequence[dict], errors: Sequence[tuple[str, str]], root: Path
) -> tuple[str, str]:
    """-> (CSV path, JSON path) of the batch so far."""
    records = batch_records(rows, errors)
    folder = _fresh_dir(root)
    json_path = folder / "artimuse_batch.json"
    json_path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    csv_path = folder / "artimuse_batch.csv"
    columns = ["rank", "image", "score", "score_std", *RADAR_ASPECTS]
    if any("comments" in r for r in records):
        columns += list(ASPECTS)
    columns.append("error")
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        for record in records:
            writer.writerow({**record, **record.get("comments", {})})
    return str(csv_path), str(json_path)


def _fresh_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root))
