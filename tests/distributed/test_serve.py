"""`artimuse serve`: the REST service on Ray Serve with 2 CPU replicas, against the one-process
service: the same answers and refusals, from both replicas, each response naming its replica."""

from __future__ import annotations

import asyncio
import io
import socket
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from artimuse.config import ServiceSettings, Settings
from artimuse.errors import ItemFailed
from artimuse.inference.work_queue import WorkQueue
from artimuse.rest.app import create_app
from tests.helpers import CONFORMANCE_IMAGES, TINY_A

pytest.importorskip("ray.serve", reason='Ray Serve is not installed: pip install "artimuse[ray]"')
pytestmark = pytest.mark.ray
KEY = "serve-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SETTINGS = ServiceSettings(model=Settings(str(TINY_A), "cpu", "float32", 12), api_key=KEY)


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 20), colour).save(buffer, "PNG")
    return buffer.getvalue()


UPLOADS = {
    "gradient": CONFORMANCE_IMAGES["gradient_640x480_q95"].read_bytes(),
    "red": png((200, 40, 40)),
    "not-an-image": b"hello, not an image",
    "corrupt": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(local_ray):
    """2 replicas of 1 CPU each behind Serve's proxy on a free local port; stopped after."""
    from ray import serve

    from artimuse.distributed.cluster import Workers
    from artimuse.distributed.serve import deploy

    port = free_port()
    deploy(SETTINGS, Workers(2, 1, 0), host="127.0.0.1", port=port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        serve.shutdown()


@pytest.fixture(scope="module")
def alone(tiny_model):
    """The one-process service, on one torch thread as each replica (1 CPU) computes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with TestClient(create_app(tiny_model, SETTINGS)) as client:
            yield client
    finally:
        torch.set_num_threads(threads)


def post(client, path: str, name: str, headers=AUTH):
    return client.post(path, files={"file": (f"{name}.png", UPLOADS[name])}, headers=headers)


def test_both_replicas_answer_and_answers_are_the_one_process_services(served, alone):
    replicas, tries = set(), 0
    while len(replicas) < 2 and tries < 40:  # the router picks at random between idle replicas
        for name in ("gradient", "red"):
            answer, want = post(served, "/score", name), post(alone, "/score", name)
            assert (answer.status_code, answer.json()) == (200, want.json())
            replicas.add(answer.headers["X-Replica"])
        tries += 1
    assert len(replicas) == 2

    answer, want = post(served, "/infer", "gradient"), post(alone, "/infer", "gradient")
    assert (answer.status_code, answer.json()) == (200, want.json())  # comments token for token
    meta = served.get("/meta", headers=AUTH).json()
    assert meta["limits"] == alone.get("/meta", headers=AUTH).json()["limits"]


@pytest.mark.parametrize(
    ("path", "name", "headers"),
    [
        ("/score", "not-an-image", AUTH),
        ("/score", "corrupt", AUTH),
        ("/score/batch", "corrupt", AUTH),
        ("/score", "red", {}),
        ("/score", "red", {"Authorization": "Bearer wrong"}),
        ("/nowhere", "red", AUTH),
    ],
    ids=["not-image", "corrupt", "batch-corrupt", "no-key", "wrong-key", "no-route"],
)
def test_refusals_are_the_one_process_services(served, alone, path, name, headers):
    if path == "/score/batch":
        files = [("files", ("a.png", UPLOADS[name])), ("files", ("b.png", UPLOADS["red"]))]
        answer = served.post(path, files=files, headers=headers)
        want = alone.post(path, files=files, headers=headers)
    else:
        answer, want = post(served, path, name, headers), post(alone, path, name, headers)
    assert (answer.status_code, answer.json()) == (want.status_code, want.json())
    assert answer.headers["X-Replica"]  # refusals too name the replica


def test_score_requests_that_arrive_together_are_all_answered(served, alone):
    names = ["gradient", "red", "corrupt", "red", "gradient", "red"]
    with ThreadPoolExecutor(len(names)) as pool:
        answers = list(pool.map(lambda name: post(served, "/score", name), names))
    for name, answer in zip(names, answers, strict=True):
        want = post(alone, "/score", name)
        assert answer.status_code == want.status_code
        if want.status_code == 200:  # batched with others: equal to the 3rd decimal
            assert answer.json()["total_score"] == pytest.approx(
                want.json()["total_score"], abs=2e-3
            )
        else:
            assert answer.json() == want.json()


def test_requests_that_arrive_together_make_one_engine_call(tiny_model, monkeypatch):
    import ray.serve.batching

    from artimuse.distributed.serve import BatchedScorer

    # Outside a replica, `@serve.batch` only lacks the replica context it reads one limit from
    # (to warn when max_ongoing_requests is below the batch size): give it that limit.
    config = SimpleNamespace(_deployment_config=SimpleNamespace(max_ongoing_requests=16))
    monkeypatch.setattr(ray.serve.batching.serve, "get_replica_context", lambda: config)
    calls = []

    class Counting:
        def score_prepared(self, items, aspects=False):
            calls.append(len(items))
            results = tiny_model.score_prepared(items, aspects)
            return [
                ItemFailed("scoring failed: a bug") if i == 1 else r for i, r in enumerate(results)
            ]

    async def three_at_once():
        state = SimpleNamespace(model=Counting(), queue=WorkQueue())
        scorer = BatchedScorer(SimpleNamespace(state=state))
        uploads = [tiny_model.prepare(UPLOADS[name]) for name in ("red", "gradient", "red")]
        return await asyncio.gather(*map(scorer, uploads), return_exceptions=True)

    red, failed, again = asyncio.run(three_at_once())
    assert calls == [3]
    assert red.total == pytest.approx(tiny_model.score(UPLOADS["red"]).total, abs=1e-3)
    assert again.total == red.total and len(red.aspects) == 7
    assert isinstance(failed, RuntimeError)  # the app's handler: 500 "internal error"
