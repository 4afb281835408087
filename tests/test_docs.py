"""The behaviour document: every section the code cites exists, its exact strings are the code's,
and no file of the repository points at material that users' clones do not have."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from artimuse import prompts
from tests.helpers import full_prompt

ROOT = Path(__file__).resolve().parents[1]
BEHAVIOUR = ROOT / "docs" / "behaviour.md"
CITING_DIRS = ("artimuse", "tests", "benchmarks")
CITING_SUFFIXES = (".py", ".md", ".sh")
HEADING = re.compile(r"^## (\d+)\. \S", re.MULTILINE)
# `§3`, `§1, 2, 7`, `§4-7`: a section sign followed by numbers, lists and ranges of numbers
CITATION = re.compile(r"§(\d+(?:\s*[-,]\s*\d+)*)")
# Spelled in pieces so that this file does not match itself.
FORBIDDEN = ("../" + "shared", "shared/" + "SPEC", "/work/" + "shared")
EXPECTED_DATA = {
    "ASPECTS",
    "CHAT_TEMPLATE",
    "DEFAULT_SYSTEM_MESSAGE",
    "TOTAL_SCORE_QUESTION",
    "ASPECT_SCORE_QUESTION",
    "COMMENT_QUESTION",
}


def cited_sections(text: str) -> set[int]:
    """Every section number a text cites, ranges expanded."""
    numbers = set()
    for match in CITATION.finditer(text):
        for part in match.group(1).split(","):
            low, _, high = part.partition("-")
            numbers.update(range(int(low), int(high or low) + 1))
    return numbers


def document_sections() -> list[int]:
    return [int(n) for n in HEADING.findall(BEHAVIOUR.read_text(encoding="utf-8"))]


def citing_files() -> list[Path]:
    files = []
    for folder in CITING_DIRS:
        files += [
            path
            for path in sorted((ROOT / folder).rglob("*"))
            if path.suffix in CITING_SUFFIXES and "data" not in path.relative_to(ROOT).parts
        ]
    return files


def document_data() -> dict[str, object]:
    """`NAME = literal` assignments of the document's Python blocks."""
    text = BEHAVIOUR.read_text(encoding="utf-8")
    data = {}
    for block in re.findall(r"^```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
        for statement in ast.parse(block).body:
            assert isinstance(statement, ast.Assign), ast.dump(statement)
            data[statement.targets[0].id] = ast.literal_eval(statement.value)
    return data


def test_the_citation_pattern_reads_lists_and_ranges():
    assert cited_sections("behaviour §1, 2 and (behaviour §4-6), then (§9)") == {1, 2, 4, 5, 6, 9}
    assert cited_sections("no sections here, 12") == set()


def test_sections_are_numbered_one_to_eleven_in_order():
    assert document_sections() == list(range(1, 12))


def test_every_cited_section_exists():
    sections = set(document_sections())
    cited = {path: cited_sections(path.read_text(encoding="utf-8")) for path in citing_files()}
    cited = {path: numbers for path, numbers in cited.items() if numbers}
    assert len(cited) >= 10  # the code does cite the document: the scan found the comments
    missing = {
        str(path.relative_to(ROOT)): sorted(numbers - sections)
        for path, numbers in cited.items()
        if numbers - sections
    }
    assert not missing


def test_the_documented_strings_are_the_codes():
    data = document_data()
    assert set(data) == EXPECTED_DATA
    assert data["ASPECTS"] == prompts.ASPECTS
    assert data["DEFAULT_SYSTEM_MESSAGE"] == prompts.DEFAULT_SYSTEM_MESSAGE
    assert data["TOTAL_SCORE_QUESTION"] == prompts.TOTAL_SCORE_QUESTION
    for aspect in prompts.RADAR_ASPECTS:
        question = data["ASPECT_SCORE_QUESTION"].replace("{aspect}", aspect)
        assert question == prompts.aspect_score_question(aspect)
    for aspect in prompts.ASPECTS:
        question = data["COMMENT_QUESTION"].replace("{aspect}", aspect)
        assert question == prompts.comment_question(aspect)


def test_the_documented_template_is_the_codes():
    template = document_data()["CHAT_TEMPLATE"]
    questions = prompts.TOTAL_SCORE_QUESTION, prompts.comment_question(prompts.ASPECTS[0])
    image = prompts.IMG_START + prompts.IMG_CONTEXT * 3 + prompts.IMG_END
    for system, question in zip(("None", prompts.DEFAULT_SYSTEM_MESSAGE), questions):
        text = template.replace("{system}", system).replace("{question}", question)
        assert text.replace("<image>", image) == full_prompt(system, 3, question)


def tracked_files() -> list[Path]:
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no list of the repository's files")
    return [ROOT / name for name in listing.decode().split("\0") if name]


def test_no_file_points_outside_the_repository():
    files = [path for path in tracked_files() if path.is_file()]
    assert ROOT / "README.md" in files  # the listing is the repository's
    offending = {}
    for path in files:
        content = path.read_bytes()
        needles = [needle for needle in FORBIDDEN if needle.encode() in content]
        if needles:
            offending[str(path.relative_to(ROOT))] = needles
    assert not offending
