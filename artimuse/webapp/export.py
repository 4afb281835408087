"""Files the web app hands out: one assessment as JSON (behaviour §9 single-image format plus
aspect scores and the distribution) and Markdown, and a batch as CSV and JSON (behaviour §9
dataset format plus aspect scores).

They are written once, when a run ends, from what the server computed (never from anything
the client sends), into the session's own folder under one root per server process. The
root goes when the server stops, a session's folder when its page closes (`demo.unload`),
and roots left by servers that died are removed at start.
"""

from __future__ import annotations

import atexit
import csv
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.results import Assessment, Scores
from artimuse.serialization import assessment_json
from artimuse.webapp.i18n import EN, Message, aspect_name, band_name, text

ROOT_PREFIX = "artimuse-web-"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas


class ExportFolders:
    """One folder per session under this process's root (`artimuse-web-<pid>-*`)."""

    def __init__(self, parent: Path | None = None):
        parent = Path(parent or tempfile.gettempdir())
        remove_stale_roots(parent)
        self.root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-", dir=parent))
        atexit.register(self.close)

    def fresh(self, session: str | None, tab: str) -> Path:
        """An empty folder of `session` for `tab`: its earlier exports there are replaced, so
        a session keeps at most one set per tab."""
        folder = self.root / _safe(session or "local") / tab
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def remove(self, session: str | None) -> None:
        shutil.rmtree(self.root / _safe(session or "local"), ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def remove_stale_roots(parent: Path) -> None:
    """Remove the export roots of server processes that no longer run."""
    for root in parent.glob(f"{ROOT_PREFIX}*"):
        pid = root.name.removeprefix(ROOT_PREFIX).split("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(root, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80] or "file"


def result_stem(image: str, assessment: Assessment) -> str:
    """`{image_stem}_{model_name}_eval`: the original tool's file name (behaviour §9)."""
    return _safe(f"{Path(image or 'image').stem}_{assessment.checkpoint or 'ArtiMuse'}_eval")


def write_result(assessment: Assessment, image: str, folder: Path, lang: str = EN) -> tuple:
    """-> (JSON path, Markdown path) of one assessment: the seed format (English keys) and a
    page with headings in `lang` (the comments are the model's own words)."""
    stem = result_stem(image, assessment)
    json_path, md_path = folder / f"{stem}.json", folder / f"{stem}.md"
    body = json.dumps(assessment_json(assessment), indent=2, ensure_ascii=False) + "\n"
    json_path.write_text(body, encoding="utf-8")
    md_path.write_text(markdown(assessment, image or "image", lang), encoding="utf-8")
    return str(json_path), str(md_path)


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
    rows: Sequence[dict], errors: Sequence[tuple[str, Message]], folder: Path, lang: str = EN
) -> tuple[str, str]:
    """-> (CSV path, JSON path) of the batch (error texts in `lang`)."""
    records = batch_records(rows, errors, lang)
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
            row = {**record, **record.get("comments", {})}
            writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})
    return str(csv_path), str(json_path)


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
