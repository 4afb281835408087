"""The resolver against the local hub stand-in: what a text names, the hub cache used offline
with no request, snapshot_download's progress through one record, revisions, a cut transfer
resumed, Cancel leaving nothing that loads, the disk check, and one-line failures."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from artimuse.errors import CheckpointNotFound, InputError
from artimuse.loading import hub_checks
from artimuse.loading.hub import KNOWN_CHECKPOINTS, HubSpec, human_bytes, parse_spec
from artimuse.loading.hub_checks import DownloadCancelled, DownloadError, loads
from artimuse.loading.hub_errors import MESSAGES_ZH
from artimuse.loading.hub_progress import CANCELLED, DONE, FAILED
from artimuse.loading.hub_resolve import resolve
from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint
from artimuse.testing.hub_server import HubServer
from tests.conftest import HUB_REPO

MESSAGE_WITHIN_S = 10.0


def test_the_table_names_the_five_released_checkpoints_on_both_hubs():
    assert [k.name for k in KNOWN_CHECKPOINTS] == [
        "ArtiMuse", "ArtiMuse_AVA", "ArtiMuse_FLICKR-AES", "ArtiMuse_PARA", "ArtiMuse_TAD66K"
    ]
    assert all(k.repo == f"Thunderbolt215215/{k.name}" for k in KNOWN_CHECKPOINTS)
    assert all(k.ms_repo == f"thunderbolt/{k.name}" and k.tuned_on for k in KNOWN_CHECKPOINTS)


def test_what_a_text_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./checkpoints here
    assert parse_spec("checkpoints/ArtiMuse") is None  # a folder, even when missing
    assert parse_spec("./x/y") is None and parse_spec("/abs/path") is None
    assert parse_spec(HUB_REPO) == HubSpec("hf", HUB_REPO, None, KNOWN_CHECKPOINTS[0])
    assert parse_spec("ArtiMuse_PARA").repo == "Thunderbolt215215/ArtiMuse_PARA"
    assert parse_spec("hf-hub:someone/model@v1") == HubSpec("hf", "someone/model", "v1")
    assert parse_spec("someone/model", revision="abc").revision == "abc"
    assert parse_spec("ms:someone/model").source == "modelscope"
    assert parse_spec("ArtiMuse_AVA", source="modelscope").repo == "thunderbolt/ArtiMuse_AVA"
    assert parse_spec(HUB_REPO, source="modelscope").label == "ms:thunderbolt/ArtiMuse"
    monkeypatch.setenv("ARTIMUSE_SOURCE", "modelscope")
    assert parse_spec("ArtiMuse").repo == "thunderbolt/ArtiMuse"
    (tmp_path / "Thunderbolt215215").mkdir()  # now its first part is a folder here
    (tmp_path / "ArtiMuse").mkdir()  # and so is the name
    assert parse_spec(HUB_REPO) is None and parse_spec("ArtiMuse") is None
    assert parse_spec(f"hf-hub:{HUB_REPO}").repo == HUB_REPO
    with pytest.raises(InputError, match="two revisions"):
        parse_spec("hf-hub:a/b@v1", revision="v2")
    monkeypatch.setenv("ARTIMUSE_SOURCE", "github")
    with pytest.raises(InputError, match="ARTIMUSE_SOURCE"):
        parse_spec("a/b")


@pytest.fixture()
def offline_hub(hub, monkeypatch):
    """The stand-in as huggingface_hub's default endpoint, so a stray request would show."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    return hub


def test_a_mistyped_path_is_a_mistake_with_the_near_folders(tiny_a, tmp_path, monkeypatch,
                                                           offline_hub):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints/tiny").symlink_to(tiny_a, target_is_directory=True)
    with pytest.raises(CheckpointNotFound) as error:
        resolve("checkpoints/tinyy")
    assert str(error.value) == ("checkpoint directory not found: checkpoints/tinyy (did you "
                                "mean checkpoints/tiny?)")
    with pytest.raises(DownloadError) as error:  # the first part mistyped: also a repo id
        resolve("checkpoint/tiny")
    assert str(error.value).startswith("checkpoint/tiny was not found on the hub")
    assert str(error.value).endswith("(or, if you meant a folder: did you mean checkpoints/tiny?)")
    offline_hub.requests.clear()
    (tmp_path / "README.md").write_text("# hello")
    with pytest.raises(CheckpointNotFound, match="README.md is a file, not a checkpoint folder"):
        resolve("README.md")
    with pytest.raises(CheckpointNotFound, match="did you mean its folder checkpoints/tiny"):
        resolve("checkpoints/tiny/config.json")
    assert resolve("checkpoints/tiny") == Path("checkpoints/tiny")
    assert offline_hub.requests == []


def test_download_into_the_cache_reports_progress_and_loads(hub, hub_checkpoint, hub_caches):
    seen = []
    folder = resolve(HUB_REPO, endpoint=hub.url, progress=seen.append)
    assert folder.parent.parent == hub_caches / "hf/models--Thunderbolt215215--ArtiMuse"
    served = sorted(p.name for p in hub_checkpoint.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == served
    assert all((folder / n).read_bytes() == (hub_checkpoint / n).read_bytes() for n in served)
    total = sum((hub_checkpoint / n).stat().st_size for n in served)
    downloading = [p for p in seen if p.state == "downloading"]
    assert [p.done_bytes for p in downloading] == sorted(p.done_bytes for p in downloading)
    assert all(p.total_bytes == total and p.files_total == len(served) for p in downloading)
    assert downloading[-1].files_done == len(served) and downloading[-1].done_bytes == total
    assert seen[-1].state == DONE and seen[-1].percent == 100.0 and seen[-1].repo == HUB_REPO


def test_weights_placed_by_snapshot_download_are_used_offline_without_a_request(
    offline_hub, monkeypatch
):
    from huggingface_hub import constants, snapshot_download

    placed = snapshot_download(HUB_REPO)  # as `hf download` or a Space's preload_from_hub
    offline_hub.requests.clear()
    assert resolve(HUB_REPO) == resolve("ArtiMuse") == resolve("checkpoints/ArtiMuse")
    assert str(resolve(f"hf-hub:{HUB_REPO}")) == placed
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert str(resolve(HUB_REPO)) == placed
    assert offline_hub.requests == []


def test_a_revision_is_pinned(hub_checkpoint, tmp_path):
    older = make_checkpoint(tmp_path / "older", CheckpointSpec(seed=7))
    with HubServer({HUB_REPO: {"main": hub_checkpoint, "v1": older}}) as server:
        sha = server.sha(HUB_REPO, "v1")
        pinned = resolve(f"hf-hub:{HUB_REPO}@v1", endpoint=server.url)
        latest = resolve(HUB_REPO, endpoint=server.url)
        by_sha = resolve(HUB_REPO, revision=sha, endpoint=server.url)
        server.requests.clear()
        assert resolve(HUB_REPO, revision="v1", download=False) == pinned  # cached, offline
        assert server.requests == []
        with pytest.raises(DownloadError) as error:
            resolve(HUB_REPO, revision="v9", endpoint=server.url)
    assert pinned.name == sha and pinned == by_sha and latest != pinned
    weights = "model.safetensors"
    assert (pinned / weights).read_bytes() == (older / weights).read_bytes()
    assert (latest / "config.json").read_bytes() == (hub_checkpoint / "config.json").read_bytes()
    assert str(error.value) == f"{HUB_REPO}@v9: the hub ({server.url}) has no revision 'v9'"


@pytest.fixture(scope="module")
def big_checkpoint(tmp_path_factory):
    """One ~26 MB weight file: bigger than the client's 10 MiB read chunk, so a cut mid-way
    leaves bytes on disk to resume from."""
    spec = CheckpointSpec(llm_mlp=8192, llm_hidden=256, llm_heads=4, llm_kv_heads=2)
    return make_checkpoint(tmp_path_factory.mktemp("big") / "ArtiMuse", spec)


def test_a_connection_cut_mid_file_resumes_with_a_range_request(big_checkpoint):
    weights = big_checkpoint / "model.safetensors"
    with HubServer({HUB_REPO: big_checkpoint}, cut_once={weights.name}) as server:
        folder = resolve(HUB_REPO, endpoint=server.url)
    assert (folder / weights.name).read_bytes() == weights.read_bytes()
    gets = [r for r in server.requests if r.method == "GET" and r.path.endswith(weights.name)]
    assert len(gets) == 2 and gets[0].range is None
    resumed_at = int(gets[1].range.removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at < weights.stat().st_size  # only the rest was sent again


def _cancel_midway(server, big_checkpoint, download) -> None:
    """Run `download(progress, cancel)` until part of the weights is on disk, then cancel."""
    weights = big_checkpoint / "model.safetensors"
    others = sum(p.stat().st_size for p in big_checkpoint.iterdir() if p != weights)
    arrived, cancel, outcome = threading.Event(), threading.Event(), {}

    def progress(record) -> None:
        if record.done_bytes > others:  # a first chunk of the weights is written
            arrived.set()

    def run():
        try:
            download(progress, cancel)
        except BaseException as error:  # noqa: BLE001 - what each way of downloading raises
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    assert server.halfway.wait(60) and arrived.wait(60)
    cancel.set()
    server.release()  # the next chunk arrives; the download stops there
    thread.join(60)
    server.hold.clear()
    return outcome.get("error")


def _weights_gets(server) -> list:
    return [r for r in server.requests if r.method == "GET" and "/resolve/" in r.path]


def test_cancel_leaves_no_half_checkpoint_and_the_next_run_resumes(big_checkpoint, hub_caches):
    weights = big_checkpoint / "model.safetensors"
    with HubServer({HUB_REPO: big_checkpoint}, hold={weights.name}) as server:
        seen = []

        def download(progress, cancel):
            resolve(HUB_REPO, endpoint=server.url, cancel=cancel,
                    progress=lambda r: (seen.append(r), progress(r)))

        assert isinstance(_cancel_midway(server, big_checkpoint, download), DownloadCancelled)
        assert seen[-1].state == CANCELLED and "cancelled" in seen[-1].message
        with pytest.raises(CheckpointNotFound, match="artimuse download ArtiMuse"):
            resolve(HUB_REPO, download=False)  # nothing that passes for a checkpoint
        cache = hub_caches / "hf/models--Thunderbolt215215--ArtiMuse"
        assert not [p for p in cache.rglob("*") if p.name.endswith(".incomplete")]
        [part] = cache.glob("blobs/*.artimuse-part")  # the weights' part, beside the blobs
        kept = part.stat().st_size
        assert weights.name not in {p.name for p in cache.glob("snapshots/*/*")}
        server.requests.clear()
        folder = resolve(HUB_REPO, endpoint=server.url)
    assert loads(folder) and (folder / weights.name).read_bytes() == weights.read_bytes()
    gets = {r.path.rsplit("/", 1)[1]: r.range for r in _weights_gets(server)}
    assert gets[weights.name] == f"bytes={kept}-" and 0 < kept < weights.stat().st_size
    assert not list(cache.glob("blobs/*.artimuse-part"))


def test_snapshot_download_alone_starts_a_stopped_file_over(big_checkpoint, hub_caches):
    """Why hub_resume exists: the same cancel with huggingface_hub's snapshot_download alone
    (our progress hook raising in its workers) leaves no partial bytes, and the next run asks
    for the whole file again."""
    from huggingface_hub import snapshot_download

    from artimuse.loading.hub_progress import Meter, Stopped, hf_tqdm_class

    weights = big_checkpoint / "model.safetensors"
    with HubServer({HUB_REPO: big_checkpoint}, hold={weights.name}) as server:

        def download(progress, cancel):
            bar = hf_tqdm_class(Meter(HUB_REPO, progress, cancel))
            snapshot_download(HUB_REPO, endpoint=server.url, tqdm_class=bar)

        assert isinstance(_cancel_midway(server, big_checkpoint, download), Stopped)
        cache = hub_caches / "hf/models--Thunderbolt215215--ArtiMuse"
        assert not [p for p in cache.rglob("*") if p.is_file() and "incomplete" in p.name]
        server.requests.clear()
        snapshot_download(HUB_REPO, endpoint=server.url)
    gets = {r.path.rsplit("/", 1)[1]: r.range for r in _weights_gets(server)}
    assert weights.name in gets and gets[weights.name] is None  # from its first byte


def test_not_enough_disk_space_is_said_before_anything_is_fetched(
    hub, hub_checkpoint, hub_caches, monkeypatch
):
    monkeypatch.setattr(hub_checks, "free_bytes", lambda path: 500)
    seen = []
    size = human_bytes(sum(p.stat().st_size for p in hub_checkpoint.iterdir()))
    with pytest.raises(DownloadError, match=f"not enough disk space .* needs {size} more and "
                       f"{hub_caches}\\S* has 500 B free") as error:
        resolve(HUB_REPO, endpoint=hub.url, progress=seen.append)
    assert error.value.kind == "disk" and seen[-1].state == FAILED
    assert [r for r in hub.requests if r.method == "GET" and "/resolve/" in r.path] == []


def test_unknown_repo_is_one_clear_line(hub):
    start = time.monotonic()
    with pytest.raises(DownloadError) as error:
        resolve("Thunderbolt215215/ArtiMuse_AVA", endpoint=hub.url)
    assert time.monotonic() - start < MESSAGE_WITHIN_S
    assert str(error.value) == (
        f"Thunderbolt215215/ArtiMuse_AVA was not found on the hub ({hub.url}); the known "
        "checkpoints are: ArtiMuse, ArtiMuse_AVA, ArtiMuse_FLICKR-AES, ArtiMuse_PARA, "
        "ArtiMuse_TAD66K"
    )


def test_offline_mode_is_honoured_without_a_request(hub, monkeypatch):
    from huggingface_hub import constants  # HF_HUB_OFFLINE, read at import

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DownloadError, match=r"offline mode is on \(HF_HUB_OFFLINE=1\)"):
        resolve(HUB_REPO, endpoint=hub.url)
    assert hub.requests == []


def test_an_unreachable_hub_names_both_ways_out_in_both_languages():
    with HubServer({}) as server:
        url = server.url  # a port that was just closed: nothing listens there any more
    start = time.monotonic()
    with pytest.raises(DownloadError) as error:
        resolve(HUB_REPO, endpoint=url)
    assert time.monotonic() - start < MESSAGE_WITHIN_S
    assert error.value.kind == "unreachable"
    assert f"cannot reach the Hugging Face hub ({url})" in str(error.value)
    chinese = MESSAGES_ZH[error.value.kind].format(**error.value.details)
    for text in (str(error.value), chinese):
        assert "HF_ENDPOINT" in text and "--source modelscope" in text
    assert url in chinese and HUB_REPO in chinese
    assert set(MESSAGES_ZH) >= {"offline", "repo_not_found", "disk", "cancelled", "failed"}


def test_download_false_looks_only_here(hub):
    with pytest.raises(CheckpointNotFound) as error:
        resolve("ArtiMuse_PARA", download=False)
    assert str(error.value) == (
        "Thunderbolt215215/ArtiMuse_PARA is not downloaded (not in the hub cache, nor in "
        "checkpoints/ArtiMuse_PARA). Download it with: artimuse download ArtiMuse_PARA"
    )
    assert hub.requests == []
