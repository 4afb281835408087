"""The compiled decode step (ARTIMUSE_COMPILE=1) gives the eager path's greedy tokens."""

from __future__ import annotations

import pytest
import torch

from artimuse.prompts import ASPECTS
from tests.helpers import CONFORMANCE_IMAGES

IMAGE = CONFORMANCE_IMAGES["gradient_640x480_q95"]


def greedy(model, compiled: bool, tokens: int, aspects=ASPECTS) -> list[list[int]]:
    engine = model.engine
    engine.compiled, engine.ignore_eos = compiled, True  # every row runs all `tokens` steps
    try:
        cache = engine.prefill(model.pixels(IMAGE))
        suffixes = [engine.comment_suffix(a) for a in aspects]
        return list(engine.generate(cache, suffixes, tokens))
    finally:
        engine.compiled, engine.ignore_eos = False, False


def test_static_cache_steps_equal_eager_ones(tiny_model, monkeypatch):
    """The static cache, its 4-D mask and the positions, run uncompiled (fast): the same tokens
    as the eager path, for 8 rows of different lengths (left-padded) and for 3 rows."""
    monkeypatch.setattr(torch, "compile", lambda fn, **options: fn)
    monkeypatch.setattr(tiny_model.engine, "_decoder", None)
    for aspects in (ASPECTS, ASPECTS[2:5]):
        eager = greedy(tiny_model, False, 20, aspects)
        assert greedy(tiny_model, True, 20, aspects) == eager
        assert len({tuple(step) for step in eager}) > 1  # the rows do not repeat one token


@pytest.mark.slow
def test_compiled_decode_gives_the_eager_tokens(tiny_model, monkeypatch):
    """float32, torch.compile for real (minutes on 2 cores): same tokens, also on a second
    batch that reuses the compiled step."""
    monkeypatch.setattr(tiny_model.engine, "_decoder", None)
    eager = greedy(tiny_model, False, 24)
    assert greedy(tiny_model, True, 24) == eager
    assert greedy(tiny_model, True, 16) == eager[:16]
    compiled_text = tiny_model.assess(IMAGE, max_new_tokens=12)
    assert compiled_text.comments  # the public path runs too
