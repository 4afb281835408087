"""The Hugging Face Space folder: its front matter and requirements, the folder `build.sh`
assembles, and the Space's app started (with `spaces` installed, ZeroGPU not active: the no-op
path), downloading its checkpoint at start-up from the hub stand-in, then assessing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import tomllib

from tests.helpers import CONFORMANCE_IMAGES, TINY_A

# ZeroGPU's supported versions, as the Spaces documentation lists them (hub-docs,
# spaces-zerogpu.md): one Python, and these torch releases; `zero-a10g` is its hardware flavour.
ZEROGPU_PYTHON = "3.10.13"
ZEROGPU_TORCH = ("2.1.0", "2.1.1", "2.1.2", "2.2.0", "2.2.2", "2.4.0", "2.5.1", "2.6.0",
                 "2.7.1", "2.8.0")
ZEROGPU_HARDWARE = "zero-a10g"
HUB_REPO = "Thunderbolt215215/ArtiMuse"
ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "deploy" / "huggingface-space"
WAIT_S = 120


def front_matter() -> dict:
    yaml = pytest.importorskip("yaml")
    text = (SPACE / "README.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with YAML front matter"
    return yaml.safe_load(match[1])


def test_front_matter_is_a_zerogpu_space_that_preloads_the_model():
    from artimuse.loading.hub import KNOWN_CHECKPOINTS

    meta = front_matter()
    assert meta["sdk"] == "gradio" and str(meta["sdk_version"]).startswith("6.")
    assert (SPACE / meta["app_file"]).is_file()
    assert meta["suggested_hardware"] == ZEROGPU_HARDWARE
    assert str(meta["python_version"]) == ZEROGPU_PYTHON
    assert meta["preload_from_hub"] == [HUB_REPO]
    assert meta["models"] == [k.repo for k in KNOWN_CHECKPOINTS]


def test_torch_is_one_that_zerogpu_supports():
    pins = [line for line in (SPACE / "requirements.txt").read_text().splitlines()
            if line.startswith("torch")]
    assert len(pins) == 1 and pins[0].removeprefix("torch==") in ZEROGPU_TORCH, pins


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
    assert (out / "artimuse/webapp/locales/zh-CN.json").is_file()  # the translations come along
    assert not list(out.rglob("__pycache__"))


def test_the_built_space_reads_its_preloaded_cache_and_assesses(hub, tmp_path):
    """The folder build.sh assembles, started as a Space starts it (`python app.py`, SPACE_ID
    set, `spaces` installed and ZeroGPU off), on a hub cache filled beforehand as
    `preload_from_hub` fills it: no request reaches the hub, and `/assess` answers."""
    pytest.importorskip("gradio")
    pytest.importorskip("spaces")  # a dev dependency: this is the path a Space takes
    from gradio_client import Client, handle_file
    from huggingface_hub import snapshot_download

    from artimuse.testing.stranger import WebAppProcess, picture, score

    out = tmp_path / "space"
    subprocess.run(["bash", str(SPACE / "build.sh"), str(out)], check=True, capture_output=True)
    cache = tmp_path / "hf"
    snapshot_download(HUB_REPO, cache_dir=cache / "hub", endpoint=hub.url)  # the build step
    hub.requests.clear()
    env = {"SPACE_ID": "someone/artimuse", "HF_HOME": str(cache),
           "HF_HUB_CACHE": str(cache / "hub"), "HF_ENDPOINT": hub.url,
           "ARTIMUSE_DEVICE": "cpu", "ARTIMUSE_DTYPE": "float32",
           "ARTIMUSE_MAX_NEW_TOKENS": "6", "ARTIMUSE_CKPT": None, "ARTIMUSE_PUBLIC": None}
    with WebAppProcess(tmp_path / "run", env, script=out / "app.py") as app:
        client = Client(app.url, verbose=False)
        answer = client.predict(image=handle_file(str(CONFORMANCE_IMAGES["gray_64x64"])),
                                api_name="/assess")
        before = score(app, picture(1))
        switch_to(app, str(TINY_A))  # public on a Space: refused, even from loopback
        after = score(app, picture(1))
    assert 0 <= answer["total_score"] <= 100 and len(answer["aspect_comments"]) == 7
    assert answer["comprehensive_evaluation"]
    assert hub.requests == [], [r.path for r in hub.requests]
    assert after == before


def switch_to(app, checkpoint: str) -> None:
    """What the page's Load button sends, with `checkpoint` as the choice."""
    from artimuse.testing.stranger import GradioPeer, components, legit_arguments, ui_dependencies

    peer = GradioPeer(app.url)
    config = peer.config()
    by_id = components(config)
    for index in ui_dependencies(config, "checkpoint"):
        data = legit_arguments(config, index, [None])
        for n, i in enumerate(config["dependencies"][index]["inputs"]):
            if by_id[i]["props"].get("elem_id") == "checkpoint":
                data[n] = checkpoint
        peer.join(index, data)
    peer.close()


def test_space_defaults_ask_for_short_gpu_requests():
    from artimuse.webapp import zerogpu

    tokens = int(zerogpu.SPACE_DEFAULTS["ARTIMUSE_MAX_NEW_TOKENS"])
    assert tokens == 512 and zerogpu.comment_seconds(tokens) < zerogpu.GPU_MAX_S
    assert zerogpu.SPACE_DEFAULTS["ARTIMUSE_COMPILE"] == "0"
    assert zerogpu.SPACE_DEFAULTS["ARTIMUSE_PUBLIC"] == "1"
