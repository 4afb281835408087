"""End to end in a real browser: Debian chromium, driven by playwright, against the app served
on a free port with the tiny checkpoint (loaded the way `demo_gradio.py` loads it: from the
environment, in the background), in English and Chinese, on a desktop and a 400 px phone.

Screenshots go to $ARTIMUSE_SCREENSHOTS when set (to look at them), else to a temporary folder.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import CONFORMANCE_IMAGES, TINY_A
from tests.webapp.browser_checks import ACCESSIBLE_NAMES, LOW_CONTRAST, PAGE_WIDTH

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
DONE = "n => document.querySelectorAll('#assess-comments .am-card.done').length === n"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def served():
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
    yield app, f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def open_page(served, browser):
    """open_page(locale, width, theme) -> a page of the app, model ready."""
    contexts = []

    def open_(locale="en-US", width=1400, theme="light"):
        context = browser.new_context(viewport={"width": width, "height": 1000}, locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(f"{served[1]}?__theme={theme}")
        page.wait_for_selector("#model-status .am-status.ready")
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("ARTIMUSE_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("screenshots")


def upload(page, path: Path, box: str = "#assess-image") -> None:
    page.set_input_files(f"{box} input[type=file]", str(path))


def fresh_picture(folder: Path, colour: tuple) -> Path:
    """A picture no earlier test assessed, so the model (not the cache) answers."""
    path = folder / f"fresh-{'-'.join(map(str, colour))}.png"
    Image.new("RGB", (96, 64), colour).save(path)
    return path


def test_assess_in_english_matches_the_api(open_page, tiny_model, tmp_path, shots):
    page = open_page("en-US")
    assert page.inner_text("button[role=tab] >> nth=0") == "Assess"
    page.click("#export-json")  # before any assessment: the page says why nothing downloads
    assert "nothing to export yet" in page.inner_text("#export-note .am-notice")

    notes = tmp_path / "notes.txt"
    notes.write_text("these are words, not pixels")
    upload(page, notes)  # a text file: explained in our words, once, and the box is emptied
    error = page.wait_for_selector("#assess-score .am-error")
    assert "notes.txt is not a picture in a format we can read" in error.inner_text()
    page.wait_for_function("!document.querySelector('#assess-image img')")
    assert page.locator(".toast-body").count() == 0  # no second report, no gradio wording

    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(PICTURE.read_bytes()[:400])
    upload(page, truncated)
    page.wait_for_function(
        "document.querySelector('#assess-score').innerText.includes('truncated.png is damaged')"
    )
    upload(page, PICTURE)  # the app keeps working after bad files, and the message goes
    card = page.wait_for_selector("#assess-score [data-total]")
    page.wait_for_function(DONE, arg=8)
    expected = tiny_model.score(PICTURE)
    assert float(card.get_attribute("data-total")) == expected.total
    assert page.inner_text("#assess-score .am-number") == f"{expected.total:.1f}"
    shown = {
        row.get_attribute("data-aspect"): float(row.get_attribute("data-score"))
        for row in page.query_selector_all("#assess-score li[data-aspect]")
    }
    assert shown == expected.aspects
    assert page.locator("#assess-score .am-error").count() == 0
    page.wait_for_function(
        "document.querySelector('#assess-progress').innerText.includes('Done in')"
    )
    assert page.inner_text("#assess-run") == "Assess"

    page.click("#export-json")
    link = page.wait_for_selector("#export-file a")
    assert link.get_attribute("href").endswith(f"{PICTURE.stem}_{tiny_model.name}_eval.json")
    page.screenshot(path=str(shots / "assess-light.png"), full_page=True)


def test_progress_and_the_queue_position_while_the_model_is_busy(open_page, served, tmp_path):
    holder = served[0].artimuse.holder
    first, second = open_page("en-US"), open_page("en-US")
    with holder.lock:  # the model is busy: the first job waits at its first step
        upload(first, fresh_picture(tmp_path, (200, 40, 90)))
        first.wait_for_function(
            "document.querySelector('#assess-progress').innerText.includes('Looking at the')"
        )  # the job reached the model, which is busy
        assert first.inner_text("#assess-run") == "Assessing…"
        upload(second, fresh_picture(tmp_path, (30, 160, 90)))  # another visitor, behind it
        second.wait_for_function(
            "/queue: ?\\d+\\/\\d+/.test(document.querySelector('#assess-progress').innerText)"
        )
        assert "In line for the model" in second.inner_text("#assess-progress")
        assert second.inner_text("#assess-run") == "Assessing…"
    for page in (first, second):
        page.wait_for_function(DONE, arg=8)
        page.wait_for_function(
            "document.querySelector('#assess-progress').innerText.includes('Done in')"
        )
        assert page.inner_text("#assess-run") == "Assess"


def test_chinese_page_and_the_language_switch(open_page, shots, tmp_path):
    page = open_page("zh-CN")
    tabs = page.locator("button[role=tab]")
    assert [tabs.nth(i).inner_text() for i in range(3)] == ["评估", "对比", "批量"]
    page.wait_for_function("document.querySelector('#model-status').innerText.includes('已就绪')")
    upload(page, fresh_picture(tmp_path, (240, 200, 20)))
    page.wait_for_function(DONE, arg=8)
    assert "构图与设计" in page.inner_text("#assess-score")
    assert "综合评价" in page.inner_text("#assess-comments")
    page.wait_for_function("document.querySelector('#assess-progress').innerText.includes('完成')")
    page.screenshot(path=str(shots / "assess-zh.png"), full_page=True)

    page.get_by_label("English").check()  # the switch: static texts and panels follow
    page.wait_for_function("document.querySelector('button[role=tab]').innerText === 'Assess'")
    page.wait_for_function(
        "document.querySelector('#assess-score').innerText.includes('Composition & Design')"
    )
    page.wait_for_function("document.querySelector('#model-status').innerText.includes('Ready:')")
    assert "Comprehensive Evaluation" in page.inner_text("#assess-comments")
    page.reload()  # the choice is remembered over the browser's language
    page.wait_for_selector("#model-status .am-status.ready")
    page.wait_for_function("document.querySelector('button[role=tab]').innerText === 'Assess'")
    assert page.get_by_label("English").is_checked()
    page.get_by_label("简体中文").check()
    page.wait_for_function("document.querySelector('button[role=tab]').innerText === '评估'")


def test_phone_layout_fits_400_px(open_page, shots, tmp_path):
    page = open_page("en-US", width=400)
    page.click("button.gallery-item[aria-label='sunset.jpg']")  # an example picture
    page.wait_for_function(DONE, arg=8)
    assert page.evaluate(PAGE_WIDTH) <= 400
    page.hover("#assess-radar")  # plotly shows its toolbar on hover, when it has one
    toolbars = page.eval_on_selector_all(
        ".am-plot .modebar-container", "bars => bars.map(b => getComputedStyle(b).display)"
    )
    assert set(toolbars) <= {"none"}  # nothing over the chart titles
    radar = page.eval_on_selector("#assess-radar .main-svg", "svg => svg.getBoundingClientRect()")
    assert radar["width"] <= 400 and radar["width"] >= 300  # the chart takes the width
    page.screenshot(path=str(shots / "assess-phone.png"), full_page=True)

    page.click("button[role=tab] >> nth=2")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    page.set_input_files("#batch-files input[type=file]", [str(PICTURE), str(notes)])
    page.click("#batch-run")
    page.wait_for_selector("#batch-table .am-batch tbody tr")
    scroll = page.eval_on_selector(
        "#batch-table .am-scroll", "box => [box.scrollWidth, box.clientWidth]"
    )
    assert scroll[0] > scroll[1]  # the table is wider than the phone and scrolls in its box
    assert page.is_visible("#batch-table .am-scroll-hint")
    assert "notes.txt is not a picture" in page.inner_text("#batch-table")
    assert page.evaluate(PAGE_WIDTH) <= 400
    page.screenshot(path=str(shots / "batch-phone.png"), full_page=True)


def test_compare_names_bad_files_and_downloads_before_scoring(open_page, tmp_path):
    page = open_page("en-US")
    page.click("button[role=tab] >> nth=1")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    page.set_input_files("#compare-files input[type=file]", [str(PICTURE), str(empty)])
    page.click("#compare-run")
    page.wait_for_selector("#compare-table .am-error")
    table = page.inner_text("#compare-table")
    assert "empty.jpg is empty (0 bytes)" in table and "add another picture" in table
    page.click("button[role=tab] >> nth=2")
    page.click("#batch-csv")
    page.wait_for_selector("#batch-note .am-notice")
    assert "nothing to download yet" in page.inner_text("#batch-note")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_labelled_readable_and_usable_by_keyboard(open_page, shots, theme):
    page = open_page("en-US", theme=theme)
    upload(page, PICTURE)
    page.wait_for_function(DONE, arg=8)
    unnamed, low = page.evaluate(ACCESSIBLE_NAMES), page.evaluate(LOW_CONTRAST)
    assert not unnamed, "\n".join(unnamed)
    assert not low, "\n".join(low)
    page.screenshot(path=str(shots / f"assess-{theme}-a11y.png"), full_page=True)
    # Keyboard only: Tab reaches Assess, Enter runs it (the answer comes from the cache).
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "assess-run":
            break
    else:
        pytest.fail("Tab never reached the Assess button")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#assess-progress').innerText.includes('earlier run')"
    )
    focusable = page.eval_on_selector_all(
        "#assess-comments .am-card p", "ps => ps.every(p => p.tabIndex === 0)"
    )
    assert focusable  # a long comment scrolls from the keyboard too
