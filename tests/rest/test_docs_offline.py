"""The REST service's documentation works without internet: /docs (Swagger UI) and /redoc
load their assets from the service itself (fastapi-offline ships them), checked in a real
Chromium with every request to another host blocked; GET / redirects to /docs."""

from __future__ import annotations

import socket
import threading

import pytest

pytest.importorskip("fastapi")
from tests.webapp.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS  # noqa: E402

OPERATIONS = ("/infer", "/score", "/infer/stream", "/score/batch", "/meta", "/health")


@pytest.fixture(scope="module")
def service_url(tiny_model):
    import uvicorn

    from artimuse.rest.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(model=tiny_model), host="127.0.0.1", port=port,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


def test_root_redirects_to_the_docs(service_url):
    import httpx

    answer = httpx.get(service_url + "/", follow_redirects=False)
    assert answer.status_code in (302, 307) and answer.headers["location"] == "/docs"
    page = httpx.get(service_url + "/docs").text
    assert "cdn" not in page.lower() and "/static-offline-docs/swagger-ui-bundle.js" in page
    assert httpx.get(service_url + "/static-offline-docs/swagger-ui-bundle.js").status_code == 200


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_render_with_other_hosts_blocked(service_url, path, tmp_path):
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    blocked = []

    def only_the_service(route):
        if route.request.url.startswith(service_url):
            return route.continue_()
        blocked.append(route.request.url)
        return route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.set_default_timeout(WAIT_MS)
        page.route("**/*", only_the_service)
        page.goto(service_url + path)
        if path == "/docs":
            page.wait_for_selector(".opblock-summary-path")
            shown = " ".join(page.locator(".opblock-summary-path").all_inner_texts())
        else:
            page.wait_for_selector("[data-section-id^='operation/']")
            shown = page.inner_text("body")
        page.screenshot(path=str(tmp_path / f"{path.strip('/')}.png"), full_page=False)
        browser.close()
    shown = shown.replace("\u200b", "")  # Swagger UI breaks long paths with these
    assert all(operation in shown for operation in OPERATIONS)
    # The only thing ever asked of another host: ReDoc's "API docs by Redocly" logo.
    assert set(blocked) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
