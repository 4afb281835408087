"""The CLI, the REST service and the seed's ModelServer on the InternLM2 / Phi-3 / Llama fixtures:
unchanged code paths, and the original's numbers and comments come out of each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import artimuse
from artimuse import cli
from artimuse.demo_utils.model_server import ModelServer
from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.rest.app import ServiceSettings, create_app
from tests.helpers import CONFORMANCE_IMAGES, DATA

STEM = "gray_64x64"
IMAGE = CONFORMANCE_IMAGES[STEM]
TOL = 2e-4


def original(family: str) -> dict:
    path = DATA / f"tiny-{family}" / "expected.json"
    return json.loads(path.read_text(encoding="utf-8"))["images"][STEM]


def test_cli_assess_writes_the_originals_result(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARTIMUSE_MAX_NEW_TOKENS", "12")
    ckpt = DATA / "tiny-internlm2"
    argv = ["assess", "--image_path", str(IMAGE), "--out", "out", "--ckpt", str(ckpt),
            "--device", "cpu", "--dtype", "float32"]
    assert cli.main(argv) == 0
    saved = json.loads(Path(f"out/{STEM}_tiny-internlm2_eval.json").read_text(encoding="utf-8"))
    want = original("internlm2")
    assert saved["Aesthetic Score"] == pytest.approx(want["total_score"]["score"], abs=1e-3)
    assert saved["Aesthetic Attributes"] == {a: want["comments"][a]["response"] for a in ASPECTS}


def test_rest_infer_gives_the_originals_scores_and_comments():
    model = artimuse.load(str(DATA / "tiny-phi3"), device="cpu", dtype="float32",
                          max_new_tokens=12)
    with TestClient(create_app(model, ServiceSettings())) as client:
        body = client.post("/infer", files={"file": ("g.png", IMAGE.read_bytes())}).json()
        meta = client.get("/meta").json()
    want = original("phi3")
    assert meta["checkpoint"] == "tiny-phi3"
    assert body["total_score"] == pytest.approx(want["total_score"]["score"], abs=1e-3)
    for aspect in RADAR_ASPECTS:
        score = want["aspect_scores"][aspect]
        assert body["aspect_scores"][aspect] == pytest.approx(score, abs=1e-3)
        assert body["aspect_comments"][aspect] == want["comments"][aspect]["response"]


def test_the_seeds_model_server_on_llama():
    server = ModelServer(str(DATA / "tiny-llama"), "cpu", dtype="float32", max_new_tokens=12)
    aspect_scores, total, comments = server.score_and_comment(IMAGE)
    want = original("llama")
    assert total == pytest.approx(want["total_score"]["score"], abs=TOL)
    for aspect in RADAR_ASPECTS:
        assert aspect_scores[aspect] == pytest.approx(want["aspect_scores"][aspect], abs=TOL)
    # The seven comments of a batch, each as the original's single chat() gave it.
    assert comments == {a: want["comments"][a]["response"] for a in RADAR_ASPECTS}
