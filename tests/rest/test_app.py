"""The REST service: every endpoint on the tiny checkpoint, every refusal, auth, a full queue."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from artimuse.images import open_image
from artimuse.inference.admission import Admission, QueueFull
from artimuse.inference.work_queue import WorkQueue
from artimuse.prompts import ASPECTS, COMPREHENSIVE, RADAR_ASPECTS
from artimuse.rest.app import ServiceSettings, create_app
from artimuse.rest.uploads import UploadLimits, sniff_format
from artimuse.results import Scores


def png(width: int = 16, height: int = 16, colour=(200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


class FakeModel:
    """Stands in for `ArtiMuse` where the test is about the service, not the model."""

    name, device, dtype, max_new_tokens = "fake", torch.device("cpu"), torch.float32, 4
    path = Path("checkpoints/fake")

    def __init__(self, block: bool = False, fail: bool = False):
        self.block, self.fail = block, fail
        self.started, self.release = threading.Event(), threading.Event()

    def prepare(self, image, name=None):
        return open_image(image, name)

    def score_prepared(self, images) -> list[Scores]:
        return [self.score(image) for image in images]

    def score(self, image) -> Scores:
        open_image(image)
        self.started.set()
        if self.block:
            self.release.wait(10)
        if self.fail:
            raise RuntimeError("secret internals /home/user/model.py line 42")
        distribution = tuple(1.0 if k == 50 else 0.0 for k in range(101))
        return Scores(50.0, distribution, dict.fromkeys(RADAR_ASPECTS, 50.0))


def service(model, client: str = "testclient", **settings) -> TestClient:
    """The service on `model`; its requests come from the address `client`."""
    return TestClient(create_app(model, ServiceSettings(**settings)), client=(client, 50000))


@pytest.fixture(scope="module")
def tiny(tiny_model):
    with service(tiny_model) as client:
        yield client


@pytest.fixture(scope="module")
def expected(tiny_model):
    return tiny_model.score(png())


# --- endpoints on the tiny checkpoint ------------------------------------------------------


def test_health_and_meta(tiny):
    health = tiny.get("/health").json()
    assert health["status"] == "ok" and health["model_loaded"] is True
    meta = tiny.get("/meta").json()
    assert meta["dimensions"] == list(RADAR_ASPECTS) and meta["aspects"] == list(ASPECTS)
    assert (meta["device"], meta["dtype"], meta["checkpoint"]) == ("cpu", "float32", "tiny-a")
    assert meta["version"] and meta["limits"]["max_upload_bytes"] == 20 * 2**20


def test_score(tiny, expected):
    body = tiny.post("/score", files={"file": ("a.png", png(), "image/png")}).json()
    assert body["total_score"] == round(expected.total, 3)
    assert list(body["aspect_scores"]) == list(RADAR_ASPECTS)
    assert len(body["score_distribution"]) == 101
    assert sum(body["score_distribution"]) == pytest.approx(1, abs=1e-4)
    assert "aspect_comments" not in body


def test_infer_has_the_seed_keys_and_the_extras(tiny, expected):
    body = tiny.post("/infer", files={"file": ("a.png", png())}).json()
    assert list(body)[:3] == ["total_score", "aspect_scores", "aspect_comments"]
    assert body["total_score"] == round(expected.total, 3)
    assert list(body["aspect_comments"]) == list(RADAR_ASPECTS)
    assert isinstance(body["comprehensive_evaluation"], str)
    assert len(body["score_distribution"]) == 101 and body["score_std"] > 0


def test_infer_stream_events(tiny, expected):
    with tiny.stream("POST", "/infer/stream", files={"file": ("a.png", png())}) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in response.iter_lines() if line]
    kinds = [e["event"] for e in events]
    assert all(list(e)[0] == "event" for e in events)
    assert kinds[0] == "scores" and kinds[-1] == "done"
    assert events[0]["total_score"] == round(expected.total, 3)
    done = events[-1]
    for aspect in ASPECTS:
        deltas = "".join(e["delta"] for e in events if e.get("aspect") == aspect and "delta" in e)
        final = next(e for e in events if e["event"] == "comment_done" and e["aspect"] == aspect)
        shown = done["aspect_comments"].get(aspect, done["comprehensive_evaluation"])
        assert deltas == final["comment"] == shown, aspect
    assert COMPREHENSIVE not in done["aspect_comments"]


def test_score_batch_scores_good_files_and_names_bad_ones(tiny, expected):
    files = [
        ("files", ("a.png", png())),
        ("files", ("notes.txt", b"just text")),
        ("files", ("cut.png", png()[:60])),
        ("files", ("b.png", png())),
    ]
    body = tiny.post("/score/batch", files=files).json()
    assert (body["count"], body["failed"]) == (4, 2)
    results = body["results"]
    assert [r["status"] for r in results] == [200, 415, 422, 200]
    assert [r["filename"] for r in results] == ["a.png", "notes.txt", "cut.png", "b.png"]
    assert results[0]["total_score"] == pytest.approx(round(expected.total, 3), abs=1e-3)
    assert "truncated" in results[2]["detail"]


def test_openapi_docs(tiny):
    assert tiny.get("/docs").status_code == 200
    paths = tiny.get("/openapi.json").json()["paths"]
    assert {"/infer", "/score", "/infer/stream", "/score/batch", "/meta", "/health"} <= set(paths)


# --- refusals ------------------------------------------------------------------------------


@pytest.fixture()
def fake():
    with service(FakeModel(), limits=UploadLimits(max_bytes=4096, max_files=3)) as client:
        yield client


def test_format_is_sniffed_from_the_bytes_not_the_name(fake, caplog):
    text = PngInfo()
    text.add_text("comment", "SECRET-PAYLOAD")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG", pnginfo=text)
    caplog.set_level(logging.DEBUG)
    ok = fake.post("/score", files={"file": ("photo.txt", buffer.getvalue(), "text/plain")})
    assert ok.status_code == 200
    assert "'photo.txt': PNG" in caplog.text and "SECRET-PAYLOAD" not in caplog.text
    refused = fake.post(
        "/score", files={"file": ("photo.png", b"SECRET-PAYLOAD " * 9, "image/png")}
    )
    assert refused.status_code == 415
    assert "not a supported image" in refused.json()["detail"]
    assert "SECRET-PAYLOAD" not in refused.text


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (png()[:60], "corrupt or truncated"),
        (animated_gif(), "animated"),
        (png(40, 40), "too large"),  # ARTIMUSE_MAX_PIXELS=1000 below
    ],
    ids=["empty", "truncated", "animated", "too-many-pixels"],
)
def test_unusable_images_are_422_with_the_reason(fake, monkeypatch, data, words):
    monkeypatch.setenv("ARTIMUSE_MAX_PIXELS", "1000")
    response = fake.post("/score", files={"file": ("x.png", data)})
    assert response.status_code == 422 and words in response.json()["detail"]


def test_missing_field_is_422_without_echo(fake):
    response = fake.post("/score", data={"image": "SECRET-PAYLOAD"})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["loc"] == ["body", "file"] and "file" in body["detail"]
    assert "SECRET-PAYLOAD" not in response.text


def test_too_large_by_content_length_and_by_file(fake):
    whole = fake.post("/score", files={"file": ("big.png", png()[:8] + bytes(200_000))})
    assert whole.status_code == 413 and "ARTIMUSE_MAX_UPLOAD_MB" in whole.json()["detail"]
    one = fake.post("/score", files={"file": ("big.png", png()[:8] + bytes(5000))})
    assert one.status_code == 413 and "4,096 bytes per image" in one.json()["detail"]


def test_too_large_without_content_length_is_cut_off_while_reading(fake):
    head = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
    )
    body = head + png()[:8] + bytes(300_000) + b"\r\n--b--\r\n"
    chunks = (body[i : i + 16384] for i in range(0, len(body), 16384))
    headers = {"content-type": "multipart/form-data; boundary=b"}
    response = fake.post("/score", content=chunks, headers=headers)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]


def test_too_many_files_in_a_batch(fake):
    files = [("files", (f"{i}.png", png())) for i in range(4)]
    response = fake.post("/score/batch", files=files)
    assert response.status_code == 422 and "ARTIMUSE_MAX_BATCH" in response.json()["detail"]
    empty = fake.post("/score/batch", files={"other": ("a.png", png())})
    assert empty.status_code == 422 and "files" in empty.json()["detail"]


def test_internal_errors_say_nothing_more():
    app = create_app(FakeModel(fail=True), ServiceSettings())
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/score", files={"file": ("a.png", png())})
    assert response.status_code == 500 and response.json() == {"detail": "internal error"}


def test_model_not_loaded_yet_is_503():
    client = TestClient(create_app(None, ServiceSettings()))  # no `with`: lifespan not run
    assert client.get("/health").json()["model_loaded"] is False
    assert client.post("/score", files={"file": ("a.png", png())}).status_code == 503


# --- auth and the queue --------------------------------------------------------------------


def test_api_key_guards_everything_but_health():
    with service(FakeModel(), api_key="s3cret") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/meta").status_code == 401
        assert client.get("/docs").status_code == 401
        wrong = client.post(
            "/score", files={"file": ("a.png", png())}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
        assert "API key" in wrong.json()["detail"]
        good = {"Authorization": "Bearer s3cret"}
        assert client.get("/meta", headers=good).status_code == 200
        scored = client.post("/score", files={"file": ("a.png", png())}, headers=good)
        assert scored.status_code == 200


def test_without_api_key_no_auth_is_asked(fake):
    assert fake.get("/meta").status_code == 200


def test_full_queue_is_503_with_retry_after():
    model = FakeModel(block=True)
    app = create_app(model, ServiceSettings(queue_size=1))
    with TestClient(app, client=("192.0.2.1", 1)) as first_client, ThreadPoolExecutor(1) as pool:
        other = TestClient(app, client=("192.0.2.2", 2))  # shares the app's started state
        first = pool.submit(first_client.post, "/score", files={"file": ("a.png", png())})
        assert model.started.wait(10)
        busy = other.post("/score", files={"file": ("b.png", png())})
        assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1
        assert "busy" in busy.json()["detail"]
        model.release.set()
        assert first.result(10).status_code == 200
        assert other.post("/score", files={"file": ("c.png", png())}).status_code == 200


def test_one_client_past_its_share_is_429_and_others_still_get_in():
    model = FakeModel(block=True)
    app = create_app(model, ServiceSettings(queue_size=4, client_jobs=2))
    flooding, polite = (TestClient(app, client=(host, 1)) for host in ("192.0.2.1", "192.0.2.2"))
    with flooding, ThreadPoolExecutor(2) as pool:
        held = [pool.submit(flooding.post, "/score", files={"file": (f"{i}.png", png())})
                for i in range(2)]
        assert model.started.wait(10)
        deadline = time.monotonic() + 10
        while app.state.admission.held_by("192.0.2.1") < 2:  # both admitted (one waits)
            assert time.monotonic() < deadline
            time.sleep(0.005)
        third = flooding.post("/score", files={"file": ("c.png", png())})
        assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1
        assert "you already have 2 jobs" in third.json()["detail"]
        admitted = app.state.admission.admit("192.0.2.2")  # the other client still gets a slot
        admitted.release()
        model.release.set()
        assert [f.result(10).status_code for f in held] == [200, 200]
        assert polite.post("/score", files={"file": ("d.png", png())}).status_code == 200


def test_closing_a_stream_stops_its_producer_and_frees_the_worker():
    closed = threading.Event()
    produced = []

    def events():  # a slow producer (10 ms an item, up to 10 s) that holds its slot until stopped
        try:
            for item in range(1000):
                produced.append(item)
                yield item
                time.sleep(0.01)
        finally:
            closed.set()

    async def scenario():
        queue, admission = WorkQueue(), Admission(capacity=1)
        with admission.admit("a"):  # as the REST service holds a stream's pass
            stream = queue.stream(events)
            assert await anext(stream) == 0
            with pytest.raises(QueueFull):
                admission.admit("b")
            await stream.aclose()
        assert admission.pending == 0
        assert await queue.run(lambda: "next") == "next"  # the worker is free again
        queue.shutdown()

    asyncio.run(scenario())
    assert closed.is_set() and len(produced) < 1000


def test_sniffing_knows_the_usual_formats():
    for kind in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"):
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4)).save(buffer, kind)
        assert sniff_format(buffer.getvalue()).upper() == kind
    assert sniff_format(b"<svg") is None and sniff_format(b"") is None
