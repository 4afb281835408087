"""The original implementation's outputs on tiny-a, reproduced (tolerances: its README).

Both public paths are checked: `artimuse.load` and the seed's `ModelServer`.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from PIL import Image

from artimuse.demo_utils.model_server import ModelServer
from artimuse.images import open_image, to_pixel_values
from artimuse.loading.tokenizer import decode_comment, decode_skipping_special
from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from tests.helpers import CONFORMANCE_IMAGES, TINY_A, full_prompt

EXPECTED = json.loads((TINY_A / "expected.json").read_text(encoding="utf-8"))
CASES = json.loads((TINY_A / "tokenizer_cases.json").read_text(encoding="utf-8"))
SCORE_TOL, PROB_TOL = 2e-4, 1e-5
STEMS = list(CONFORMANCE_IMAGES)


def expected(stem: str) -> dict:
    return EXPECTED["images"][stem]


@pytest.fixture(scope="module")
def model_server():
    return ModelServer(str(TINY_A), "cpu", dtype="float32", max_new_tokens=12)


@pytest.mark.parametrize("stem", STEMS)
def test_pixel_values_are_bit_identical(stem):
    pixels = to_pixel_values(open_image(CONFORMANCE_IMAGES[stem]), 448)
    want = expected(stem)["pixel_values"]
    assert list(pixels.shape) == want["shape"]
    assert pixels.dtype == torch.float32
    assert hashlib.sha256(pixels.numpy().tobytes()).hexdigest() == want["sha256_f32le"]


def test_prompt_input_ids_are_exact(tiny_model):
    tokenizer = tiny_model.engine.tokenizer
    for key, want in EXPECTED["prompts"].items():
        kind, _, aspect = key.partition("::")
        text = want["query"].replace("<IMG_CONTEXT>*256", "<IMG_CONTEXT>" * 256)
        assert hashlib.sha256(text.encode()).hexdigest() == want["query_sha256"]
        assert tokenizer.encode(text, add_special_tokens=False) == want["input_ids"], key
        question = _question(kind, aspect)
        assert full_prompt(EXPECTED["model"]["system_message"], 256, question) == text, key


def _question(kind: str, aspect: str) -> str:
    from artimuse import prompts

    if kind == "total_score":
        return prompts.TOTAL_SCORE_QUESTION
    if kind == "aspect_score":
        return prompts.aspect_score_question(aspect)
    return prompts.comment_question(aspect)


def test_engine_splits_prompts_exactly_at_the_image(tiny_model):
    """Shared prefix + each suffix must be the very ids of the full prompt."""
    engine = tiny_model.engine
    for key, want in EXPECTED["prompts"].items():
        kind, _, aspect = key.partition("::")
        if kind == "comment":
            suffix = engine.comment_suffix(aspect)
        else:
            suffix = engine.score_suffixes["total" if kind == "total_score" else aspect]
        assert engine.prefix_ids + suffix == want["input_ids"], key


def test_token_ids_match_the_original(tiny_model):
    ids, want = tiny_model.engine.ids, EXPECTED["tokenizer"]
    assert list(ids.score) == want["score_token_ids"]
    assert ids.img_context == want["img_context_id"]
    assert ids.im_end == want["im_end_id"]
    assert sorted(ids.skip_in_comments) == sorted(want["all_special_ids"])


@pytest.mark.parametrize("stem", STEMS)
def test_scores_match(tiny_model, stem):
    scores = tiny_model.score(CONFORMANCE_IMAGES[stem])
    want = expected(stem)
    assert scores.total == pytest.approx(want["total_score"]["score"], abs=SCORE_TOL)
    probs = torch.tensor(scores.distribution)
    assert torch.allclose(probs, torch.tensor(want["total_score"]["probs"]), atol=PROB_TOL)
    for aspect in RADAR_ASPECTS:
        single = want["aspect_scores_single"][aspect]["score"]
        assert scores.aspects[aspect] == pytest.approx(single, abs=SCORE_TOL), aspect


@pytest.mark.parametrize("stem", STEMS)
def test_comment_tokens_and_text_match(tiny_model, stem):
    """Greedy ids of every aspect's comment (12 new tokens) and its text, exactly."""
    engine = tiny_model.engine
    cache = engine.prefill(tiny_model.pixels(CONFORMANCE_IMAGES[stem]))
    suffixes = [engine.comment_suffix(a) for a in ASPECTS]
    rows = [[] for _ in ASPECTS]
    for step in engine.generate(cache, suffixes, max_new_tokens=12):
        for row, token in zip(rows, step):
            row.append(token)
    for aspect, row in zip(ASPECTS, rows):
        want = expected(stem)["comments_chat_single"][aspect]
        n = want["n_effective"]
        assert row[:n] == want["ids"][:n], aspect
        assert (engine.ids.im_end in row) == want["hit_eos"], aspect
        text = decode_comment(engine.tokenizer, row, engine.ids).strip()
        assert text == want["response"], aspect


@pytest.mark.parametrize("stem", STEMS)
def test_assess_streams_the_exact_comments(tiny_model, stem):
    assessment = tiny_model.assess(CONFORMANCE_IMAGES[stem])
    want = expected(stem)["comments_chat_single"]
    assert list(assessment.comments) == list(ASPECTS)
    assert assessment.comments == {a: want[a]["response"] for a in ASPECTS}


@pytest.mark.parametrize("stem", STEMS)
def test_model_server_matches(model_server, stem):
    image = Image.open(CONFORMANCE_IMAGES[stem])
    aspect_scores, total, comments = model_server.score_and_comment(image)
    want = expected(stem)
    assert total == pytest.approx(want["total_score"]["score"], abs=SCORE_TOL)
    assert list(aspect_scores) == list(RADAR_ASPECTS) == list(comments)
    for aspect in RADAR_ASPECTS:
        single = want["aspect_scores_single"][aspect]["score"]
        assert aspect_scores[aspect] == pytest.approx(single, abs=SCORE_TOL)
        assert comments[aspect] == want["comments_batch_chat7"]["rows"][aspect]["response"]


def test_tokenizer_cases(tiny_model):
    tokenizer, ids = tiny_model.engine.tokenizer, tiny_model.engine.ids
    for case in CASES["encode"]:
        got = tokenizer.encode(case["text"], add_special_tokens=False)
        assert got == case["ids"], case["text"]
        assert tokenizer.convert_ids_to_tokens(got) == case["tokens"], case["text"]
    for token_id, text in enumerate(CASES["decode_single_id_skip_special"]):
        assert decode_skipping_special(tokenizer, [token_id], ids) == text, token_id
    for case in CASES["decode_random_ids"]:
        assert decode_skipping_special(tokenizer, case["ids"], ids) == case["decode_skip_special"]
        keep = tokenizer.decode(case["ids"], skip_special_tokens=False)
        assert keep == case["decode_keep_special"]
