"""Checkpoints from ModelScope through the resolver, against the local ModelScope stand-in
(artimuse/testing/modelscope_server.py): the table's ModelScope ids, `ms:` ids and
ARTIMUSE_SOURCE, the client's cache used with no request, progress, cancel, a cut transfer,
the disk check, one-line failures, and `artimuse download --source modelscope` end to end."""

from __future__ import annotations

import json
import threading
import time

import pytest

pytest.importorskip("modelscope")

from artimuse import cli  # noqa: E402
from artimuse.errors import CheckpointNotFound  # noqa: E402
from artimuse.loading import hub_checks  # noqa: E402
from artimuse.loading.hub import human_bytes  # noqa: E402
from artimuse.loading.hub_checks import DownloadCancelled, DownloadError, loads  # noqa: E402
from artimuse.loading.hub_progress import CANCELLED, DONE  # noqa: E402
from artimuse.loading.hub_resolve import resolve  # noqa: E402
from artimuse.testing.modelscope_server import ModelScopeServer  # noqa: E402
from tests.test_download_cli import artimuse, score_args  # noqa: E402

MS_REPO = "thunderbolt/ArtiMuse"
MESSAGE_WITHIN_S = 10.0


@pytest.fixture()
def ms(hub_checkpoint, monkeypatch):
    """The stand-in serving the hub's checkpoint as thunderbolt/ArtiMuse, as the client's
    endpoint (MODELSCOPE_ENDPOINT, read by it at each call)."""
    with ModelScopeServer({MS_REPO: hub_checkpoint}) as server:
        monkeypatch.setenv("MODELSCOPE_ENDPOINT", server.url)
        yield server


def _bodies(server) -> list[str]:
    return [r.path for r in server.requests if "FilePath=" in r.path and r.method == "GET"]


def test_a_released_name_from_modelscope_end_to_end(ms, hub_checkpoint, hub_caches):
    seen = []
    folder = resolve("ArtiMuse", source="modelscope", progress=seen.append)
    assert folder.is_relative_to(hub_caches / "modelscope") and loads(folder)
    served = sorted(p.name for p in hub_checkpoint.iterdir())
    assert all((folder / n).read_bytes() == (hub_checkpoint / n).read_bytes() for n in served)
    total = sum((hub_checkpoint / n).stat().st_size for n in served)
    assert seen[-1].state == DONE and seen[-1].repo == f"ms:{MS_REPO}"
    assert seen[-1].done_bytes == total and seen[-1].files_done == len(served)
    counts = [p.done_bytes for p in seen if p.state == "downloading"]
    assert counts == sorted(counts) and len(set(counts)) > 1
    ms.requests.clear()
    assert resolve(f"ms:{MS_REPO}") == folder  # the client's cache, no request
    assert resolve("checkpoints/ArtiMuse") == folder  # the default folder finds it too
    assert ms.requests == []


def test_artimuse_download_with_source_modelscope(
    ms, hub_checkpoint, tmp_path, monkeypatch, capsys
):
    done = artimuse(["download", "--source", "modelscope"], tmp_path,
                    MODELSCOPE_ENDPOINT=ms.url)
    assert done.returncode == 0, done.stderr
    assert "ArtiMuse is in " in done.stdout and f"({_size(hub_checkpoint)} fetched)" in done.stdout
    assert f"artimuse score --ckpt ms:{MS_REPO} photo.jpg" in done.stdout
    ms.requests.clear()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARTIMUSE_SOURCE", "modelscope")
    assert cli.main(score_args("ArtiMuse")) == 0  # the name, now from ModelScope's cache
    assert json.loads(capsys.readouterr().out)[0]["total_score"] >= 0
    assert ms.requests == []


@pytest.fixture(scope="module")
def big_checkpoint(tmp_path_factory):
    """One ~26 MB weight file: many of the client's chunks, so a cut leaves some on disk."""
    from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint

    spec = CheckpointSpec(llm_mlp=8192, llm_hidden=256, llm_heads=4, llm_kv_heads=2)
    return make_checkpoint(tmp_path_factory.mktemp("big") / "ArtiMuse", spec)


def test_cancel_keeps_the_part_and_the_next_run_resumes_it(big_checkpoint, monkeypatch):
    weights = "model.safetensors"
    seen, cancel, outcome = [], threading.Event(), {}

    def run():
        try:
            resolve(f"ms:{MS_REPO}", progress=seen.append, cancel=cancel, max_workers=1)
        except DownloadError as error:
            outcome["error"] = error

    with ModelScopeServer({MS_REPO: big_checkpoint}, hold={weights}) as ms:
        monkeypatch.setenv("MODELSCOPE_ENDPOINT", ms.url)
        thread = threading.Thread(target=run)
        thread.start()
        assert ms.halfway.wait(60)
        cancel.set()
        ms.release()
        thread.join(60)
        assert isinstance(outcome["error"], DownloadCancelled) and seen[-1].state == CANCELLED
        with pytest.raises(CheckpointNotFound):
            resolve(f"ms:{MS_REPO}", download=False)  # nothing that passes for a checkpoint
        ms.hold.clear()
        ms.requests.clear()
        folder = resolve(f"ms:{MS_REPO}")
    assert (folder / weights).read_bytes() == (big_checkpoint / weights).read_bytes()
    [again] = [r for r in ms.requests if r.path.endswith(f"FilePath={weights}")]
    resumed_at = int(again.range.removeprefix("bytes=").rstrip("-"))  # the client kept its part
    assert 0 < resumed_at < (big_checkpoint / weights).stat().st_size


def test_a_cut_connection_is_resumed_by_the_client(hub_checkpoint, monkeypatch):
    weights = "model-00001-of-00002.safetensors"
    with ModelScopeServer({MS_REPO: hub_checkpoint}, cut_once={weights}) as server:
        folder = resolve(f"ms:{MS_REPO}", endpoint=server.url)
    assert (folder / weights).read_bytes() == (hub_checkpoint / weights).read_bytes()
    gets = [r for r in server.requests if r.path.endswith(f"FilePath={weights}")]
    assert len(gets) == 2 and gets[0].range is None and gets[1].range.startswith("bytes=")


def test_unknown_repo_and_the_disk_check_are_one_line_each(ms, monkeypatch):
    start = time.monotonic()
    with pytest.raises(DownloadError) as error:
        resolve("ms:someone/nothing")
    assert time.monotonic() - start < MESSAGE_WITHIN_S
    assert str(error.value).startswith(f"ms:someone/nothing was not found on ModelScope "
                                       f"({ms.url}); the known checkpoints are: ArtiMuse,")
    monkeypatch.setattr(hub_checks, "free_bytes", lambda path: 500)
    with pytest.raises(DownloadError, match="not enough disk space for ms:thunderbolt/ArtiMuse"):
        resolve(f"ms:{MS_REPO}")
    assert _bodies(ms) == []


def _size(folder) -> str:

    return human_bytes(sum(p.stat().st_size for p in folder.iterdir() if p.is_file()))
