"""A first run in a real browser: the page has no weights, the user presses Download, watches
the progress (the hub stand-in holds a file half-sent until the test has seen it), the model
loads without a restart while the page's status follows it, and the user assesses a picture."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import HUB_REPO
from tests.helpers import CONFORMANCE_IMAGES
from tests.webapp.browser_checks import VISIBLE_LABELS
from tests.webapp.test_browser import CHROMIUM, CHROMIUM_ARGS, DONE, READY, WAIT_MS, shows, upload

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium"),
]
HELD = "model-00001-of-00002.safetensors"  # the last file fetched (files go smallest first)


@pytest.fixture()
def first_run(hub, tmp_path, monkeypatch):
    pytest.importorskip("gradio")
    pytest.importorskip("playwright")
    from artimuse.config import Settings
    from artimuse.loading.downloads import DownloadService
    from artimuse.webapp.app import build_app, launch

    monkeypatch.chdir(tmp_path)  # no checkpoints here
    hub.hold.add(HELD)
    settings = Settings("checkpoints/ArtiMuse", "cpu", "float32", max_new_tokens=6)
    app = build_app(
        settings=settings, downloads=DownloadService(endpoint=hub.url), auto_download=False
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launch(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", app
    hub.release()
    app.close()


def test_download_from_the_page_then_assess(first_run, hub, hub_checkpoint, tmp_path):
    from playwright.sync_api import sync_playwright

    url, app = first_run
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(WAIT_MS)
        page.goto(url)  # from loopback: the operator, so the panel is offered
        shows(page, "#download-progress", "Download")
        labels = page.evaluate(VISIBLE_LABELS)  # the switcher and the download choice both shown
        assert {"Checkpoint in use", "Checkpoint to download"} <= set(labels), labels
        assert len(labels) == len(set(labels)), labels
        page.click("#download-start")

        assert hub.halfway.wait(WAIT_MS / 1000)
        shows(page, "#download-progress", "Downloading")
        page.wait_for_function(  # the numbers: some bytes of the total, under 100%
            "t => /\\b([1-9]\\d?)% · .+ of /.test(document.querySelector(t).innerText)",
            arg="#download-progress",
        )
        assert page.is_visible("#download-cancel")
        page.screenshot(path=str(tmp_path / "downloading.png"), full_page=True)

        page.reload()  # the download is the server's: a reload finds it again
        shows(page, "#download-progress", "Downloading")

        hub.release()
        page.wait_for_selector("#download-panel", state="hidden", timeout=WAIT_MS)
        page.wait_for_function(READY)  # the status follows the load on the same page
        assert "on the CPU (comments are slow)" in page.inner_text("#model-status")

        upload(page, CONFORMANCE_IMAGES["shapes_rgba_300x500"])
        page.wait_for_function(DONE)
        import artimuse

        direct = artimuse.load(str(hub_checkpoint), device="cpu", dtype="float32")
        expected = direct.score(CONFORMANCE_IMAGES["shapes_rgba_300x500"]).total
        assert page.inner_text("#assess-score h2").startswith(f"{expected:.1f} / 100")
        page.screenshot(path=str(tmp_path / "assessed.png"), full_page=True)
        browser.close()
    assert HUB_REPO in {
        r.path.split("/resolve/")[0].strip("/") for r in hub.requests if "/resolve/" in r.path
    }
