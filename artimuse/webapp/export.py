"""The files the web app hands out (behaviour §9 formats plus aspect scores): an assessment as
JSON and Markdown, a batch as CSV and JSON. Written once, when a run ends, from what the server
computed (never from what a client sends), into the session's folder under one root per server
process; a session's folder goes when its page closes, the root when the server stops, roots of
servers that died at start."""

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
from artimuse.results import Assessment
from artimuse.serialization import assessment_json
from artimuse.webapp.i18n import EN, Message, aspect_name, band_name, text

ROOT_PREFIX = "artimuse-web-"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas


class ExportFolders:
    """One folder per session under this process's root (`artimuse-web-<pid>-*`)."""

    def __init__(self, parent: Path | None = None):
        parent = Path(parent or tempfile.gettempdir())
        for root in parent.glob(f"{ROOT_PREFIX}*"):  # of server processes that no longer run
            pid = root.name.removeprefix(ROOT_PREFIX).split("-")[0]
            if pid.isdigit() and not _running(int(pid)):
                shutil.rmtree(root, ignore_errors=True)
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


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as error:  # PermissionError: another user's process, running
        return not isinstance(error, ProcessLookupError)
    return True


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80] or "file"


def write_result(assessment: Assessment, image: str, folder: Path, lang: str = EN) -> tuple:
    """-> (JSON path, Markdown path) of one assessment, named `{image_stem}_{model}_eval` as
    the original tool names them (behaviour §9): the seed format (English keys) and a page with
    headings in `lang` (the comments are the model's own words)."""
    stem = _safe(f"{Path(image or 'image').stem}_{assessment.checkpoint or 'ArtiMuse'}_eval")
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
        lines += [f"| {aspect_name(a, lang)} | {s.aspects[a]:.1f} |" for a in RADAR_ASPECTS
                  if a in s.aspects] + [""]  # fmt: skip
    for aspect in (a for a in ASPECTS if a in assessment.comments):
        body = assessment.comments[aspect] or f"_{text('comment.none', lang)}_"
        lines += [f"## {aspect_name(aspect, lang)}", "", body, ""]
    if assessment.checkpoint:
        lines.append(f"_{text('md.checkpoint', lang, name=assessment.checkpoint)}_")
    return "\n".join(lines).rstrip() + "\n"


def write_batch(rows: Sequence[dict], errors: Sequence[tuple[str, Message]], folder: Path,
                lang: str = EN) -> tuple[str, str]:  # fmt: skip
    """-> (CSV path, JSON path): the dataset entries (`image`, `score`) ranked by total, plus
    spread, aspects and comments; unread files last with their `error` (in `lang`). A text cell
    that a spreadsheet would run as a formula gets a leading `'`."""
    records = []
    for rank, row in enumerate(sorted(rows, key=lambda r: -r["scores"].total), 1):
        s, comments = row["scores"], {"comments": row["comments"]} if "comments" in row else {}
        aspects = {a: s.aspects.get(a) for a in RADAR_ASPECTS}
        records.append({"rank": rank, "image": row["name"], "score": s.total,
                        "score_std": s.spread, **aspects, **comments})  # fmt: skip
    records += [{"rank": None, "image": name, "score": None, "error": message.render(lang)}
                for name, message in errors]  # fmt: skip
    json_path, csv_path = folder / "artimuse_batch.json", folder / "artimuse_batch.csv"
    json_path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    columns = ["rank", "image", "score", "score_std", *RADAR_ASPECTS]
    if any("comments" in r for r in records):
        columns += ASPECTS
    columns.append("error")
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        for record in records:
            row = {**record, **record.get("comments", {})}
            writer.writerow({k: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START)
                             else v for k, v in row.items()})  # fmt: skip
    return str(csv_path), str(json_path)
