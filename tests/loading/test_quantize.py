"""ARTIMUSE_QUANT: the language model's Linear layers in int8 / nf4 (bitsandbytes, CPU here),
everything else as loaded; scores stay close to the unquantized model's."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

import artimuse
from artimuse.errors import CheckpointError
from artimuse.loading.quantize import QUANTIZED, check_quant_support
from tests.helpers import CONFORMANCE_IMAGES, TINY_A

bnb = pytest.importorskip("bitsandbytes")
IMAGES = list(CONFORMANCE_IMAGES.values())
LAYER_CLASS = {"int8": "Linear8bitLt", "nf4": "Linear4bit"}
# On random tiny weights int8 moves a score by < 1 point, nf4 by a few (tests/data: 0.5 / 2.8).
MAX_SCORE_SHIFT = {"int8": 2.0, "nf4": 8.0}


@pytest.fixture(scope="module")
def plain():
    return artimuse.load(str(TINY_A), device="cpu", dtype="bfloat16", max_new_tokens=8)


@pytest.fixture(scope="module", params=["int8", "nf4"])
def quantized(request):
    model = artimuse.load(
        str(TINY_A), device="cpu", dtype="bfloat16", max_new_tokens=8, quant=request.param
    )
    return request.param, model


def test_only_the_decoder_linears_are_quantized(quantized, plain):
    quant, model = quantized
    modules = dict(model.engine.model.named_modules())
    names = [name for name in modules if QUANTIZED.match(name)]
    assert len(names) == 2 * 7  # tiny-a: 2 decoder layers, q k v o gate up down
    for name in names:
        layer = modules[name]
        assert type(layer).__name__ == LAYER_CLASS[quant]
        assert layer.weight.dtype in (torch.int8, torch.uint8) and layer.weight.device.type == "cpu"
    kept = [m for n, m in modules.items() if isinstance(m, nn.Linear) and n not in names]
    assert len(kept) > 8  # vision, mlp1, lm_head (packed for oneDNN here, or plain)
    assert all(_dense_weight(m).dtype == torch.bfloat16 for m in kept)
    lm = model.engine.model.language_model
    assert lm.get_input_embeddings().weight.dtype == torch.bfloat16
    assert torch.equal(model.engine.score_rows, plain.engine.score_rows)  # the 101 rows


def _dense_weight(layer: nn.Module) -> torch.Tensor:
    return layer.weight if hasattr(layer, "weight") else layer.packed_weight


def test_quantized_weights_take_less_memory(quantized):
    quant, model = quantized
    layers = [m for n, m in model.engine.model.named_modules() if QUANTIZED.match(n)]
    bf16_bytes = sum(2 * m.in_features * m.out_features for m in layers)
    stored = sum(t.nbytes for m in layers for t in m.state_dict().values())  # with the scales
    assert stored < (0.6 if quant == "int8" else 0.4) * bf16_bytes


def test_quantized_scores_and_comments_stay_close(quantized, plain):
    quant, model = quantized
    for image in IMAGES:
        ours, reference = model.score(image), plain.score(image)
        assert abs(ours.total - reference.total) < MAX_SCORE_SHIFT[quant]
        assert ours.total != reference.total  # the quantized weights are really used
        assert sum(ours.distribution) == pytest.approx(1.0, abs=1e-4)
        for aspect, value in reference.aspects.items():
            assert abs(ours.aspects[aspect] - value) < MAX_SCORE_SHIFT[quant]
    assert set(model.comment(IMAGES[0], ["Overall Gestalt"])) == {"Overall Gestalt"}


def test_none_loads_the_plain_model():
    model = artimuse.load(str(TINY_A), device="cpu", dtype="float32", quant="none")
    assert not any("bitsandbytes" in type(m).__module__ for m in model.engine.model.modules())


def test_unsupported_places_say_so_before_loading(monkeypatch):
    with pytest.raises(CheckpointError, match="runs on CUDA and on the CPU"):
        check_quant_support("int8", torch.device("mps"), torch.float16)
    with pytest.raises(CheckpointError, match="computes in bfloat16 or float32"):
        check_quant_support("nf4", torch.device("cpu"), torch.float16)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bitsandbytes" else real_find_spec(name, *a),
    )
    with pytest.raises(CheckpointError, match=r"pip install 'artimuse\[quant\]'"):
        artimuse.load(str(TINY_A), device="cpu", quant="int8")
    check_quant_support("none", torch.device("mps"), torch.float16)  # nothing to check


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="quant must be one of none, int8, nf4, got 'int4'"):
        artimuse.load(str(TINY_A), device="cpu", quant="int4")
