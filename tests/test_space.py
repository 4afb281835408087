"""The Hugging Face Space folder: its front matter and requirements, the folder `build.sh`
assembles, and the Space's app started (with `spaces` installed, ZeroGPU not active: the no-op
path), downloading its checkpoint at start-up from the hub stand-in, then assessing."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomllib

from tests.helpers import CONFORMANCE_IMAGES

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "deploy" / "huggingface-space"
WAIT_S = 120


def front_matter() -> dict:
    yaml = pytest.importorskip("yaml")
    text = (SPACE / "README.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with YAML front matter"
    return yaml.safe_load(match[1])


def test_front_matter_is_a_gradio_space_with_the_models():
    from artimuse.loading.hub import KNOWN_CHECKPOINTS

    meta = front_matter()
    assert meta["sdk"] == "gradio" and str(meta["sdk_version"]).startswith("6.")
    assert (SPACE / meta["app_file"]).is_file()
    assert meta["suggested_hardware"]
    assert meta["models"] == [k.repo for k in KNOWN_CHECKPOINTS]


def test_requirements_cover_the_package_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["dependencies"]}
    wanted |= {"plotly", "spaces"}
    lines = (SPACE / "requirements.txt").read_text().splitlines()
    listed = {re.split(r"[<>=\[ ]", line)[0].lower() for line in lines
              if line.strip() and not line.startswith("#")}
    assert wanted <= listed, f"missing from the Space's requirements: {wanted - listed}"


def test_build_assembles_a_pushable_folder(tmp_path):
    out = tmp_path / "space"
    subprocess.run(["bash", str(SPACE / "build.sh"), str(out)], check=True, capture_output=True)
    assert {"README.md", "app.py", "requirements.txt"} <= {p.name for p in out.iterdir()}
    assert (out / "artimuse/webapp/app.py").is_file()
    assert not list(out.rglob("__pycache__"))


def test_the_space_starts_downloads_and_assesses_with_spaces_installed(
    hub, tmp_path, monkeypatch
):
    pytest.importorskip("gradio")
    pytest.importorskip("spaces")  # a dev dependency: this is the path a Space takes
    from artimuse.config import Settings
    from artimuse.loading.downloads import DownloadService
    from artimuse.webapp import zerogpu
    from artimuse.webapp.state import READY

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARTIMUSE_DEVICE", "cpu")
    monkeypatch.setenv("ARTIMUSE_DTYPE", "float32")
    monkeypatch.setenv("ARTIMUSE_MAX_NEW_TOKENS", "6")
    spec = importlib.util.spec_from_file_location("space_app", SPACE / "app.py")
    space = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(space)
    assert space.spaces is not None and "spaces" in sys.modules
    assert zerogpu.zerogpu_active() is False

    app = space.build(downloads=DownloadService(endpoint=hub.url))
    handlers = app.artimuse
    assert zerogpu.on_gpu(handlers.assess.run, zerogpu.assess_duration) == handlers.assess.run
    assert app.artimuse_download.service.wait(WAIT_S).state == "done"
    deadline = time.monotonic() + WAIT_S
    while handlers.holder.status.state != READY and time.monotonic() < deadline:
        handlers.holder.wait(1.0)
    assert handlers.holder.status == handlers.holder.status.__class__(
        READY, "ArtiMuse", "cpu · float32", device="cpu"
    )
    assert handlers.holder.settings == Settings("checkpoints/ArtiMuse", "cpu", "float32", 6)
    *_, last = handlers.assess.run(str(CONFORMANCE_IMAGES["gray_64x64"]))
    result = last[4]  # the hidden result the exports read
    assert result["complete"] is True and len(result["assessment"]["Aesthetic Attributes"]) == 8


def test_gpu_seconds_grow_with_the_comment_length_within_the_limit():
    from artimuse.webapp import zerogpu

    short, long = zerogpu.assess_duration(None, 64), zerogpu.assess_duration(None, 1024)
    assert zerogpu.GPU_START_S < short < long <= zerogpu.GPU_MAX_S
    assert zerogpu.assess_duration(None, 100_000) == zerogpu.GPU_MAX_S
    assert zerogpu.many_duration([1, 2], False) == zerogpu.GPU_SCORES_S
    assert zerogpu.many_duration([1, 2], True, 64) > zerogpu.many_duration([1], True, 64)
