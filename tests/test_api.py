"""The public API's life cycle: a model that was unloaded says so."""

from __future__ import annotations

import weakref

import pytest

import artimuse
from tests.helpers import CONFORMANCE_IMAGES, TINY_A

GRAY = CONFORMANCE_IMAGES["gray_64x64"]


def test_an_unloaded_model_frees_its_weights_and_says_so_when_used():
    model = artimuse.load(str(TINY_A), device="cpu", dtype="float32", max_new_tokens=2)
    model.score(GRAY)
    weights = weakref.ref(model.engine.model)
    model.unload()
    assert weights() is None  # nothing else kept the weights alive
    uses = {
        "score": lambda: model.score(GRAY),
        "score_many": lambda: list(model.score_many([GRAY])),
        "stream": lambda: next(model.stream(GRAY)),
        "assess": lambda: model.assess(GRAY),
        "comment": lambda: model.comment(GRAY),
        "pixels": lambda: model.pixels(GRAY),
        "device": lambda: model.device,
        "dtype": lambda: model.dtype,
        "image_size": lambda: model.image_size,
    }
    for name, use in uses.items():
        with pytest.raises(RuntimeError, match=r"the model 'tiny-a' was unloaded"):
            use()
            pytest.fail(f"{name} worked on an unloaded model")
    model.unload()  # a second unload is harmless
    assert model.name == "tiny-a"  # what needs no weights still answers
