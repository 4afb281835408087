"""The README says what the code does: its tables are generated from the code's own tables, the
counting matches the prompts, and its "try it without the weights" commands work."""

from __future__ import annotations

import re
from pathlib import Path

from artimuse.config import variables_table
from artimuse.loading.hub import checkpoints_table
from artimuse.prompts import ASPECTS, COMPREHENSIVE, RADAR_ASPECTS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_first_lines_are_the_two_commands():
    lines = README.splitlines()
    assert lines[3].startswith("bash scripts/webapp.sh ") and lines[4].startswith(
        "bash scripts/test.sh "
    )


def test_the_tables_are_the_codes():
    assert variables_table() in README  # every variable, each default as config.py has it
    assert checkpoints_table() in README


def test_the_counting_matches_the_prompts():
    assert len(RADAR_ASPECTS) == 7 and len(ASPECTS) == 8 and ASPECTS[-1] == COMPREHENSIVE
    assert all(aspect in README for aspect in RADAR_ASPECTS)
    assert "**7 aspects**" in README and "**8 scores**" in README and "**8 comments**" in README
    assert f"the eighth being the **{COMPREHENSIVE}**" in README


def test_try_it_without_the_weights(tmp_path, monkeypatch):
    import artimuse
    from artimuse.testing import checkpoints

    command = re.search(r"python -m artimuse\.testing\.checkpoints (\S+) --preset (\S+)", README)
    monkeypatch.chdir(tmp_path)
    checkpoints.main([command[1], "--preset", command[2]])
    model = artimuse.load(command[1], device="cpu", dtype="float32", max_new_tokens=4)
    picture = ROOT / re.search(r"score --ckpt \S+ (\S+\.jpg)", README)[1]
    assert 0 <= model.score(picture).total <= 100
