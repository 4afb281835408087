"""End to end in a real browser: Debian chromium, driven by playwright, against the app served
on a free port with the tiny checkpoint (loaded the way `demo_gradio.py` loads it: from the
environment, in the background)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.helpers import CONFORMANCE_IMAGES, TINY_A

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PICTURE = CONFORMANCE_IMAGES["shapes_rgba_300x500"]
WAIT_MS = 120_000  # a busy 2-core machine can be slow; the steps themselves take seconds

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def app_url():
    pytest.importorskip("gradio")
    pytest.importorskip("playwright")
    from artimuse.webapp.app import build_app, launch

    env = {
        "ARTIMUSE_CKPT": str(TINY_A),
        "ARTIMUSE_DTYPE": "float32",
        "ARTIMUSE_DEVICE": "cpu",
        "ARTIMUSE_MAX_NEW_TOKENS": "12",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        app = build_app()  # starts loading tiny-a in the background
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launch(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture()
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(WAIT_MS)
        page.goto(app_url)
        yield page
        browser.close()


def upload(page, path: Path) -> None:
    page.set_input_files("#assess-image input[type=file]", str(path))


def test_assess_in_the_browser_matches_the_api(page, tiny_model, tmp_path):
    page.wait_for_selector("#model-status .am-status.ready")

    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(PICTURE.read_bytes()[:400])
    upload(page, truncated)
    error = page.wait_for_selector("#assess-score .am-error")
    assert "truncated.png is corrupt or truncated" in error.inner_text()

    upload(page, PICTURE)  # the app keeps working after a bad file
    card = page.wait_for_selector("#assess-score [data-total]")
    page.wait_for_function(
        "n => document.querySelectorAll('#assess-comments .am-card.done').length === n", arg=8
    )
    expected = tiny_model.score(PICTURE)
    assert float(card.get_attribute("data-total")) == expected.total
    assert page.inner_text("#assess-score .am-number") == f"{expected.total:.1f}"
    shown = {
        row.get_attribute("data-aspect"): float(row.get_attribute("data-score"))
        for row in page.query_selector_all("#assess-score li[data-aspect]")
    }
    assert shown == expected.aspects
    assert page.locator("#assess-radar .js-plotly-plot").count() == 1
    assert page.locator("#assess-comments .am-card.writing").count() == 0

    page.click("#export-json")
    link = page.wait_for_selector("#export-file a")
    assert link.get_attribute("href").endswith(f"{PICTURE.stem}_{tiny_model.name}_eval.json")
    page.screenshot(path=str(tmp_path / "assess.png"), full_page=True)
