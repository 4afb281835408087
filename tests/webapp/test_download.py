"""The operator's Download panel, through its handlers, against the local hub stand-in: the
panel invites, progress streams while the download runs (one at a time), Cancel, failures
within seconds, the model loaded when done; visitors can neither start nor cancel one;
ARTIMUSE_AUTO_DOWNLOAD at start-up."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.webapp.helpers import local, visitor

gr = pytest.importorskip("gradio")

from artimuse.config import Settings, WebSettings  # noqa: E402
from artimuse.loading.downloads import DownloadService  # noqa: E402
from artimuse.loading.hub import CANCELLED, DONE, FAILED  # noqa: E402
from artimuse.webapp import operator_panel  # noqa: E402
from artimuse.webapp.app import build_app  # noqa: E402
from artimuse.webapp.state import READY  # noqa: E402
from tests.conftest import HUB_REPO  # noqa: E402
from tests.helpers import CONFORMANCE_IMAGES  # noqa: E402

WAIT_S = 120  # upper bounds for events on a busy machine; the tests wait for the event itself
MESSAGE_WITHIN_S = 10.0
BOX, SHOWN, START, CANCEL, STATUS = range(5)


def collect(updates) -> list[tuple]:
    async def gather():
        return [update async for update in updates]

    return asyncio.run(gather())


@pytest.fixture()
def page(hub, tmp_path, monkeypatch):
    """A page built as demo_gradio.py builds it, in a folder without checkpoints."""
    monkeypatch.chdir(tmp_path)
    settings = Settings("checkpoints/ArtiMuse", "cpu", "float32", max_new_tokens=6)
    app = build_app(
        settings=settings,
        downloads=DownloadService(endpoint=hub.url),
        auto_download=False,
        web=WebSettings(admin_password="let me in"),
    )
    app.artimuse.holder.wait(WAIT_S)
    return app.artimuse


def test_without_weights_the_panel_invites_the_operator(page):
    box, shown, start, cancel = page.operator.page("en", local())[3:7]
    assert box.visible is True and "no ArtiMuse weights yet" in shown
    assert cancel.visible is False and start.interactive is True
    assert "Press" not in page.status("en", visitor())  # a visitor gets no download advice
    hidden = page.operator.page("en", visitor())[3]
    assert hidden.visible is False
    panel, checkpoints, _ = page.operator.page("en", local())[:3]
    assert panel.visible is True and panel.open is True  # the operator sees why, at once


def test_download_then_the_model_loads_and_the_panel_goes(page, hub_checkpoint):
    updates = collect(page.operator.start("ArtiMuse", None, "en", local()))
    assert page.operator.service.progress.state == DONE
    assert "Downloaded ArtiMuse" in updates[-1][SHOWN] or "100%" in updates[-1][SHOWN]
    assert page.holder.status.state == READY  # followed until the model it brought is ready
    assert updates[-1][STATUS].startswith("Ready: **ArtiMuse**")  # the page's status, same page
    assert updates[-1][BOX].visible is False
    status = _wait_ready(page)
    assert status.ckpt == "ArtiMuse"
    box, *_ = page.operator.view("en")
    assert box.visible is False and "Ready" in page.status("en", visitor())
    picture = CONFORMANCE_IMAGES["gray_64x64"]
    import artimuse

    direct = artimuse.load(str(hub_checkpoint), device="cpu", dtype="float32")
    assert page.holder.model.score(picture).total == direct.score(picture).total


def test_visitors_can_neither_start_nor_cancel(page, hub):
    [refused] = collect(page.operator.start("ArtiMuse", None, "en", visitor()))
    assert "Only the server's operator" in refused[SHOWN]
    assert isinstance(refused[STATUS], dict)  # gr.skip(): the operator's status is not shown
    assert collect(page.operator.reopened(None, "en", visitor())) == [(gr.skip(),) * 5]
    assert page.operator.service.progress is None and hub.requests == []
    assert "Only the server's operator" in page.operator.cancel("guess", "en", visitor())[SHOWN]
    [wrong] = collect(page.operator.start("ArtiMuse", "guess", "en", visitor()))
    assert "Only the server's operator" in wrong[SHOWN] and hub.requests == []


def test_one_download_at_a_time_followed_and_cancelled(hub, page):
    hub.hold.add("model-00002-of-00002.safetensors")
    operator = visitor()  # signed in from elsewhere: the password with every action
    panel = page.operator

    async def scenario():
        first = panel.start("ArtiMuse", "let me in", "en", operator)
        await anext(first)
        assert hub.halfway.wait(WAIT_S)
        second = await anext(panel.start("ArtiMuse", "let me in", "en", operator))
        assert "A download is already running" in second[SHOWN]
        assert second[START].interactive is False and second[CANCEL].visible is True
        assert "Only the server's operator" in panel.cancel(None, "en", visitor())[SHOWN]
        assert panel.service.running  # a visitor's cancel changed nothing
        panel.cancel("let me in", "en", operator)
        hub.release()
        return [update async for update in first]  # following ends with the download

    rest = asyncio.run(scenario())
    assert panel.service.progress.state == CANCELLED
    assert "Download cancelled" in rest[-1][SHOWN]


def test_the_panel_speaks_chinese(page):
    _, shown, *_ = page.operator.view("zh-CN")
    assert "这台服务器还没有 ArtiMuse 权重" in shown
    labels = dict((value, label) for label, value in operator_panel.choices("zh-CN"))
    assert "微调数据：AVA（摄影比赛投票）" in labels["ArtiMuse_AVA"]


def test_unknown_repo_says_so_within_seconds(page):
    start = time.monotonic()
    updates = collect(page.operator.start("ArtiMuse_TAD66K", None, "en", local()))
    assert time.monotonic() - start < MESSAGE_WITHIN_S
    assert page.operator.service.progress.state == FAILED
    assert "Download failed." in updates[-1][SHOWN]


def test_auto_download_at_start_up(hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARTIMUSE_AUTO_DOWNLOAD", "1")
    settings = Settings("checkpoints/ArtiMuse", "cpu", "float32", max_new_tokens=6)
    app = build_app(settings=settings, downloads=DownloadService(endpoint=hub.url))
    web = app.artimuse
    assert web.operator.service.wait(WAIT_S).state == DONE
    assert _wait_ready(web).state == READY
    assert (tmp_path / "checkpoints/ArtiMuse/config.json").is_file()


def test_a_hub_id_as_the_checkpoint_downloads_at_start_up(hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(HUB_REPO, "cpu", "float32", max_new_tokens=6)
    app = build_app(
        settings=settings, downloads=DownloadService(endpoint=hub.url), auto_download=False
    )
    web = app.artimuse
    assert web.operator.service.wait(WAIT_S).state == DONE
    assert _wait_ready(web).ckpt == "ArtiMuse"


def _wait_ready(web):
    """The download's on_done starts the load: wait for that load to end."""
    deadline = time.monotonic() + WAIT_S
    while web.holder.status.state != READY and time.monotonic() < deadline:
        web.holder.wait(1.0)
    return web.holder.status
