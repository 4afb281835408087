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
from tests.webapp.browser_checks import (
    ACCESSIBLE_NAMES,
    LOW_CONTRAST,
    PAGE_WIDTH,
    VISIBLE_LABELS,
)

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
DONE = "document.querySelector('#assess-progress').innerText.match(/^(Done in|完成)/)"

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
    app.artimuse.shared.upload_roots = ()  # only what the browser uploads
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
        page.wait_for_function(READY)
        return page

    yield open_
    for context in contexts:
        context.close()


READY = "(document.querySelector('#model-status')?.innerText || '').match(/Ready|已就绪/)"


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("ARTIMUSE_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("screenshots")


def upload(page, path: Path, box: str = "#assess-image") -> None:
    page.set_input_files(f"{box} input[type=file]", str(path))


def shows(page, selector: str, words: str) -> None:
    """Wait until the element's text contains `words`."""
    page.wait_for_function(
        "([s, w]) => (document.querySelector(s)?.innerText || '').includes(w)",
        arg=[selector, words],
    )


def fresh_picture(folder: Path, colour: tuple) -> Path:
    """A picture no earlier test assessed, so the model (not the cache) answers."""
    path = folder / f"fresh-{'-'.join(map(str, colour))}.png"
    Image.new("RGB", (96, 64), colour).save(path)
    return path


def aspect_values(page) -> dict[str, str]:
    """The aspects gr.Label shows: name -> the percentage it prints."""
    rows = page.locator("#assess-aspects .label-row, #assess-aspects button").all_inner_texts()
    return dict(
        line.rsplit("\n", 1) if "\n" in line else (line, "") for line in map(str.strip, rows)
    )


def test_assess_in_english_matches_the_api(open_page, tiny_model, tmp_path, shots):
    page = open_page("en-US")
    assert page.inner_text("button[role=tab] >> nth=0") == "Assess"
    assert page.is_disabled("#export-json")  # nothing to export before an assessment
    assert "Model" not in page.locator("#model-panel").all_inner_texts()  # loopback: shown
    truncated = tmp_path / "truncated.png"  # an image's type, broken bytes: gradio passes it
    truncated.write_bytes(PICTURE.read_bytes()[:400])
    upload(page, truncated)  # explained in our words, once, and the box is emptied
    shows(page, "#assess-score", "truncated.png is damaged or cut short")
    page.wait_for_function("!document.querySelector('#assess-image img')")
    assert page.locator(".toast-body").count() == 0  # no second report, no gradio wording

    upload(page, PICTURE)  # the app keeps working after bad files, and the message goes
    page.wait_for_function(DONE)
    expected = tiny_model.score(PICTURE)
    assert page.inner_text("#assess-score h2").startswith(f"{expected.total:.1f} / 100")
    assert "not a picture" not in page.inner_text("#assess-score")
    comments = page.inner_text("#assess-comments")
    assert comments.index("Comprehensive Evaluation") < comments.index("Composition & Design")
    assert "Composition & Design" in page.inner_text("#assess-aspects")
    with page.expect_download() as download:
        page.click("#export-json")
    assert download.value.suggested_filename == f"{PICTURE.stem}_{tiny_model.name}_eval.json"
    page.screenshot(path=str(shots / "assess-light.png"), full_page=True)


def test_assess_without_a_picture_asks_for_one(open_page):
    for locale, words in (("en-US", "Add a picture first"), ("zh-CN", "请先添加图片")):
        page = open_page(locale)
        page.click("#assess-run")
        shows(page, "#assess-progress", words)
        labels = page.evaluate(VISIBLE_LABELS)
        assert len(labels) == len(set(labels)), labels


def test_progress_and_the_place_in_line_while_the_model_is_busy(open_page, served, tmp_path):
    holder = served[0].artimuse.holder
    first, second = open_page("en-US"), open_page("en-US")
    with holder.lock:  # the model is busy: the first job waits at its first step
        upload(first, fresh_picture(tmp_path, (200, 40, 90)))
        shows(first, "#assess-progress", "Looking at the picture")
        upload(second, fresh_picture(tmp_path, (30, 160, 90)))  # another visitor, behind it
        shows(second, "#assess-progress", "In line for the model: 1 ahead")
    for page in (first, second):
        page.wait_for_function(DONE)


def test_stop_keeps_what_was_written(open_page, served, tmp_path):
    page = open_page("en-US")
    holder = served[0].artimuse.holder
    with holder.lock:
        upload(page, fresh_picture(tmp_path, (90, 90, 200)))
        shows(page, "#assess-progress", "Looking at the picture")
        page.click("#assess-stop")  # gradio cancels the event (cancels=)
    page.wait_for_timeout(500)
    assert "Done in" not in page.inner_text("#assess-progress")
    upload(page, PICTURE)  # the session's place was given back: the next run goes through
    page.wait_for_function(DONE)


def test_chinese_page_static_and_built_texts(open_page, shots, tmp_path):
    page = open_page("zh-CN")
    tabs = page.locator("button[role=tab]")
    assert [tabs.nth(i).inner_text() for i in range(3)] == ["评估", "对比", "批量"]
    assert "已就绪" in page.inner_text("#model-status")
    upload(page, fresh_picture(tmp_path, (240, 200, 20)))
    page.wait_for_function(DONE)
    assert "构图与设计" in page.inner_text("#assess-aspects")
    assert "综合评价" in page.inner_text("#assess-comments")
    assert "模型的把握" in page.inner_text("#assess-score")
    page.screenshot(path=str(shots / "assess-zh.png"), full_page=True)


def test_phone_layout_fits_400_px(open_page, shots, tmp_path):
    page = open_page("en-US", width=400, theme="dark")
    page.click("button.gallery-item >> nth=0")  # an example picture
    page.wait_for_function(DONE)
    assert page.evaluate(PAGE_WIDTH) <= 400
    radar = page.eval_on_selector("#assess-radar .main-svg", "svg => svg.getBoundingClientRect()")
    assert 300 <= radar["width"] <= 400  # the chart takes the width
    page.screenshot(path=str(shots / "assess-phone-dark.png"), full_page=True)

    page.click("button[role=tab] >> nth=2")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    page.set_input_files("#batch-files input[type=file]", [str(PICTURE), str(notes)])
    page.click("#batch-run")
    shows(page, "#batch-summary", "1 scored")
    assert "notes.txt is not a picture" in page.inner_text("#batch-summary")
    assert PICTURE.name in page.inner_text("#batch-table")
    assert page.evaluate(PAGE_WIDTH) <= 400  # the table scrolls inside its box
    assert page.is_enabled("#batch-csv")
    page.screenshot(path=str(shots / "batch-phone-dark.png"), full_page=True)


def test_compare_names_bad_files(open_page, tmp_path):
    page = open_page("en-US")
    page.click("button[role=tab] >> nth=1")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    page.set_input_files("#compare-files input[type=file]", [str(PICTURE), str(empty)])
    page.click("#compare-run")
    shows(page, "#compare-notes", "empty.jpg is empty (0 bytes)")
    assert "add another picture" in page.inner_text("#compare-notes")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_labelled_readable_and_usable_by_keyboard(open_page, shots, theme):
    page = open_page("en-US", theme=theme)
    upload(page, PICTURE)
    page.wait_for_function(DONE)
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
    page.keyboard.press("Enter")  # for the result already on the page: it says so
    shows(page, "#assess-progress", "This picture's assessment is shown below.")
