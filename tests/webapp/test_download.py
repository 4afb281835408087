"""The page without weights, through its handlers, against the local hub stand-in: the panel
invites, the download is server state (one at a time, seen by every visitor), Cancel, failures
within seconds, the model loaded when done; ARTIMUSE_AUTO_DOWNLOAD at start-up."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("gradio")

from artimuse.config import Settings  # noqa: E402
from artimuse.loading.downloads import DownloadService  # noqa: E402
from artimuse.loading.hub import CANCELLED, DONE, FAILED  # noqa: E402
from artimuse.webapp import download  # noqa: E402
from artimuse.webapp.app import build_app  # noqa: E402
from artimuse.webapp.state import READY  # noqa: E402
from tests.conftest import HUB_REPO  # noqa: E402
from tests.helpers import CONFORMANCE_IMAGES  # noqa: E402

WAIT_S = 120  # upper bounds for events on a busy machine; the tests wait for the event itself
MESSAGE_WITHIN_S = 10.0


@pytest.fixture()
def page(hub, tmp_path, monkeypatch):
    """A page built as demo_gradio.py builds it, in a folder without checkpoints."""
    monkeypatch.chdir(tmp_path)
    settings = Settings("checkpoints/ArtiMuse", "cpu", "float32", max_new_tokens=6)
    app = build_app(
        settings=settings, downloads=DownloadService(endpoint=hub.url), auto_download=False
    )
    app.artimuse.holder.wait(WAIT_S)
    return app.artimuse_download


def test_without_weights_the_panel_invites_to_download(page):
    panel, shown, status, start, cancel, timer = page.poll()
    assert panel.visible is True and timer.active is True
    assert 'data-state="idle"' in shown and "no ArtiMuse weights yet" in shown
    assert "No checkpoint at" in status and "Press Download below" in status
    assert cancel.visible is False and start.interactive is True
    assert page.button_label("ArtiMuse_AVA").value == "Download ArtiMuse_AVA (16 GB)"


def test_download_then_the_model_loads_and_the_panel_goes(page, hub_checkpoint):
    page.start("ArtiMuse")
    progress = page.service.wait(WAIT_S)
    assert progress.state == DONE and progress.percent == 100.0
    status = _wait_ready(page)
    assert status.ckpt == "ArtiMuse"
    panel, shown, status_line, *_, timer = page.poll()
    assert panel.visible is False and timer.active is False and "ready" in status_line
    model = page.holder.model
    picture = CONFORMANCE_IMAGES["gray_64x64"]
    import artimuse

    direct = artimuse.load(str(hub_checkpoint), device="cpu", dtype="float32")
    assert model.score(picture).total == direct.score(picture).total


def test_one_download_at_a_time_shared_by_every_visitor(hub, page, monkeypatch):
    hub.hold.add("model-00002-of-00002.safetensors")
    page.start("ArtiMuse")
    assert hub.halfway.wait(WAIT_S)
    deadline = time.monotonic() + WAIT_S  # files arrive in parallel: wait for the first bytes
    while page.service.progress.done_bytes == 0 and time.monotonic() < deadline:
        page.service.wait(0.05)
    _, shown, _, start, cancel, _ = page.start("ArtiMuse")  # a second visitor presses too
    assert "A download is already running: its progress is shown here." in shown  # on the page
    assert 'data-state="downloading"' in shown and start.interactive is False and cancel.visible
    percent = float(shown.split('data-percent="')[1].split('"')[0])
    assert 0 < percent < 100
    page.cancel()
    hub.release()
    assert page.service.wait(WAIT_S).state == CANCELLED
    _, shown, *_ = page.poll()
    assert "Download cancelled" in shown and "kept in checkpoints/ArtiMuse" in shown


def test_the_panel_speaks_chinese(page):
    _, shown, status, *_ = page.poll("zh-CN")
    assert "这台服务器还没有 ArtiMuse 权重" in shown and "点击下方的“下载”" in status
    assert page.button_label("ArtiMuse_AVA", "zh-CN").value == "下载 ArtiMuse_AVA（16 GB）"
    assert (
        "微调数据：AVA（摄影比赛投票）"
        in dict((value, label) for label, value in download.choices("zh-CN"))["ArtiMuse_AVA"]
    )


def test_unknown_repo_says_so_within_seconds(page):
    start = time.monotonic()
    page.start("ArtiMuse_TAD66K")  # the stand-in serves only ArtiMuse
    progress = page.service.wait(MESSAGE_WITHIN_S)
    assert time.monotonic() - start < MESSAGE_WITHIN_S
    assert progress.state == FAILED
    _, shown, *_ = page.poll()
    assert "Download failed." in shown and "ArtiMuse_TAD66K was not found on the hub" in shown


def test_offline_says_so_within_seconds(page, hub, monkeypatch):
    from huggingface_hub import constants  # HF_HUB_OFFLINE=1, as read at import

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    page.start("ArtiMuse")
    progress = page.service.wait(MESSAGE_WITHIN_S)
    assert progress.state == FAILED and "offline mode is on (HF_HUB_OFFLINE=1)" in progress.message
    assert hub.requests == []


def test_auto_download_at_start_up(hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARTIMUSE_AUTO_DOWNLOAD", "1")
    settings = Settings("checkpoints/ArtiMuse", "cpu", "float32", max_new_tokens=6)
    app = build_app(settings=settings, downloads=DownloadService(endpoint=hub.url))
    page = app.artimuse_download
    assert page.service.wait(WAIT_S).state == DONE
    assert _wait_ready(page).state == READY
    assert (tmp_path / "checkpoints/ArtiMuse/config.json").is_file()


def test_a_hub_id_as_the_checkpoint_downloads_with_the_panel(hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(HUB_REPO, "cpu", "float32", max_new_tokens=6)
    app = build_app(
        settings=settings, downloads=DownloadService(endpoint=hub.url), auto_download=False
    )
    page = app.artimuse_download
    assert page.service.wait(WAIT_S).state == DONE
    assert _wait_ready(page).ckpt == "ArtiMuse"


def _wait_ready(page):
    """The download's on_done starts the load: wait for that load to end."""
    deadline = time.monotonic() + WAIT_S
    while page.holder.status.state != READY and time.monotonic() < deadline:
        page.holder.wait(1.0)
    return page.holder.status
