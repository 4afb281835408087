"""The HTTP edge: web pages of other origins refused before any work unless allowed (then proper
CORS), fair shares per client against a real server, the warning for an open, keyless listener."""

from __future__ import annotations

import io
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from artimuse.config import ServiceSettings
from artimuse.rest.app import create_app, warn_if_open
from tests.rest.live import serving
from tests.rest.test_app import FakeModel


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 90)).save(buffer, "PNG")
    return buffer.getvalue()


UPLOAD = {"file": ("a.png", png(), "image/png")}
EVIL = "http://evil.example"
APP_ORIGIN = "https://app.example"


@pytest.fixture()
def model():
    return FakeModel()


def client_of(model, **settings) -> TestClient:
    return TestClient(create_app(model, ServiceSettings(**settings)), base_url="http://api.test")


def test_a_cross_site_upload_is_refused_before_any_model_work(model):
    with client_of(model) as client:
        refused = client.post("/score", files=UPLOAD, headers={"Origin": EVIL})
        assert refused.status_code == 403 and "ARTIMUSE_CORS_ORIGINS" in refused.json()["detail"]
        assert "access-control-allow-origin" not in refused.headers
        assert not model.started.is_set()  # the model never saw it
        assert client.get("/meta", headers={"Origin": "null"}).status_code == 403
        # Scripts send no Origin; the service's own pages (/docs) send their own.
        assert client.post("/score", files=UPLOAD).status_code == 200
        own = client.post("/score", files=UPLOAD, headers={"Origin": "http://api.test"})
        assert own.status_code == 200


def test_an_allowed_origin_gets_cors_answers_and_its_preflight_needs_no_key(model):
    with client_of(model, cors_origins=(APP_ORIGIN,), api_key="k") as client:
        preflight = client.options("/score", headers={
            "Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        })
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        scored = client.post("/score", files=UPLOAD, headers={
            "Origin": APP_ORIGIN, "Authorization": "Bearer k"})
        assert scored.status_code == 200
        assert scored.headers["access-control-allow-origin"] == APP_ORIGIN
        no_key = client.post("/score", files=UPLOAD, headers={"Origin": APP_ORIGIN})
        assert no_key.status_code == 401  # a page may call; it still needs the key
        assert no_key.headers["access-control-allow-origin"] == APP_ORIGIN  # readable there
        evil = client.options("/score", headers={
            "Origin": EVIL, "Access-Control-Request-Method": "POST"})
        assert evil.status_code == 403


@pytest.mark.parametrize(
    ("host", "key", "warns"),
    [("0.0.0.0", None, True), ("::", None, True), ("192.0.2.5", None, True),
     ("0.0.0.0", "k", False), ("127.0.0.1", None, False), ("localhost", None, False),
     ("::1", None, False)],
)
def test_an_open_listener_without_a_key_is_warned_about(caplog, host, key, warns):
    with caplog.at_level(logging.WARNING, logger="artimuse.rest.app"):
        warn_if_open(host, ServiceSettings(api_key=key))
    assert ("without ARTIMUSE_API_KEY" in caplog.text) == warns


class Gate(FakeModel):
    """Scores only when let through, one `release` per score: jobs pile up as in a busy server."""

    def __init__(self):
        super().__init__()
        self.permits = threading.Semaphore(0)

    def score(self, image):
        self.started.set()
        assert self.permits.acquire(timeout=30)
        return super().score(image)


def test_one_client_flooding_a_real_server_cannot_take_the_others_turn():
    model = Gate()
    app = create_app(model, ServiceSettings(queue_size=6, client_jobs=3))

    def client(address: str) -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)

    with serving(app) as (host, port), client("127.0.0.2") as flood, client("127.0.0.3") as other:
        url = f"http://{host}:{port}/score"
        with ThreadPoolExecutor(4) as pool:
            held = [pool.submit(flood.post, url, files=UPLOAD) for _ in range(3)]
            deadline = time.monotonic() + 10
            while app.state.admission.held_by("127.0.0.2") < 3:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            refused = flood.post(url, files=UPLOAD)
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
            assert "you already have 3 jobs" in refused.json()["detail"]
            turn = pool.submit(other.post, url, files=UPLOAD)  # admitted, queued behind
            deadline = time.monotonic() + 10
            while app.state.admission.held_by("127.0.0.3") < 1:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            for _ in range(4):
                model.permits.release()
            assert turn.result(30).status_code == 200
            assert [f.result(30).status_code for f in held] == [200, 200, 200]
