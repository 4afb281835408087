"""The language-model families other than Qwen2: how InternLM2 maps onto Llama's modules, that
Phi-3 and Llama load under their own (the original's) weight names, and how each fails."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

import artimuse
from artimuse.errors import CheckpointError
from artimuse.inference.quant.modes import DECODER_LINEAR as QUANTIZED
from artimuse.model import internlm2
from tests.helpers import CONFORMANCE_IMAGES, DATA

IMAGE = CONFORMANCE_IMAGES["gray_64x64"]


def load(path, **kwargs):
    return artimuse.load(str(path), device="cpu", dtype="float32", max_new_tokens=4, **kwargs)


@pytest.fixture
def internlm2_copy(tmp_path):
    return shutil.copytree(DATA / "tiny-internlm2", tmp_path / "internlm2")


def edit_llm_config(path, **fields):
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    config["llm_config"].update(fields)
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")


def test_wqkv_rows_are_split_per_key_value_group():
    """Rows numbered in file order land where Llama's q/k/v projections expect them."""
    config = internlm2.llama_config(
        {"hidden_size": 8, "num_attention_heads": 4, "num_key_value_heads": 2}, "here"
    )
    head = config.head_dim  # 2; groups of 2 query heads, then k, then v
    packed = torch.arange(2 * 4 * head, dtype=torch.float32)[:, None]
    q, k, v = internlm2._split_wqkv(packed, config)
    rows = [int(x) for x in torch.cat([q, k, v]).flatten()]
    group = 4 * head  # q0 q1 k v of the first kv head, then the second's
    assert rows[: 4 * head] == [*range(0, 2 * head), *range(group, group + 2 * head)]
    assert rows[4 * head : 6 * head] == [*range(2 * head, 3 * head), *range(group + 2 * head, group + 3 * head)]  # noqa: E501
    assert rows[6 * head :] == [*range(3 * head, 4 * head), *range(group + 3 * head, group + 4 * head)]  # noqa: E501


def test_internlm2_runs_on_llama_modules_with_the_files_weights():
    model = load(DATA / "tiny-internlm2")
    lm = model.engine.model.language_model
    assert type(lm).__name__ == "LlamaForCausalLM"
    assert lm.config.rope_parameters["rope_type"] == "dynamic"  # inert under 32768 positions
    file = load_file(str(DATA / "tiny-internlm2" / "model.safetensors"))
    out = file["language_model.output.weight"].float()
    assert torch.equal(lm.lm_head.weight, out)


@pytest.mark.parametrize("family", ["phi3", "llama"])
def test_phi3_and_llama_load_under_the_original_weight_names(family):
    """No renaming: the file's keys are the transformers module's own."""
    file = load_file(str(DATA / f"tiny-{family}" / "model.safetensors"))
    model = load(DATA / f"tiny-{family}")
    state = model.engine.model.state_dict()
    lm_keys = {k for k in file if k.startswith("language_model.")}
    assert lm_keys == {k for k in state if k.startswith("language_model.")}
    if family == "phi3":  # the fused projections, as the original's Phi-3
        assert "language_model.model.layers.0.self_attn.qkv_proj.weight" in file
        assert "language_model.model.layers.0.mlp.gate_up_proj.weight" in file


@pytest.mark.parametrize(
    "scaling",
    [{"type": "yarn", "factor": 2.0}, {"type": "linear", "factor": 2}, {"type": "linear"},
     {"type": "dynamic", "factor": 0.5}, "linear"],
)
def test_bad_rope_scaling_is_one_line(internlm2_copy, scaling):
    edit_llm_config(internlm2_copy, rope_scaling=scaling)
    with pytest.raises(CheckpointError, match="rope_scaling must be") as error:
        load(internlm2_copy)
    assert "\n" not in str(error.value) and "config.json" in str(error.value)


def test_wqkv_that_does_not_fit_the_heads_is_named(internlm2_copy):
    edit_llm_config(internlm2_copy, num_key_value_heads=4)
    with pytest.raises(CheckpointError, match=r"attention.wqkv has 128 output rows; .* 192"):
        load(internlm2_copy)


def test_an_unknown_internlm2_key_is_reported_by_its_name(internlm2_copy):
    file = internlm2_copy / "model.safetensors"
    tensors = load_file(str(file))
    tensors["language_model.model.layers.0.attention.extra.weight"] = torch.zeros(2)
    save_file(tensors, str(file), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"1 unexpected \(language_model.model.layers.0"
                       r".attention.extra.weight\)"):
        load(internlm2_copy)


def test_an_unsupported_architecture_names_the_supported_ones(internlm2_copy):
    edit_llm_config(internlm2_copy, architectures=["MiniCPMForCausalLM"])
    with pytest.raises(CheckpointError, match="'MiniCPMForCausalLM' is not a transformers class;"
                       " supported: .* and InternLM2ForCausalLM$"):
        load(internlm2_copy)


def test_internlm2_quantizes_like_the_rest():
    plain = load(DATA / "tiny-internlm2")
    model = load(DATA / "tiny-internlm2", quant="int8")
    modules = dict(model.engine.model.named_modules())
    names = [n for n in modules if QUANTIZED.match(n)]
    assert len(names) == 2 * 7  # 2 layers: the un-packed q k v, o, gate up down
    assert all(type(modules[n]).__name__ == "Int8Linear" for n in names)
    assert abs(model.score(IMAGE).total - plain.score(IMAGE).total) < 2.0


@pytest.mark.parametrize("family", ["internlm2", "phi3", "llama"])
def test_the_fixtures_are_the_generators_presets(tmp_path, family):
    """tests/data/tiny-<family> is what `--preset tiny-<family>` writes (so the original's
    expected outputs there belong to the preset: regenerate both together)."""
    from artimuse.testing.checkpoints import PRESETS, make_checkpoint

    made = make_checkpoint(tmp_path / family, PRESETS[f"tiny-{family}"])
    fixture = DATA / f"tiny-{family}"
    for name in ("model.safetensors", "config.json", "tokenizer.model", "tokenizer_config.json",
                 "special_tokens_map.json"):
        assert (made / name).read_bytes() == (fixture / name).read_bytes(), name
