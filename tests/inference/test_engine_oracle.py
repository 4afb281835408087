"""The shared-prefix engine against a plain oracle on random checkpoints of several shapes.

The oracle runs every prompt as one full sequence through the language model's own forward
(and transformers' `generate` for comments): no shared prefix, no suffix batching, no padding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import artimuse
from artimuse.prompts import ASPECTS, SCORE_KEYS
from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint

SHAPES = {
    "qwen2-layernorm-224": CheckpointSpec(image_size=224, seed=1),
    "qwen2-rmsnorm-qknorm-224": CheckpointSpec(
        norm_type="rms_norm",
        qk_normalization=True,
        qkv_bias=False,
        image_size=224,
        seed=2,
        vision_heads=2,
        llm_hidden=96,
        llm_heads=6,
        llm_kv_heads=3,
        system_message=None,
    ),
    "llama-sharded": CheckpointSpec(
        llm_arch="LlamaForCausalLM",
        shards=3,
        vocab_size=1200,
        llm_layers=3,
        seed=3,
        image_size=168,
        system_message="You are an art critic.",
    ),
}
# In bf16 the two paths round differently: on random weights the 101 score logits are close
# together, so a few bf16 ulps of logit move the expected score by up to ~1.5 points.
TOLERANCE = {"float32": 1e-4, "bfloat16": 2.0}
NEW_TOKENS = 6
BF16_MARGIN = 0.1  # logit gap under which bf16 rounding may pick the other token


def images(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    sizes = [(97, 131), (300, 200), (64, 64), (180, 180)]
    return [
        Image.fromarray(rng.integers(0, 256, (*sizes[i % 4][::-1], 3), dtype=np.uint8))
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("oracle")
    return {name: make_checkpoint(root / name, spec) for name, spec in SHAPES.items()}


@pytest.fixture(scope="module", params=[(s, d) for s in SHAPES for d in TOLERANCE])
def model(request, checkpoints):
    shape, dtype = request.param
    path = checkpoints[shape]
    return artimuse.load(str(path), device="cpu", dtype=dtype, max_new_tokens=NEW_TOKENS)


def oracle_features(model, image):
    engine = model.engine
    return engine.model.image_features(model.pixels(image))


@torch.no_grad()
def oracle_probabilities(model, image) -> torch.Tensor:
    """(8, 101): each score prompt alone, one full forward, logits from the LM head."""
    engine, features = model.engine, oracle_features(model, image)
    rows = []
    for key in SCORE_KEYS:
        ids = torch.tensor([engine.prefix_ids + engine.score_suffixes[key]])
        embeds = engine.model.embed(ids, features, engine.ids.img_context)
        logits = engine.model.language_model(inputs_embeds=embeds).logits[0, -1]
        rows.append(logits[list(engine.ids.score)].float().softmax(-1))
    return torch.stack(rows)


@torch.no_grad()
def oracle_comment(model, image, aspect: str) -> tuple[list[int], list[float]]:
    """Greedy ids by transformers' `generate` on the full prompt, and each step's margin."""
    engine, features = model.engine, oracle_features(model, image)
    ids = torch.tensor([engine.prefix_ids + engine.comment_suffix(aspect)])
    embeds = engine.model.embed(ids, features, engine.ids.img_context)
    out = engine.model.language_model.generate(
        inputs_embeds=embeds,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=NEW_TOKENS,
        do_sample=False,
        eos_token_id=engine.ids.im_end,
        pad_token_id=engine.ids.pad,
        output_scores=True,
        return_dict_in_generate=True,
    )
    margins = [float(s[0].topk(2).values.diff().abs()) for s in out.scores]
    return out.sequences[0].tolist(), margins


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "padded"])
def test_scores_equal_the_oracle_for_every_batch_size(model, packed, monkeypatch):
    """Both ways of scoring the suffixes: packed in one row (SDPA, eager) and left-padded over
    copies of the prefix cache (what flash attention, which takes no custom mask, uses)."""
    monkeypatch.setattr(model.engine, "pack_scores", packed)
    tolerance = TOLERANCE[str(model.dtype).removeprefix("torch.")]
    pictures = images(3, seed=7)
    want = [model.engine.expected_scores(oracle_probabilities(model, p)) for p in pictures]
    for batch_size in (1, 3):
        got = list(model.score_many(pictures, batch_size=batch_size, aspects=True))
        for scores, expected in zip(got, want):
            values = [scores.total] + [scores.aspects[a] for a in SCORE_KEYS[1:]]
            assert values == pytest.approx(expected.tolist(), abs=tolerance), batch_size
    single = model.score(pictures[0])
    assert single.total == pytest.approx(float(want[0][0]), abs=tolerance)
    # a degenerate model would make this test vacuous: the images must score differently
    assert max(float(w[0]) for w in want) - min(float(w[0]) for w in want) > 1e-3


@pytest.mark.parametrize(
    "aspects", [[ASPECTS[0], ASPECTS[4], ASPECTS[7]], [ASPECTS[2]]], ids=["batch3", "alone"]
)
def test_comments_equal_the_oracle(model, aspects):
    """fp32: identical ids. bf16: identical until the oracle's margin falls to rounding noise.

    The suffixes' common start runs once before the batch (all but the last token when alone).
    """
    fp32 = model.dtype == torch.float32
    engine, compared = model.engine, 0
    for image in images(2, seed=11):
        cache = engine.prefill(model.pixels(image))
        suffixes = [engine.comment_suffix(a) for a in aspects]
        rows = list(zip(*engine.generate(cache, suffixes, NEW_TOKENS)))  # one batch
        for aspect, row in zip(aspects, rows):
            want, margins = oracle_comment(model, image, aspect)
            trusted = (
                len(want)
                if fp32
                else next((i for i, m in enumerate(margins) if m < BF16_MARGIN), len(want))
            )
            assert list(row[:trusted]) == want[:trusted], aspect
            compared += trusted
    assert compared > 0
