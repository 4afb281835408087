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


def test_download_then_score(
    hub, hub_checkpoint, hub_caches, tmp_path, expected_total, monkeypatch, capsys
):
    done = artimuse(["download"], tmp_path, HF_ENDPOINT=hub.url)  # the variable is honoured
    assert done.returncode == 0, done.stderr
    snapshots = hub_caches / "hf" / "models--Thunderbolt215215--ArtiMuse" / "snapshots"
    assert f"ArtiMuse is in {snapshots}" in done.stdout
    assert f"({_size(hub_checkpoint)} fetched)" in done.stdout
    assert f"artimuse ui --ckpt {HUB_REPO}" in done.stdout
    assert not (tmp_path / "checkpoints").exists()  # the hub cache, not a folder of ours
    hub.requests.clear()
    monkeypatch.chdir(tmp_path)
    for ckpt in ("checkpoints/ArtiMuse", HUB_REPO, "ArtiMuse"):  # the default too: the cache
        code, out, err = in_process(score_args(ckpt), capsys)
        assert code == 0, err
        assert json.loads(out)[0]["total_score"] == expected_total
    assert hub.requests == []  # found in the cache, offline


def test_a_second_download_fetches_no_file_body(hub, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert in_process(["download", "--endpoint", hub.url], capsys)[0] == 0
    hub.requests.clear()
    code, out, _ = in_process(["download", "--endpoint", hub.url], capsys)
    assert code == 0 and "(already here, nothing fetched)" in out
    assert [r for r in hub.requests if r.method == "GET" and "/resolve/" in r.path] == []
    assert hub.requests == []  # not even a listing: the cache answers


def test_a_hub_id_as_ckpt_downloads_on_first_use(
    hub, hub_caches, tmp_path, expected_total, monkeypatch, capsys
):
    scored = artimuse(score_args(HUB_REPO), tmp_path, HF_ENDPOINT=hub.url)
    assert scored.returncode == 0, scored.stderr
    assert f"downloading {HUB_REPO} into {hub_caches / 'hf'} (first use)" in scored.stderr
    assert json.loads(scored.stdout)[0]["total_score"] == expected_total
    hub.requests.clear()
    monkeypatch.chdir(tmp_path)
    code, out, _ = in_process(score_args(HUB_REPO), capsys)  # already here: no network
    assert code == 0 and json.loads(out)[0]["total_score"] == expected_total
    assert hub.requests == []


def test_offline_is_one_clear_message(hub, tmp_path):
    done = artimuse(["download"], tmp_path, HF_ENDPOINT=hub.url, HF_HUB_OFFLINE="1")
    assert done.returncode == 2
    assert "artimuse download: error: cannot download Thunderbolt215215/ArtiMuse: offline " \
           "mode is on (HF_HUB_OFFLINE=1) and it is not in the hub cache" in done.stderr
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
    hub.requests.clear()
    code, _, err = in_process(["download", "ArtiMuse_Typo"], capsys)
    assert code == 2 and "'ArtiMuse_Typo' is neither a known checkpoint" in err
    assert err.endswith("; did you mean ArtiMuse?\n") and hub.requests == []


def test_a_missing_default_folder_names_the_download(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no ./checkpoints: still a folder, not a hub id
    code, _, err = in_process(score_args("checkpoints/ArtiMuse"), capsys)
    assert code == 2
    assert "checkpoint directory not found: checkpoints/ArtiMuse" in err
    assert "artimuse download ArtiMuse (or: hf download Thunderbolt215215/ArtiMuse" in err


def test_a_typo_is_a_mistake_not_a_download(tiny_a, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints/tiny").symlink_to(tiny_a, target_is_directory=True)
    code, _, err = in_process(score_args("checkpoints/tinyy"), capsys)
    assert code == 2
    assert err == ("artimuse score: error: checkpoint directory not found: checkpoints/tinyy "
                   f"(did you mean {Path('checkpoints/tiny')}?)\n")
    (tmp_path / "README.md").write_text("# not weights")
    code, _, err = in_process(score_args("README.md"), capsys)
    assert code == 2 and "download" not in err
    assert "README.md is a file, not a checkpoint folder" in err


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


def test_ctrl_c_stops_the_download_cleanly_and_the_next_run_finishes(
    hub, hub_caches, tmp_path, monkeypatch, capsys
):
    import signal

    hub.hold.add("model-00002-of-00002.safetensors")
    environment = {**os.environ, "HF_ENDPOINT": hub.url, "PYTHONPATH": f"{ROOT}{os.pathsep}"
                   + os.environ.get("PYTHONPATH", "")}
    running = subprocess.Popen([sys.executable, "-c", RUN, "download"], cwd=tmp_path,
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert hub.halfway.wait(120)
    running.send_signal(signal.SIGINT)
    said = [running.stderr.readline()]
    while said[-1] and "stopping the download" not in said[-1]:  # the interrupt is seen
        said.append(running.stderr.readline())
    hub.release()  # the next chunk arrives, and the download stops there
    err = "".join(said) + running.stderr.read()  # the same reader: it may hold the rest
    running.wait(120)
    running.stdout.close(), running.stderr.close()
    assert running.returncode == 130 and "Traceback" not in err
    assert f"interrupted: finished files are kept in {hub_caches / 'hf'}" in err
    hub.hold.clear()
    monkeypatch.chdir(tmp_path)
    code, out, err = in_process(["download", "--endpoint", hub.url], capsys)
    assert code == 0 and "ArtiMuse is in " in out, err


def _size(folder) -> str:
    from artimuse.loading.hub import human_bytes

    return human_bytes(sum(p.stat().st_size for p in folder.iterdir() if p.is_file()))
