"""What a newcomer meets first: the set-up scripts, the package metadata, the README's facts and
the usage lines of the project's commands."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FAKE_TOOL = '#!/bin/sh\necho "$(basename "$0") $*" >> "$(dirname "$0")/../../calls.log"\n'


@pytest.fixture()
def clone(tmp_path) -> Path:
    """The files the scripts read, with a venv whose python and pip only note their calls."""
    for name in ("pyproject.toml", "requirements_gradio.txt", "scripts/setup.sh",
                 "scripts/webapp.sh"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".venv/bin").mkdir(parents=True)
    for tool in ("python", "pip"):
        (tmp_path / ".venv/bin" / tool).write_text(FAKE_TOOL)
        (tmp_path / ".venv/bin" / tool).chmod(0o755)
    return tmp_path


def _start_web_app(clone: Path) -> list[str]:
    log = clone / "calls.log"
    log.unlink(missing_ok=True)
    subprocess.run(["bash", "scripts/webapp.sh", "--port", "7861"], cwd=clone, check=True,
                   timeout=60)
    return log.read_text().splitlines()


def test_webapp_sh_installs_only_when_the_project_changed(clone):
    first = _start_web_app(clone)
    assert [c.split()[:2] for c in first[:-1]] == [["pip", "install"]] * 3
    assert first[-1] == "python demo_gradio.py --port 7861"
    assert _start_web_app(clone) == ["python demo_gradio.py --port 7861"]  # no pip: offline too
    with (clone / "pyproject.toml").open("a") as changed:
        changed.write("\n# a new dependency\n")
    assert len(_start_web_app(clone)) == 4


def test_the_license_is_an_spdx_expression():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"  # PEP 639: a string, not a table
    setuptools = next(r for r in project["build-system"]["requires"] if "setuptools" in r)
    assert setuptools == "setuptools>=77"  # the first to read a license string without warning


def test_the_readme_says_how_to_get_torchs_cpu_build():
    pinned = re.search(r'TORCH_PIN="torch==([\d.]+)"', (ROOT / "scripts/setup.sh").read_text())[1]
    official = f"pip install torch=={pinned} --index-url https://download.pytorch.org/whl/cpu"
    assert official in README
    assert f"torch {pinned} (the\nversion the scripts pin)" in README


def test_the_readme_names_the_1b_preset_for_what_it_is():
    from artimuse.testing.checkpoints import PRESETS

    text = " ".join(README.split())
    assert "`--preset 1b` the InternVL3-1B shape" in text and "no 1B ArtiMuse is released" in text
    assert PRESETS["1b"].llm_hidden == 896  # Qwen2.5-0.5B's width, as the README says
    assert "takes a second" not in text


def test_the_generators_usage_line_is_its_command(capsys):
    from artimuse.testing import checkpoints

    with pytest.raises(SystemExit):
        checkpoints.main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m artimuse.testing.checkpoints ")
    assert "InternVL3-1B" in out


def test_meta_documents_dimensions_and_aspects():
    pytest.importorskip("fastapi")
    from artimuse.rest.app import create_app
    from artimuse.serialization import ASPECT_FIELDS

    operation = create_app().openapi()["paths"]["/meta"]["get"]
    assert "`dimensions`: the 7 scored aspects" in " ".join(operation["description"].split())
    assert "`aspects`: the 8 commented aspects" in " ".join(operation["description"].split())
    text = " ".join(README.split())
    assert all(f"`{name}`: {meaning}" in text for name, meaning in ASPECT_FIELDS.items())


def test_the_readme_documents_the_cli_output():
    text = " ".join(README.split())
    for fact in ("results/image_results/<stem>_<model>_eval.json", "`--jsonl`",
                 "a folder stands for its images, sorted by name", '"comments 3 of 8 done"',
                 "`artimuse --version`"):
        assert fact in text, fact


def test_the_demo_script_is_runnable_as_documented():
    done = subprocess.run([sys.executable, "demo_api.py", "--help"], cwd=ROOT, timeout=120,
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("usage: demo_api.py ")
