"""The served app through `gradio_client` (tiny-a on the CPU): the streaming endpoint, the
bounded queue, and the command line."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
from PIL import Image

from artimuse.prompts import RADAR_ASPECTS
from tests.webapp.helpers import SHAPES, TOKENS, exact_total

pytest.importorskip("gradio")

from artimuse.webapp.app import build_app, launch  # noqa: E402
from artimuse.webapp.state import ModelHolder  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_model):
    holder = ModelHolder.with_model(tiny_model)
    app = build_app(holder, queue_size=1)
    port = free_port()
    launch(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    yield app, f"http://127.0.0.1:{port}/"
    app.close()


def test_streaming_endpoint_sends_scores_then_comments(served, tiny_model):
    from gradio_client import Client, handle_file

    _, url = served
    client = Client(url, verbose=False)
    job = client.submit(handle_file(str(SHAPES)), TOKENS, api_name="/assess")
    updates = list(job)
    job.result()
    cards = [str(u[0]) for u in updates]
    first_scored = next(i for i, card in enumerate(cards) if "data-total" in card)
    expected = tiny_model.score(SHAPES)
    assert exact_total(cards[first_scored]) == expected.total
    radar = json.loads(updates[first_scored][1]["plot"])
    assert radar["data"][0]["r"][:-1] == [expected.aspects[a] for a in RADAR_ASPECTS]
    final = updates[-1][4]
    assert final["complete"] and "Done in" in updates[-1][5]
    comments = tiny_model.comment(SHAPES, max_new_tokens=TOKENS)
    assert final["assessment"]["Aesthetic Attributes"] == comments


def test_a_full_queue_says_so(served, tmp_path):
    from gradio_client import Client, handle_file

    app, url = served
    holder = app.artimuse.holder
    client = Client(url, verbose=False)
    picture = tmp_path / "fresh.png"  # not cached: the job must reach the model
    Image.new("RGB", (32, 32), (10, 120, 200)).save(picture)
    with holder.lock:  # the model is busy: one job runs (and waits), one may queue, one not
        jobs = [
            client.submit(handle_file(str(picture)), TOKENS, api_name="/assess") for _ in range(3)
        ]
        deadline = time.monotonic() + 60
        while not any(job.done() for job in jobs) and time.monotonic() < deadline:
            time.sleep(0.1)
    errors = []
    for job in jobs:
        try:
            job.result(timeout=120)
        except Exception as error:  # gradio_client's error type differs between versions
            errors.append(str(error))
    assert len(errors) == 1 and re.search("(?i)queue is full", errors[0])


def test_host_and_port_come_from_flags_then_environment(monkeypatch):
    from artimuse.webapp.app import parse_args

    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    assert (parse_args([]).host, parse_args([]).port) == ("0.0.0.0", 7860)
    monkeypatch.setenv("HOST", "127.0.0.1")
    monkeypatch.setenv("PORT", "9001")
    assert (parse_args([]).host, parse_args([]).port) == ("127.0.0.1", 9001)
    assert parse_args(["--port", "8080"]).port == 8080
