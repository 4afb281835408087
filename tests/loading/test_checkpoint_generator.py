"""The random-checkpoint generator writes the original InternVL-Chat layout (behaviour §1, 2, 7)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
import transformers
from safetensors import safe_open

from artimuse.prompts import (
    DEFAULT_SYSTEM_MESSAGE,
    REQUIRED_SPECIAL_TOKENS,
    SCORE_TOKENS,
    TOTAL_SCORE_QUESTION,
)
from artimuse.testing.checkpoints import (
    SPEC_FILE,
    CheckpointSpec,
    ensure_checkpoint,
    make_checkpoint,
    weight_shapes,
)
from tests.helpers import full_prompt


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    out = {}
    for file in sorted(path.glob("model*.safetensors")):
        with safe_open(str(file), "pt") as f:
            out |= {k: f.get_tensor(k) for k in f.keys()}
    return out


def _config(path: Path) -> dict:
    return json.loads((path / "config.json").read_text(encoding="utf-8"))


def _tokenizer(path: Path) -> transformers.PreTrainedTokenizerBase:
    # config.json names remote code (auto_map): never run it.
    return transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("tiny"))


def test_default_spec_has_the_fixture_layout(tiny: Path, tiny_a: Path) -> None:
    mine, ref = _tensors(tiny), _tensors(tiny_a)
    assert mine.keys() == ref.keys()
    vocab_rows = ("language_model.model.embed_tokens.weight", "language_model.lm_head.weight")
    for key, tensor in ref.items():
        assert mine[key].dtype == torch.bfloat16
        if key not in vocab_rows:  # the two tokenizers differ in length
            assert mine[key].shape == tensor.shape, key
    config, ref_config = _config(tiny), _config(tiny_a)
    assert set(ref_config) - {"llm_config", "vision_config"} <= set(config)
    for section in ("vision_config", "llm_config"):
        for key in ("hidden_size", "num_attention_heads", "intermediate_size", "num_hidden_layers"):
            assert config[section][key] == ref_config[section][key]
    assert "system_message" not in config


def test_weights_are_sane_and_match_the_llm_class(tiny: Path) -> None:
    config, tensors = _config(tiny), _tensors(tiny)
    assert tensors.keys() == weight_shapes(CheckpointSpec()).keys()
    assert all(torch.isfinite(t.float()).all() for t in tensors.values())
    assert abs(tensors["vision_model.encoder.layers.0.norm1.weight"].float().mean() - 1) < 0.1
    fields = dict(config["llm_config"])
    llm_config = transformers.AutoConfig.for_model(fields.pop("model_type"), **fields)
    assert llm_config.rope_parameters["rope_theta"] == 1e6 and not llm_config.tie_word_embeddings
    lm = transformers.Qwen2ForCausalLM(llm_config).to(torch.bfloat16).eval()
    prefix = "language_model."
    lm.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    ids = _tokenizer(tiny)(full_prompt(DEFAULT_SYSTEM_MESSAGE, 4, TOTAL_SCORE_QUESTION))
    with torch.inference_mode():
        logits = lm(torch.tensor([ids["input_ids"]])).logits
    assert torch.isfinite(logits).all() and logits.float().std() > 0.5


def test_sharded_and_float32_hold_the_same_values(tmp_path: Path, tiny: Path) -> None:
    path = make_checkpoint(tmp_path, CheckpointSpec(shards=3, dtype="float32"))
    index = json.loads((path / "model.safetensors.index.json").read_text(encoding="utf-8"))
    files = sorted(path.glob("model-*.safetensors"))
    assert [f.name for f in files] == [f"model-0000{k}-of-00003.safetensors" for k in (1, 2, 3)]
    tensors = _tensors(path)
    assert index["weight_map"].keys() == tensors.keys() == _tensors(tiny).keys()
    assert index["metadata"]["total_size"] == sum(t.nbytes for t in tensors.values())
    for file in files:
        with safe_open(str(file), "pt") as f:
            assert {k for k, v in index["weight_map"].items() if v == file.name} == set(f.keys())
    assert _config(path)["torch_dtype"] == "float32"
    for key, tensor in _tensors(tiny).items():  # values depend on the seed and key only
        assert tensor.dtype == torch.bfloat16 and tensors[key].dtype == torch.float32
        torch.testing.assert_close(tensors[key].to(torch.bfloat16), tensor, rtol=0.01, atol=1e-3)


def test_rms_norm_qk_norm_llama_variant(tmp_path: Path) -> None:
    spec = CheckpointSpec(
        norm_type="rms_norm",
        qk_normalization=True,
        qkv_bias=False,
        llm_arch="LlamaForCausalLM",
        vocab_size=1000,
        system_message=None,
        attn_implementation="flash_attention_2",
    )
    path = make_checkpoint(tmp_path, spec)
    keys, config = _tensors(path).keys(), _config(path)
    layer = "vision_model.encoder.layers.1."
    assert {layer + "attn.q_norm.weight", layer + "attn.k_norm.weight"} <= keys
    assert not any(k.endswith(("norm1.bias", "norm2.bias", "qkv.bias")) for k in keys)
    assert "language_model.model.layers.1.self_attn.q_proj.weight" in keys
    assert config["llm_config"]["model_type"] == "llama"
    assert config["llm_config"]["vocab_size"] == 1000
    assert config["llm_config"]["attn_implementation"] == "flash_attention_2"
    assert config["system_message"] is None  # written as JSON null, not left out
    assert config["vision_config"]["norm_type"] == "rms_norm"


def test_tokenizer_with_and_without_tokenizer_json_agree(tmp_path: Path, tiny: Path) -> None:
    plain = make_checkpoint(tmp_path, CheckpointSpec(tokenizer_json=False))
    assert not (plain / "tokenizer.json").exists() and (plain / "added_tokens.json").exists()
    fast, slow = _tokenizer(tiny), _tokenizer(plain)
    texts = [
        full_prompt(DEFAULT_SYSTEM_MESSAGE, 3, TOTAL_SCORE_QUESTION),
        "你好，世界！画面构图平衡 😀🎨 naïve café\n\n  <box>[1, 2]</box> ab ey",
    ]
    for text in texts:
        ids = fast(text)["input_ids"]
        assert ids == slow(text)["input_ids"]
        assert fast.decode(ids) == text
    assert len(fast) == len(slow) == _config(tiny)["llm_config"]["vocab_size"]
    score_ids = [fast(token)["input_ids"] for token in SCORE_TOKENS]
    assert all(len(ids) == 1 for ids in score_ids) and len({i[0] for i in score_ids}) == 101
    for token in REQUIRED_SPECIAL_TOKENS:
        assert len(fast(token)["input_ids"]) == 1 and len(slow(token)["input_ids"]) == 1
    assert fast.eos_token == "<|im_end|>" and fast.pad_token == "<|endoftext|>"


def test_added_tokens_are_those_of_the_fixture(tiny: Path, tiny_a: Path) -> None:
    def added(path: Path) -> list[tuple[str, bool]]:
        config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
        decoder = config["added_tokens_decoder"].values()
        return [(token["content"], token["special"]) for token in decoder]

    assert added(tiny) == added(tiny_a)


def test_ensure_checkpoint_reuses_and_rebuilds(tmp_path: Path) -> None:
    spec = CheckpointSpec(shards=2)
    path = ensure_checkpoint(tmp_path, spec)
    stamp = (path / SPEC_FILE).stat().st_mtime_ns
    assert ensure_checkpoint(tmp_path, spec) == path
    assert (path / SPEC_FILE).stat().st_mtime_ns == stamp  # reused, not rewritten
    single = dataclasses.replace(spec, shards=1, seed=1)
    ensure_checkpoint(tmp_path, single)
    assert sorted(p.name for p in path.glob("model*")) == ["model.safetensors"]  # no stale shards
    assert json.loads((path / SPEC_FILE).read_text(encoding="utf-8"))["seed"] == 1
    (path / SPEC_FILE).unlink()  # an interrupted run leaves no stamp: rebuilt
    ensure_checkpoint(tmp_path, single)
    assert (path / SPEC_FILE).is_file()


def test_invalid_specs_raise() -> None:
    with pytest.raises(ValueError, match="norm_type"):
        CheckpointSpec(norm_type="batch_norm")
    with pytest.raises(ValueError, match="image_size"):
        CheckpointSpec(image_size=450)
    with pytest.raises(ValueError, match="vocab_size"):
        weight_shapes(CheckpointSpec(vocab_size=10))
