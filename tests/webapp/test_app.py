"""The web app's handlers, state and exports without a browser, and its streaming endpoint
through `gradio_client` (tiny-a on the CPU)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import socket
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from artimuse.config import Settings
from artimuse.prompts import ASPECTS, COMPREHENSIVE, RADAR_ASPECTS
from artimuse.serialization import assessment_json
from tests.helpers import CONFORMANCE_IMAGES

gr = pytest.importorskip("gradio")

from artimuse.webapp import handlers as webapp_handlers  # noqa: E402
from artimuse.webapp.app import build_app, launch  # noqa: E402
from artimuse.webapp.handlers import Handlers  # noqa: E402
from artimuse.webapp.state import (  # noqa: E402
    FAILED,
    READY,
    ModelHolder,
    ResultCache,
    RunTickets,
    list_checkpoints,
)

TOKENS = 3  # comments of 3 tokens: the streaming path, at a fraction of the cost
GRADIENT = CONFORMANCE_IMAGES["gradient_640x480_q95"]
SHAPES = CONFORMANCE_IMAGES["shapes_rgba_300x500"]
GRAY = CONFORMANCE_IMAGES["gray_64x64"]


@pytest.fixture(scope="module")
def handlers(tiny_model, tmp_path_factory) -> Handlers:
    holder = ModelHolder.with_model(tiny_model)
    return Handlers(holder, export_dir=tmp_path_factory.mktemp("exports"), batch_size=2)


@pytest.fixture(scope="module")
def api_scores(tiny_model):
    """The Python API's scores of the conformance images, computed once."""
    return {path: tiny_model.score(path) for path in (GRADIENT, SHAPES, GRAY)}


@pytest.fixture(scope="module")
def streamed(handlers) -> list[tuple]:
    """Every page update of one streamed assessment of the gradient image."""
    return list(handlers.assess(str(GRADIENT), TOKENS))


def exact_total(html: str) -> float:
    return float(re.search(r'data-total="([^"]+)"', html).group(1))


def exact_aspects(html: str) -> dict[str, float]:
    pairs = re.findall(r'data-aspect="([^"]+)" data-score="([^"]+)"', html)
    return {aspect.replace("&amp;", "&"): float(score) for aspect, score in pairs}


# ---- Assess --------------------------------------------------------------------------------


def test_scores_arrive_before_any_comment_and_equal_the_api(streamed, api_scores):
    first_scored = next(i for i, out in enumerate(streamed) if "data-total" in str(out[0]))
    assert all("am-card writing" not in str(out[3]) for out in streamed[: first_scored + 1])
    assert any("am-card writing" in str(out[3]) for out in streamed[first_scored + 1 :])

    card, radar, distribution, _, _ = streamed[first_scored]
    expected = api_scores[GRADIENT]
    assert exact_total(card) == expected.total
    assert exact_aspects(card) == expected.aspects
    assert f"{expected.total:.1f}" in card and expected.band in card
    trace = radar.data[0]
    assert list(trace.r[:-1]) == [expected.aspects[a] for a in RADAR_ASPECTS]
    assert distribution.data[0].y == tuple(100 * p for p in expected.distribution)


def test_final_result_is_the_api_assessment(streamed, tiny_model):
    result = streamed[-1][4]
    assert result["complete"] and result["image"] == GRADIENT.name
    expected = tiny_model.assess(GRADIENT, max_new_tokens=TOKENS)
    assert result["assessment"] == assessment_json(expected)
    cards = streamed[-1][3]
    assert cards.count("am-card done") == len(ASPECTS) and "am-card writing" not in cards
    assert cards.index(COMPREHENSIVE) < cards.index(html.escape(RADAR_ASPECTS[0]))  # verdict first


def test_repeated_image_comes_from_the_cache(handlers, streamed):
    hits = handlers.cache.hits
    again = list(handlers.assess({"path": str(GRADIENT), "orig_name": "again.jpg"}, TOKENS))
    assert handlers.cache.hits == hits + 1
    assert again[-1][4]["assessment"] == streamed[-1][4]["assessment"]
    assert len(again) == 2  # "looking at the picture", then the cached result


def bad_uploads(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, words the message must contain)."""
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(png, "PNG")
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = folder / "moving.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100)
    files = {
        "notes.txt": (b"these are words, not pixels", "not an image"),
        "empty.png": (b"", "empty"),
        "cut.png": (png.getvalue()[: len(png.getvalue()) // 2], "truncated"),
    }
    out = {}
    for name, (data, words) in files.items():
        (folder / name).write_bytes(data)
        out[name] = (folder / name, words)
    out["moving.gif"] = (gif, "animated")
    return out


@pytest.mark.filterwarnings("ignore::UserWarning")  # gr.Warning outside a server
def test_bad_uploads_get_their_message_and_the_app_keeps_working(handlers, tmp_path, monkeypatch):
    for name, (path, words) in bad_uploads(tmp_path).items():
        [(card, *_)] = list(handlers.assess({"path": str(path), "orig_name": name}, TOKENS))
        assert "am-error" in card and words in card and name in card
    monkeypatch.setenv("ARTIMUSE_MAX_PIXELS", "1000")  # the pixel limit, as a bomb hits it
    [(card, *_)] = list(handlers.assess(str(GRAY), TOKENS))
    assert "am-error" in card and "too large" in card
    monkeypatch.delenv("ARTIMUSE_MAX_PIXELS")
    good = list(handlers.assess(str(GRADIENT), TOKENS))
    assert good[-1][4]["complete"]


def test_no_image_shows_the_invitation(handlers):
    [(card, radar, *_)] = list(handlers.assess(None))
    assert "am-empty" in card and not [t for t in radar.data if t.mode != "lines"]


def test_stop_ends_the_stream_and_keeps_what_was_written(handlers, monkeypatch):
    # every delta an update: on a fast machine the throttle would let the tiny model finish
    monkeypatch.setattr(webapp_handlers, "STREAM_INTERVAL_S", 0.0)
    request = SimpleNamespace(session_hash="s1")
    run = handlers.assess(str(SHAPES), 40, handlers.new_run(request), request)
    outputs = [next(run) for _ in range(4)]  # looking, scores, and two streamed updates
    written = outputs[-1][4]["assessment"]["Aesthetic Attributes"]
    assert "am-card writing" in outputs[-1][3] and any(written.values())
    handlers.new_run(request)  # what Stop (and a new picture) does, outside the queue
    [(card, radar, distribution, cards, result)] = list(run)  # one last update, then the end
    assert "am-card writing" not in cards and "am-card stopped" in cards and "… stopped" in cards
    assert not result["complete"]
    kept = result["assessment"]["Aesthetic Attributes"]
    assert all(kept[aspect].startswith(text) for aspect, text in written.items())


def test_a_job_stopped_while_queued_does_not_run(handlers):
    request = SimpleNamespace(session_hash="s2")
    stale = handlers.new_run(request)
    handlers.new_run(request)  # Stop, or a newer picture, before the job left the queue
    assert list(handlers.assess(str(SHAPES), 40, stale, request)) == []


# ---- Export --------------------------------------------------------------------------------


def test_exports_seed_json_with_scores_and_markdown(handlers, streamed, tiny_model):
    result = streamed[-1][4]
    path = Path(handlers.export_json(result).value["path"])
    assert path.name == f"{GRADIENT.stem}_{tiny_model.name}_eval.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["Aesthetic Score"] == result["assessment"]["Aesthetic Score"]
    assert list(data["Aesthetic Attributes"]) == list(ASPECTS)
    assert set(data["Aspect Scores"]) == set(RADAR_ASPECTS)
    assert len(data["Score Distribution"]) == 101
    markdown = Path(handlers.export_markdown(result).value["path"]).read_text(encoding="utf-8")
    assert f"{data['Aesthetic Score']:.1f} / 100" in markdown and f"## {COMPREHENSIVE}" in markdown
    with pytest.raises(ValueError, match="no assessment"):
        handlers.export_json(None)


# ---- Compare and Batch ---------------------------------------------------------------------


def test_compare_marks_the_best_per_aspect(handlers, api_scores):
    outputs = list(handlers.compare([str(GRADIENT), str(SHAPES), str(GRAY)]))
    radar, table, comments = outputs[-1]
    assert len(radar.data) == 3 and len({t.line.color for t in radar.data}) == 3
    best_total = max(s.total for s in api_scores.values())
    assert f'class="best" data-score="{best_total!r}"' in table
    assert table.count('class="best"') == 1 + len(RADAR_ASPECTS)
    assert comments == ""
    for count in (1, 5):
        with pytest.raises(gr.Error, match="2 to 4"):
            list(handlers.compare([str(GRAY)] * count))


def test_batch_ranks_scores_and_downloads(handlers, tmp_path, api_scores):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a picture")
    files = [str(GRAY), str(bad), str(SHAPES), str(GRADIENT)]
    outputs = list(handlers.batch(files, False, TOKENS, progress=lambda *a, **k: None))
    table, csv_path, json_path = outputs[-1]
    assert "3 scored" in table and "1 skipped" in table and "notes.txt" in table
    records = json.loads(Path(json_path).read_text(encoding="utf-8"))
    totals = [r["score"] for r in records if r["score"] is not None]
    assert totals == sorted(totals, reverse=True)
    single = {path.name: scores.total for path, scores in api_scores.items()}
    for record in records[:3]:  # batched forwards agree with single ones to float noise
        assert record["score"] == pytest.approx(single[record["image"]], abs=1e-3)
    assert records[-1]["error"] and records[-1]["image"] == "notes.txt"
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["image"] for r in rows] == [r["image"] for r in records]
    assert set(RADAR_ASPECTS) <= set(rows[0])


# ---- Model holder, cache, checkpoints ------------------------------------------------------


class FakeModel:
    def __init__(self, name: str, log: list):
        self.name, self.log, self.max_new_tokens = name, log, 8
        self.device, self.dtype = "cpu", "torch.float32"

    def unload(self):
        self.log.append(f"unload {self.name}")


def test_switching_checkpoints_frees_the_old_model_first():
    events = []

    def loader(ckpt):
        events.append(f"load {ckpt}")
        return FakeModel(Path(ckpt).name, events)

    holder = ModelHolder(Settings(ckpt="checkpoints/a"), loader=loader)
    holder.start_loading().join()
    assert holder.status.state == READY and holder.model.name == "a"
    assert holder.load("checkpoints/b").state == READY
    assert events == ["load checkpoints/a", "unload a", "load checkpoints/b"]


def test_missing_checkpoint_page_gives_the_download_command(tmp_path):
    missing = str(tmp_path / "ArtiMuse_AVA")
    holder = ModelHolder(Settings(ckpt=missing))
    holder.start_loading().join()
    assert holder.status.state == FAILED
    command = (
        "artimuse download ArtiMuse_AVA (or: hf download Thunderbolt215215/ArtiMuse_AVA "
        "--local-dir checkpoints/ArtiMuse_AVA)"
    )
    assert holder.status.download == command
    handlers = Handlers(holder)
    status, timer = handlers.model_status()
    assert command in status and timer.active is False
    [(card, *_)] = [out for out in handlers.assess(str(GRAY)) if "am-status" in str(out[0])]
    assert command in card
    build_app(holder)  # the page still builds without a model


def test_cache_is_a_small_lru():
    cache = ResultCache(capacity=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("a") == 1 and len(cache) == 2


def test_tickets_are_per_session():
    tickets = RunTickets()
    assert tickets.issue("x") == 1 and tickets.issue("x") == 2 and tickets.issue("y") == 1
    assert tickets.current("x") == 2 and tickets.current(None) == 0


def test_checkpoint_list_has_the_current_one_first(tmp_path):
    for name in ("ArtiMuse", "ArtiMuse_AVA"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    found = list_checkpoints("Thunderbolt215215/ArtiMuse", tmp_path)
    assert found == ["Thunderbolt215215/ArtiMuse"] + [
        str(tmp_path / n) for n in ("ArtiMuse", "ArtiMuse_AVA")
    ]


# ---- The served app, through gradio_client ------------------------------------------------


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


def test_streaming_endpoint_sends_scores_then_comments(served, tiny_model, api_scores):
    from gradio_client import Client, handle_file

    _, url = served
    client = Client(url, verbose=False)
    job = client.submit(handle_file(str(SHAPES)), TOKENS, api_name="/assess")
    updates = list(job)
    job.result()
    cards = [str(u[0]) for u in updates]
    first_scored = next(i for i, card in enumerate(cards) if "data-total" in card)
    expected = api_scores[SHAPES]
    assert exact_total(cards[first_scored]) == expected.total
    radar = json.loads(updates[first_scored][1]["plot"])
    assert radar["data"][0]["r"][:-1] == [expected.aspects[a] for a in RADAR_ASPECTS]
    final = updates[-1][4]
    assert final["complete"]
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


def test_comments_are_opt_in_for_compare_and_batch(handlers, tiny_model):
    *_, (radar, table, cards) = handlers.compare([str(GRAY), str(SHAPES)], True, TOKENS)
    expected = tiny_model.comment(GRAY, [COMPREHENSIVE], max_new_tokens=TOKENS)[COMPREHENSIVE]
    assert cards.count("am-card done") == 2 and html.escape(expected) in cards
    outputs = list(handlers.batch([str(GRAY)], True, TOKENS, progress=lambda *a, **k: None))
    [record] = json.loads(Path(outputs[-1][2]).read_text(encoding="utf-8"))
    assert list(record["comments"]) == list(ASPECTS)
