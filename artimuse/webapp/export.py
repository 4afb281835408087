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

from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.results import Assessment, Scores
from artimuse.serialization import assessment_from_json, assessment_json
from artimuse.webapp.i18n import EN, aspect_name, band_name, text
from artimuse.webapp.messages import Message


def result_stem(result: dict) -> str:
    """`{image_stem}_{model_name}_eval`: the original tool's file name (behaviour §9)."""
    image = Path(result.get("image") or "image").stem
    checkpoint = result["assessment"].get("Checkpoint") or "ArtiMuse"
    return f"{image}_{checkpoint}_eval"


def has_assessment(result: dict | None) -> bool:
    return bool(result) and "assessment" in result


def write_result(result: dict, root: Path, kind: str, lang: str = EN) -> Path:
    """Write the current assessment as `kind`: "json" (the seed format, English keys) or "md"
    (headings in `lang`; the comments are the model's own words)."""
    assessment = assessment_from_json(result["assessment"])
    path = _fresh_dir(root) / f"{result_stem(result)}.{kind}"
    if kind == "json":
        body = json.dumps(assessment_json(assessment), indent=2, ensure_ascii=False) + "\n"
    else:
        body = markdown(assessment, result.get("image") or "image", lang)
    path.write_text(body, encoding="utf-8")
    return path


def markdown(assessment: Assessment, image: str, lang: str = EN) -> str:
    """The assessment as a Markdown page: score, aspect table, then every comment."""
    s = assessment.scores
    score = text("md.score", lang, total=f"{s.total:.1f}")
    lines = [f"# {text('md.title', lang, image=image)}", ""]
    lines += [f"**{score}** ({band_name(s.band, lang)}, ± {s.spread:.1f})", ""]
    if s.aspects:
        lines += [f"| {text('md.aspect', lang)} | {text('md.value', lang)} |", "|---|---|"]
        lines += [
            f"| {aspect_name(a, lang)} | {s.aspects[a]:.1f} |"
            for a in RADAR_ASPECTS
            if a in s.aspects
        ]
        lines.append("")
    for aspect in ASPECTS:
        if aspect in assessment.comments:
            body = assessment.comments[aspect] or f"_{text('comment.none', lang)}_"
            lines += [f"## {aspect_name(aspect, lang)}", "", body, ""]
    if assessment.checkpoint:
        lines.append(f"_{text('md.checkpoint', lang, name=assessment.checkpoint)}_")
    return "\n".join(lines).rstrip() + "\n"


def batch_records(
    rows: Sequence[dict], errors: Sequence[tuple[str, Message]], lang: str = EN
) -> list[dict]:
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
        {"rank": None, "image": name, "score": None, "error": message.render(lang)}
        for name, message in errors
    ]
    return records


def write_batch(
    rows: Sequence[dict], errors: Sequence[tuple[str, Message]], root: Path, lang: str = EN
) -> tuple[str, str]:
    """-> (CSV path, JSON path) of the batch so far (error texts in `lang`)."""
    records = batch_records(rows, errors, lang)
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
