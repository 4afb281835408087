"""The original's outputs on the InternLM2, Phi-3 and Llama fixtures, reproduced.

Each `tests/data/tiny-<family>/` is the generator's `tiny-<family>` preset; its `expected.json`
is what the original code computed on it (scripts/original_expected.py, transformers 4.37.2,
float32, one thread): the prompts' ids, the total and aspect scores, the eight greedy comments.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

import artimuse
from artimuse import prompts
from artimuse.loading.tokenizer import decode_comment
from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from tests.helpers import CONFORMANCE_IMAGES, DATA

FAMILIES = ("internlm2", "phi3", "llama")
SCORE_TOL = 2e-4


def expected(family: str) -> dict:
    return json.loads((DATA / f"tiny-{family}" / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=FAMILIES)
def family(request):
    path = DATA / f"tiny-{request.param}"
    model = artimuse.load(str(path), device="cpu", dtype="float32", max_new_tokens=12)
    return request.param, model, expected(request.param)


def test_the_expected_files_belong_to_these_weights(family):
    name, _, want = family
    weights = DATA / f"tiny-{name}" / "model.safetensors"
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == want["weights_sha256"]


def test_tokens_are_the_originals(family):
    _, model, want = family
    ids, tokenizer = model.engine.ids, want["tokenizer"]
    assert list(ids.score) == tokenizer["score_token_ids"]
    assert ids.img_context == tokenizer["img_context_id"]
    assert ids.im_end == tokenizer["stop_id"]  # the template's stop token
    assert sorted(ids.skip_in_comments) == tokenizer["all_special_ids"]


def test_prompts_are_the_originals_ids(family):
    """Shared prefix + each suffix are the ids the original fed for the whole prompt."""
    _, model, want = family
    engine = model.engine
    assert engine.template.name == want["model"]["template"]
    for key, prompt in want["prompts"].items():
        kind, _, aspect = key.partition("::")
        if kind == "comment":
            suffix = engine.comment_suffix(aspect)
        else:
            suffix = engine.score_suffixes["total" if kind == "total_score" else aspect]
        assert engine.prefix_ids + suffix == prompt["input_ids"], key
        text = prompt["query"].replace("<IMG_CONTEXT>*256", "<IMG_CONTEXT>" * 256)
        assert engine.prefix + engine.template.suffix(_question(kind, aspect)) == text, key


def _question(kind: str, aspect: str) -> str:
    if kind == "total_score":
        return prompts.TOTAL_SCORE_QUESTION
    if kind == "aspect_score":
        return prompts.aspect_score_question(aspect)
    return prompts.comment_question(aspect)


@pytest.mark.parametrize("stem", list(CONFORMANCE_IMAGES))
def test_scores_match(family, stem):
    _, model, want = family
    scores = model.score(CONFORMANCE_IMAGES[stem])
    image = want["images"][stem]
    assert scores.total == pytest.approx(image["total_score"]["score"], abs=SCORE_TOL)
    probs = torch.tensor(scores.distribution)
    assert torch.allclose(probs, torch.tensor(image["total_score"]["probs"]), atol=1e-5)
    for aspect in RADAR_ASPECTS:
        want_aspect = image["aspect_scores"][aspect]
        assert scores.aspects[aspect] == pytest.approx(want_aspect, abs=SCORE_TOL), aspect


@pytest.mark.parametrize("stem", list(CONFORMANCE_IMAGES))
def test_comments_match(family, stem):
    """The greedy ids of all eight comments decoded together, and their texts, exactly."""
    _, model, want = family
    engine = model.engine
    cache = engine.prefill(model.pixels(CONFORMANCE_IMAGES[stem]))
    rows = [[] for _ in ASPECTS]
    suffixes = [engine.comment_suffix(a) for a in ASPECTS]
    for step in engine.generate(cache, suffixes, max_new_tokens=12):
        for row, token in zip(rows, step):
            row.append(token)
    comments = want["images"][stem]["comments"]
    for aspect, row in zip(ASPECTS, rows):
        ids = comments[aspect]["ids"]
        assert row[: len(ids)] == ids, aspect
        assert (engine.ids.im_end in row) == comments[aspect]["hit_eos"], aspect
        text = decode_comment(engine.tokenizer, row, engine.ids).strip()
        assert text == comments[aspect]["response"], aspect


def test_assess_gives_the_originals_comments(family):
    """The public path (streaming decode included) on one image."""
    _, model, want = family
    stem = "gray_64x64"
    comments = want["images"][stem]["comments"]
    assessment = model.assess(CONFORMANCE_IMAGES[stem])
    assert assessment.comments == {a: comments[a]["response"] for a in ASPECTS}


def test_internlm2_linear_rope_scaling_matches(tmp_path):
    """The same weights with `rope_scaling: {type: linear, factor: 2.0}`: positions halved, as
    the original's InternLM2LinearScalingRotaryEmbedding (expected_rope_linear.json)."""
    import shutil

    path = shutil.copytree(DATA / "tiny-internlm2", tmp_path / "linear")
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    config["llm_config"]["rope_scaling"] = {"factor": 2.0, "type": "linear"}
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    want = json.loads((path / "expected_rope_linear.json").read_text(encoding="utf-8"))
    model = artimuse.load(str(path), device="cpu", dtype="float32", max_new_tokens=12)
    for stem, image in CONFORMANCE_IMAGES.items():
        scores, expected_image = model.score(image), want["images"][stem]
        assert scores.total == pytest.approx(expected_image["total_score"]["score"], abs=SCORE_TOL)
        for aspect in RADAR_ASPECTS:
            want_aspect = expected_image["aspect_scores"][aspect]
            assert scores.aspects[aspect] == pytest.approx(want_aspect, abs=SCORE_TOL), aspect
    comments = want["images"]["shapes_rgba_300x500"]["comments"]
    assessment = model.assess(CONFORMANCE_IMAGES["shapes_rgba_300x500"])
    assert assessment.comments == {a: comments[a]["response"] for a in ASPECTS}
