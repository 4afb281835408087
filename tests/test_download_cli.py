"""`artimuse download` and a hub id as --ckpt, run as a user runs them (a subprocess, the hub
reached through HF_ENDPOINT, which huggingface_hub reads at import), against the local hub
stand-in; offline and unknown-repo messages; eval result names follow --model_name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artimuse import cli
from tests.conftest import HUB_REPO
from tests.helpers import CONFORMANCE_IMAGES

ROOT = Path(__file__).resolve().parents[1]
PICTURE = CONFORMANCE_IMAGES["gray_64x64"]
RUN = "import sys; from artimuse.cli import main; sys.exit(main())"
MESSAGE_WITHIN_S = 10.0


def artimuse(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env, "PYTHONPATH": f"{ROOT}{os.pathsep}"
                   + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", RUN, *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def expected_total(hub_checkpoint) -> float:
    """What `score --json` prints for PICTURE with the served checkpoint loaded directly."""
    import artimuse as package
    from artimuse.serialization import ScoreAnswer

    model = package.load(str(hub_checkpoint), device="cpu", dtype="float32")
    return ScoreAnswer.of(model.score(PICTURE)).total_score


def score_args(ckpt: str) -> list[str]:
    return ["score", str(PICTURE), "--ckpt", ckpt, "--device", "cpu", "--dtype", "float32",
            "--json"]


def in_process(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_download_then_score(hub, tmp_path, expected_total, monkeypatch, capsys):
    done = artimuse(["download"], tmp_path, HF_ENDPOINT=hub.url)  # the variable is honoured
    assert done.returncode == 0, done.stderr
    assert f"{HUB_REPO} (951" in done.stdout and "loads. Use it with:" in done.stdout
    assert f"artimuse ui --ckpt {Path('checkpoints/ArtiMuse')}" in done.stdout
    monkeypatch.chdir(tmp_path)
    code, out, err = in_process(score_args("checkpoints/ArtiMuse"), capsys)
    assert code == 0, err
    assert json.loads(out)[0]["total_score"] == expected_total


def test_a_hub_id_as_ckpt_downloads_on_first_use(
    hub, tmp_path, expected_total, monkeypatch, capsys
):
    scored = artimuse(score_args(HUB_REPO), tmp_path, HF_ENDPOINT=hub.url)
    assert scored.returncode == 0, scored.stderr
    first_use = f"downloading {HUB_REPO} into {Path('checkpoints/ArtiMuse')} (first use)"
    assert first_use in scored.stderr
    assert json.loads(scored.stdout)[0]["total_score"] == expected_total
    assert (tmp_path / "checkpoints/ArtiMuse/config.json").is_file()
    hub.requests.clear()
    monkeypatch.chdir(tmp_path)
    code, out, _ = in_process(score_args(HUB_REPO), capsys)  # already here: no network
    assert code == 0 and json.loads(out)[0]["total_score"] == expected_total
    assert hub.requests == []


def test_offline_is_one_clear_message(hub, tmp_path):
    done = artimuse(["download"], tmp_path, HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="1")
    assert done.returncode == 2
    assert "artimuse download: error: cannot download Thunderbolt215215/ArtiMuse: offline " \
           "mode is on (HF_HUB_OFFLINE=1)" in done.stderr
    assert "Traceback" not in done.stderr and hub.requests == []


def test_download_into_a_folder_by_repo_id(hub, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["download", f"hf-hub:{HUB_REPO}", "--dir", "elsewhere/m", "--endpoint", hub.url]
    code, out, err = in_process(argv, capsys)
    assert code == 0, err
    assert (tmp_path / "elsewhere/m/model.safetensors.index.json").is_file()
    assert f"artimuse score --ckpt {Path('elsewhere/m')} photo.jpg" in out


def test_unknown_repo_is_one_clear_message(hub, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    code, _, err = in_process(["download", "someone/nothing", "--endpoint", hub.url], capsys)
    assert time.monotonic() - start < MESSAGE_WITHIN_S
    assert code == 2
    assert err == (
        f"artimuse download: error: someone/nothing was not found on the hub ({hub.url}); the "
        "known checkpoints are: ArtiMuse, ArtiMuse_AVA, ArtiMuse_FLICKR-AES, ArtiMuse_PARA, "
        "ArtiMuse_TAD66K\n"
    )
    code, _, err = in_process(["download", "ArtiMuse_Typo"], capsys)
    assert code == 2 and "'ArtiMuse_Typo' is neither a known checkpoint" in err


def test_a_missing_default_folder_names_the_download(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no ./checkpoints: still a folder, not a hub id
    code, _, err = in_process(score_args("checkpoints/ArtiMuse"), capsys)
    assert code == 2
    assert "checkpoint directory not found: checkpoints/ArtiMuse" in err
    assert "artimuse download ArtiMuse" in err


def test_eval_results_are_named_after_model_name_symlink_or_not(tiny_a, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    images = tmp_path / "test_datasets/toy/images"
    images.mkdir(parents=True)
    (images / "a.png").write_bytes(PICTURE.read_bytes())
    (images.parent / "test.json").write_text(json.dumps([{"image": "a.png", "gt_score": 5.0}]))
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints/Linked").symlink_to(tiny_a, target_is_directory=True)
    base = ["eval", "--dataset", "toy", "--device", "cpu", "--dtype", "float32"]
    assert cli.main([*base, "--model_name", "Linked"]) == 0
    results = Path("results/dataset_results")
    assert (results / "toy_Linked.json").is_file()
    assert not list(results.glob("toy_tiny-a*"))  # not the symlink's target
    assert cli.main([*base, "--ckpt", "checkpoints/Linked", "--out-dir", "by_path"]) == 0
    assert Path("by_path/toy_Linked.json").is_file()
