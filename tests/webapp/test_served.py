"""The served app (tiny-a on the CPU) as strangers reach it: `gradio_client` by name (the two
named endpoints, the README's example), raw `fn_index` calls of the private events, public
mode refusing what local mode allows from loopback, and a flooding visitor who cannot keep a
second one out."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.helpers import CONFORMANCE_IMAGES
from tests.webapp.helpers import GRAY, SHAPES, free_port

pytest.importorskip("gradio")

from artimuse.config import WebSettings  # noqa: E402
from artimuse.webapp.app import build_app, launch  # noqa: E402
from artimuse.webapp.state import ModelHolder  # noqa: E402

README = Path(__file__).resolve().parents[2] / "README.md"
WAIT_S = 120


def serve(holder, **options):
    app = build_app(holder, **options)
    port = free_port()
    launch(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    return app, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def public(tiny_model):
    app, url = serve(ModelHolder.with_model(tiny_model), queue_size=6, web=WebSettings(public=True))
    yield app, url
    app.close()


@pytest.fixture(scope="module")
def local_app(tiny_model):
    app, url = serve(ModelHolder.with_model(tiny_model))
    yield app, url
    app.close()


def fn_index(app, name: str) -> int:
    return next(i for i, f in app.fns.items() if getattr(f.fn, "__name__", "") == name)


def call(url: str, index: int, data: list, address: str | None = None) -> list[dict]:
    """Join the queue by `fn_index` with a made-up session, as any HTTP client can; -> the
    messages the server sent for that job."""
    session = uuid.uuid4().hex
    headers = {"X-Forwarded-For": address} if address else {}
    body = {"data": data, "fn_index": index, "session_hash": session}
    with httpx.Client(base_url=url, headers=headers, timeout=WAIT_S) as http:
        http.post("gradio_api/queue/join", json=body).raise_for_status()
        messages = []
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as s:
            for line in s.iter_lines():
                if line.startswith("data:"):
                    messages.append(json.loads(line[5:]))
                    if messages[-1].get("msg") == "process_completed":
                        break
    return messages


def outputs(messages: list[dict]) -> list:
    done = messages[-1]
    assert done["msg"] == "process_completed", done
    return done["output"].get("data", [])


def test_two_named_endpoints_typed_and_documented(public):
    from gradio_client import Client

    _, url = public
    api = Client(url, verbose=False).view_api(return_format="dict", print_info=False)
    assert sorted(api["named_endpoints"]) == ["/assess", "/score"] and not api["unnamed_endpoints"]
    assess = api["named_endpoints"]["/assess"]
    assert [p["parameter_name"] for p in assess["parameters"]] == [
        "image",
        "aspects",
        "comment_length",
    ]
    assert "REST `/infer`" in assess["description"]


def test_the_readme_example_runs_against_a_live_app(public, monkeypatch, tiny_model):
    _, url = public
    section = README.read_text(encoding="utf-8").split("### From Python: gradio_client", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(CONFORMANCE_IMAGES["gray_64x64"].parent)
    code = code.replace("http://localhost:7860/", url).replace("photo.jpg", "gray_64x64.png")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README's example
    assert namespace["scores"]["total_score"] == pytest.approx(tiny_model.score(GRAY).total, 1e-3)
    assert list(namespace["assessment"])[:3] == ["total_score", "aspect_scores", "aspect_comments"]


def test_assess_by_name_checks_what_preprocess_would_not(public):
    from gradio_client import Client, handle_file

    _, url = public
    client = Client(url, verbose=False)
    for length in (3000, 0):
        with pytest.raises(Exception, match="comment_length must be one of 12"):
            client.predict(handle_file(str(GRAY)), None, length, api_name="/assess")
    with pytest.raises(Exception, match="aspects must be a list of aspect names"):
        client.predict(handle_file(str(GRAY)), ["rm -rf"], None, api_name="/assess")
    app, _ = public  # a server path sent as the file (gradio_client would upload it instead)
    marked = {"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}
    assert call(url, fn_index(app, "score"), [marked])[-1]["success"] is False  # gradio's check
    bare = {"path": "/etc/hostname"}  # passes gradio: ours refuses it
    refused = call(url, fn_index(app, "score"), [bare])[-1]
    assert refused["success"] is False and "no longer on the server" in refused["output"]["error"]


def test_public_mode_refuses_operator_calls_by_index(public, tmp_path):
    app, url = public
    holder = app.artimuse.holder
    before = holder.status
    for ckpt in (
        str(tmp_path),
        "evil/artimuse-pwned",
        "x\nArtiMuse has moved, log in at ...",
        "a" * 2**20,
    ):
        switched = outputs(call(url, fn_index(app, "switch_checkpoint"), [ckpt, "", "en"]))
        assert switched == ["Only the server's operator may do this."]
    assert holder.status == before and holder.model is not None
    started = outputs(call(url, fn_index(app, "start"), ["ArtiMuse", "guess", "en"]))
    assert "Only the server's operator" in started[1]
    assert app.artimuse.operator.service.progress is None  # nothing was started
    page = outputs(call(url, fn_index(app, "page"), ["en"]))
    assert page[0]["visible"] is False and page[1]["choices"] == []  # no names, no paths
    assert "pytest" not in json.dumps(httpx.get(url + "config").json())  # no server path


def test_local_mode_lets_loopback_switch_and_lists_names(local_app, tmp_path):
    app, url = local_app
    page = outputs(call(url, fn_index(app, "page"), ["en"]))
    assert page[0]["visible"] is True and "tiny-a" in [c[0] for c in page[1]["choices"]]
    typo = str(tmp_path / "ArtiMsue")
    switched = outputs(call(url, fn_index(app, "switch_checkpoint"), [typo, "", "en"]))
    assert "No checkpoint at" in switched[0] and app.artimuse.holder.model is not None
    proxied = outputs(
        call(url, fn_index(app, "switch_checkpoint"), [typo, "", "en"], "198.51.100.4")
    )
    assert proxied == ["Only the server's operator may do this."]  # a proxied client is no operator


def test_a_flooding_visitor_cannot_keep_a_second_one_out(public):
    from gradio_client import Client, handle_file

    app, url = public
    holder = app.artimuse.holder
    flood = [
        Client(url, verbose=False, headers={"X-Forwarded-For": "203.0.113.9"}) for _ in range(8)
    ]
    picture = handle_file(str(SHAPES))
    with holder.lock:  # the model is busy: what the flood sends waits, or is refused at once
        jobs = [client.submit(picture, None, 12, api_name="/assess") for client in flood]
        deadline = time.monotonic() + WAIT_S
        while sum(job.done() for job in jobs) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = [job for job in jobs if job.done()]
        assert len(refused) == 4  # its address holds 4 (ARTIMUSE_CLIENT_JOBS), the rest refused
        with pytest.raises(Exception, match="You already have 4 jobs"):
            refused[0].result()
        second = Client(url, verbose=False, headers={"X-Forwarded-For": "192.0.2.1"})
        waiting = second.submit(picture, api_name="/score")  # admitted: in line behind 4
        time.sleep(0.5)
        assert not waiting.done()
    assert waiting.result(timeout=WAIT_S)["total_score"] > 0
    for job in jobs:
        if job not in refused:
            assert job.result(timeout=WAIT_S)["total_score"] > 0


def test_host_and_port_come_from_flags_then_environment(monkeypatch):
    from artimuse.webapp.app import parse_args

    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    assert (parse_args([]).host, parse_args([]).port) == ("0.0.0.0", 7860)
    monkeypatch.setenv("HOST", "127.0.0.1")
    monkeypatch.setenv("PORT", "9001")
    assert (parse_args([]).host, parse_args([]).port) == ("127.0.0.1", 9001)
    assert parse_args(["--port", "8080"]).port == 8080
    assert parse_args(["--public"]).public is True and parse_args([]).public is None
