"""Hub ids versus paths, and `HubDownload` against the local hub stand-in: progress, a dropped
connection resumed with Range, Cancel keeping finished files, the disk check, clear failures."""

from __future__ import annotations

import threading
import time

import pytest

from artimuse.loading import hub as hub_module
from artimuse.loading.checkpoint import resolve_checkpoint
from artimuse.loading.hub import (
    CANCELLED,
    DONE,
    FAILED,
    KNOWN_CHECKPOINTS,
    DownloadCancelled,
    DownloadError,
    HubDownload,
    hub_repo,
    human_bytes,
    repo_to_download,
)
from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint
from artimuse.testing.hub_server import HubServer
from tests.conftest import HUB_REPO

MESSAGE_WITHIN_S = 10.0


def test_the_table_names_the_five_released_checkpoints():
    assert [k.name for k in KNOWN_CHECKPOINTS] == [
        "ArtiMuse", "ArtiMuse_AVA", "ArtiMuse_FLICKR-AES", "ArtiMuse_PARA", "ArtiMuse_TAD66K"
    ]
    assert all(k.repo == f"Thunderbolt215215/{k.name}" and k.tuned_on for k in KNOWN_CHECKPOINTS)
    assert repo_to_download("ArtiMuse_PARA") == "Thunderbolt215215/ArtiMuse_PARA"
    assert repo_to_download("hf-hub:someone/model") == "someone/model"
    with pytest.raises(DownloadError, match="neither a known checkpoint"):
        repo_to_download("no-such-name")


def test_a_path_is_never_taken_for_a_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./checkpoints here
    assert hub_repo("checkpoints/ArtiMuse") is None
    assert hub_repo("ArtiMuse") is None  # a bare name is a folder
    assert hub_repo("./x/y") is None and hub_repo("/abs/path") is None
    assert hub_repo("Thunderbolt215215/ArtiMuse") == "Thunderbolt215215/ArtiMuse"
    assert hub_repo("hf-hub:Thunderbolt215215/ArtiMuse") == "Thunderbolt215215/ArtiMuse"
    (tmp_path / "Thunderbolt215215").mkdir()  # now its first part is a folder here
    assert hub_repo("Thunderbolt215215/ArtiMuse") is None
    assert hub_repo("hf-hub:Thunderbolt215215/ArtiMuse") == "Thunderbolt215215/ArtiMuse"

    def no_network(*args, **kwargs):
        raise AssertionError("a path made a network call")

    monkeypatch.setattr(HubDownload, "run", no_network)
    with pytest.raises(FileNotFoundError, match="checkpoint directory not found: checkpoints"):
        resolve_checkpoint("checkpoints/ArtiMuse")


def test_download_reports_progress_and_the_folder_loads(hub, hub_checkpoint, tmp_path):
    seen = []
    job = HubDownload(HUB_REPO, tmp_path / "dest", endpoint=hub.url)
    job.observers.append(seen.append)
    folder = job.run()
    served = {p.name for p in hub_checkpoint.iterdir() if p.is_file()}
    assert served <= {p.name for p in folder.iterdir()}
    for name in served:
        assert (folder / name).read_bytes() == (hub_checkpoint / name).read_bytes()
    total = sum((hub_checkpoint / n).stat().st_size for n in served)
    assert job.progress.state == DONE and job.progress.done_bytes == total
    counts = [p.done_bytes for p in seen if p.state == "downloading"]
    assert counts == sorted(counts) and 0 < len(set(counts))  # grows, never goes back
    assert all(p.total_bytes == total for p in seen if p.state == "downloading")


def test_a_second_run_fetches_nothing_again(hub, tmp_path):
    HubDownload(HUB_REPO, tmp_path / "dest", endpoint=hub.url).run()
    hub.requests.clear()
    HubDownload(HUB_REPO, tmp_path / "dest", endpoint=hub.url).run()
    assert [r for r in hub.requests if r.method == "GET" and "/resolve/" in r.path] == []


@pytest.fixture(scope="module")
def big_checkpoint(tmp_path_factory):
    """One ~26 MB weight file: bigger than the client's 10 MiB read chunk, so a cut mid-way
    leaves bytes on disk to resume from."""
    spec = CheckpointSpec(llm_mlp=8192, llm_hidden=256, llm_heads=4, llm_kv_heads=2)
    return make_checkpoint(tmp_path_factory.mktemp("big") / "ArtiMuse", spec)


def test_a_connection_cut_mid_file_resumes_with_a_range_request(big_checkpoint, tmp_path):
    weights = big_checkpoint / "model.safetensors"
    with HubServer({HUB_REPO: big_checkpoint}, cut_once={weights.name}) as server:
        folder = HubDownload(HUB_REPO, tmp_path / "dest", endpoint=server.url).run()
    assert (folder / weights.name).read_bytes() == weights.read_bytes()
    gets = [r for r in server.requests if r.method == "GET" and r.path.endswith(weights.name)]
    assert len(gets) == 2 and gets[0].range is None
    resumed_at = int(gets[1].range.removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at < weights.stat().st_size  # only the rest was sent again


def test_cancel_then_a_new_run_goes_on_from_where_it_stopped(big_checkpoint, tmp_path):
    weights = big_checkpoint / "model.safetensors"
    with HubServer({HUB_REPO: big_checkpoint}, hold={weights.name}) as server:
        job = HubDownload(HUB_REPO, tmp_path / "dest", endpoint=server.url)
        others = sum(p.stat().st_size for p in big_checkpoint.iterdir() if p != weights)
        arrived = threading.Event()  # the first chunk of the weights is on disk
        job.observers.append(lambda p: p.done_bytes > others and arrived.set())
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(error=_run(job)))
        thread.start()
        assert server.halfway.wait(60) and arrived.wait(60)
        job.cancel()
        server.release()  # the next chunk arrives; the job stops there
        thread.join(60)
        assert isinstance(outcome["error"], DownloadCancelled)
        assert job.progress.state == CANCELLED and "cancelled" in job.progress.message
        assert not (tmp_path / "dest" / weights.name).exists()  # not in place half-written
        assert (tmp_path / "dest" / "config.json").is_file()  # finished files are kept
        kept = job.progress.done_bytes - sum(
            p.stat().st_size for p in (tmp_path / "dest").iterdir() if p.is_file()
        )
        assert kept > 0  # and so is the part of the weights that had arrived
        server.hold.clear()
        server.requests.clear()
        HubDownload(HUB_REPO, tmp_path / "dest", endpoint=server.url).run()
    assert (tmp_path / "dest" / weights.name).read_bytes() == weights.read_bytes()
    gets = [r for r in server.requests if r.method == "GET" and "/resolve/" in r.path]
    assert [r.path.rsplit("/", 1)[1] for r in gets] == [weights.name]
    assert gets[0].range == f"bytes={kept}-"


def _run(job):
    try:
        job.run()
    except DownloadError as error:
        return error
    return None


def test_not_enough_disk_space_is_said_before_anything_is_fetched(
    hub, hub_checkpoint, tmp_path, monkeypatch
):
    monkeypatch.setattr(hub_module, "free_bytes", lambda path: 500)
    job = HubDownload(HUB_REPO, tmp_path / "dest", endpoint=hub.url)
    size = human_bytes(sum(p.stat().st_size for p in hub_checkpoint.iterdir() if p.is_file()))
    with pytest.raises(DownloadError, match=f"not enough disk space .* needs {size} more and "
                       f"{tmp_path} has 500 B free"):
        job.run()
    assert job.progress.state == FAILED
    assert [r for r in hub.requests if "/resolve/" in r.path] == []


def test_unknown_repo_is_one_clear_message(hub, tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError) as error:
        HubDownload("Thunderbolt215215/ArtiMuse_AVA", tmp_path / "d", endpoint=hub.url).run()
    assert time.monotonic() - start < MESSAGE_WITHIN_S
    assert str(error.value).startswith(
        f"Thunderbolt215215/ArtiMuse_AVA was not found on the hub ({hub.url})"
    )


def test_offline_mode_is_honoured_without_a_request(hub, tmp_path, monkeypatch):
    # huggingface_hub reads HF_HUB_OFFLINE once, at import, into this constant (the subprocess
    # test in tests/test_download_cli.py sets the variable itself).
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DownloadError, match=r"offline mode is on \(HF_HUB_OFFLINE=1\)"):
        HubDownload(HUB_REPO, tmp_path / "d", endpoint=hub.url).run()
    assert hub.requests == []


def test_an_unreachable_hub_is_a_message_not_a_hang(tmp_path):
    with HubServer({}) as server:
        url = server.url  # a port that was just closed: nothing listens there any more
    start = time.monotonic()
    with pytest.raises(DownloadError, match="could not download .* Check the network"):
        HubDownload(HUB_REPO, tmp_path / "d", endpoint=url).run()
    assert time.monotonic() - start < MESSAGE_WITHIN_S
