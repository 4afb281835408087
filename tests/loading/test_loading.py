"""Checkpoint variants that must load, and every way loading can fail, with its message."""

from __future__ import annotations

import json
import logging
import re
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

import artimuse
from artimuse.devices import resolve_device, resolve_dtype
from artimuse.loading.checkpoint import read_config
from artimuse.prompts import DEFAULT_SYSTEM_MESSAGE
from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint
from tests.helpers import CONFORMANCE_IMAGES

IMAGE = CONFORMANCE_IMAGES["gray_64x64"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """One tiny random checkpoint; tests copy it before breaking it."""
    return make_checkpoint(tmp_path_factory.mktemp("base") / "tiny", CheckpointSpec(seed=5))


@pytest.fixture
def broken(base, tmp_path):
    target = tmp_path / "broken"
    shutil.copytree(base, target)
    return target


def load(path, **kwargs):
    return artimuse.load(str(path), device="cpu", dtype=kwargs.pop("dtype", "float32"), **kwargs)


def edit_json(path, change):
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


# --- variants that load --------------------------------------------------------------------


def test_sharded_bf16_loads_into_bf16_without_upcasting(tmp_path):
    path = make_checkpoint(tmp_path / "sharded", CheckpointSpec(shards=3, seed=6))
    model = load(path, dtype="bfloat16")
    params = list(model.engine.model.parameters())
    assert {p.dtype for p in params} == {torch.bfloat16}
    assert not any(p.is_meta for p in params)
    assert 0 <= model.score(IMAGE).total <= 100


def test_fp32_checkpoint_and_bf16_checkpoint_give_close_scores(tmp_path):
    spec = CheckpointSpec(seed=8)
    bf16 = load(make_checkpoint(tmp_path / "bf16", spec)).score(IMAGE).total
    fp32 = load(make_checkpoint(tmp_path / "fp32", CheckpointSpec(seed=8, dtype="float32")))
    assert fp32.score(IMAGE).total == pytest.approx(bf16, abs=1.0)


def test_flash_attention_config_falls_back_to_sdpa(tmp_path, caplog):
    path = make_checkpoint(
        tmp_path / "flash", CheckpointSpec(attn_implementation="flash_attention_2")
    )
    with caplog.at_level(logging.INFO, logger="artimuse.loading.checkpoint"):
        model = load(path)
    assert model.engine.model.language_model.config._attn_implementation == "sdpa"
    assert "flash_attention_2" in caplog.text
    assert 0 <= model.score(IMAGE).total <= 100


@pytest.mark.parametrize(
    "value, system", [(None, "None"), ("Be brief.", "Be brief."), (..., DEFAULT_SYSTEM_MESSAGE)]
)
def test_system_message_rule(tmp_path, value, system):
    spec = CheckpointSpec() if value is ... else CheckpointSpec(system_message=value)
    model = load(make_checkpoint(tmp_path / "sys", spec))
    prefix = model.engine.tokenizer.decode(model.engine.prefix_ids)
    assert prefix.startswith(f"<|im_start|>system\n{system}<|im_end|>\n")


def test_tokenizer_without_tokenizer_json_tokenizes_identically(tmp_path):
    with_json = load(make_checkpoint(tmp_path / "a", CheckpointSpec())).engine
    without = load(make_checkpoint(tmp_path / "b", CheckpointSpec(tokenizer_json=False))).engine
    assert not (tmp_path / "b" / "tokenizer.json").exists()
    assert with_json.prefix_ids == without.prefix_ids
    assert with_json.score_suffixes == without.score_suffixes
    assert with_json.ids == without.ids


def test_hub_id_already_downloaded_is_reused(base, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(base, tmp_path / "checkpoints" / "ArtiMuse_AVA")
    model = artimuse.load("Thunderbolt215215/ArtiMuse_AVA", device="cpu", dtype="float32")
    assert model.name == "ArtiMuse_AVA"


# --- failures, each with its message --------------------------------------------------------


def test_missing_directory_names_path_and_download_command(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load(tmp_path / "ArtiMuse_PARA")
    message = str(error.value)
    assert str(tmp_path / "ArtiMuse_PARA") in message
    missing = tmp_path / "ArtiMuse_PARA"
    assert f"artimuse download ArtiMuse_PARA --dir {missing} (or: hf download " \
        f"Thunderbolt215215/ArtiMuse_PARA --local-dir {missing}; from mainland China: " \
        f"artimuse download ArtiMuse_PARA --dir {missing} --source modelscope)" in message


def test_hub_id_offline_gives_the_download_command(tmp_path, monkeypatch):
    from huggingface_hub import constants  # where huggingface_hub keeps HF_HUB_OFFLINE=1

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(FileNotFoundError) as error:
        artimuse.load("Thunderbolt215215/ArtiMuse", device="cpu")
    message = str(error.value)
    assert "cannot download Thunderbolt215215/ArtiMuse: offline mode is on" in message
    assert "it is not in the hub cache" in message


def test_missing_config(broken):
    (broken / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(f"{broken / 'config.json'} is missing")):
        load(broken)


def test_config_not_json(broken):
    (broken / "config.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        load(broken)


def test_config_not_internvl(broken):
    edit_json(broken / "config.json", lambda c: c.pop("llm_config"))
    with pytest.raises(ValueError, match="has no `llm_config`"):
        load(broken)


def test_unsupported_architecture(broken):
    edit_json(broken / "config.json", lambda c: c["llm_config"].update(architectures=["NopeLM"]))
    with pytest.raises(ValueError, match="language model 'NopeLM' is not a transformers class"):
        load(broken)


def test_missing_weights(broken):
    (broken / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no weights in .*expected model.safetensors"):
        load(broken)


def test_missing_shard(tmp_path):
    path = make_checkpoint(tmp_path / "sharded", CheckpointSpec(shards=2))
    (path / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="weight shards missing: .*model-00002-of-00002"):
        load(path)


@pytest.mark.parametrize("keep", [0.5, 0.0001], ids=["truncated", "header-only"])
def test_truncated_weights_name_the_file(broken, keep):
    weights = broken / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: max(8, int(len(data) * keep))])
    with pytest.raises(ValueError, match=re.escape(f"{weights} is corrupt or truncated")):
        load(broken)


def test_missing_and_unexpected_keys_are_named(broken):
    weights = broken / "model.safetensors"
    tensors = load_file(weights)
    del tensors["mlp1.3.bias"]
    tensors["vision_model.extra.weight"] = torch.zeros(2)
    save_file(tensors, weights)
    with pytest.raises(ValueError) as error:
        load(broken)
    message = str(error.value)
    assert "1 missing (mlp1.3.bias)" in message
    assert "1 unexpected (vision_model.extra.weight)" in message


def test_shape_mismatch_is_named(broken):
    weights = broken / "model.safetensors"
    tensors = load_file(weights)
    tensors["mlp1.1.weight"] = torch.zeros(3, 3, dtype=torch.bfloat16)
    save_file(tensors, weights)
    with pytest.raises(
        ValueError, match=re.escape("mlp1.1.weight is (3, 3) in the file, (64, 256) in the model")
    ):
        load(broken)


def test_score_token_that_is_not_single(broken):
    merges = broken / "merges.txt"
    merges.write_text(merges.read_text(encoding="utf-8").replace("\ne y\n", "\n"), "utf-8")
    (broken / "tokenizer.json").unlink()
    with pytest.raises(ValueError, match="score tokens that are not single tokens: ey"):
        load(broken)


def test_missing_image_token(broken):
    def drop(config):
        decoder = config["added_tokens_decoder"]
        for key in [k for k, v in decoder.items() if v["content"] == "<IMG_CONTEXT>"]:
            del decoder[key]

    edit_json(broken / "tokenizer_config.json", drop)
    edit_json(broken / "added_tokens.json", lambda t: t.pop("<IMG_CONTEXT>"))
    (broken / "tokenizer.json").unlink()
    with pytest.raises(ValueError, match="special tokens missing: <IMG_CONTEXT>"):
        load(broken)


@pytest.mark.parametrize("name", ["cuda:7", "gpu", "", "cpu:banana"])
def test_bad_device_names_it_and_what_exists(name):
    with pytest.raises(ValueError, match=f"device {re.escape(repr(name))} is not available.*cpu"):
        resolve_device(name)


def test_bad_dtype():
    with pytest.raises(ValueError, match="dtype 'float8' is not supported"):
        resolve_dtype("float8", torch.device("cpu"))


def test_auto_device_and_dtype_on_this_machine():
    device = resolve_device("auto")
    assert device.type in ("cpu", "cuda", "mps")
    assert resolve_dtype("auto", torch.device("cpu")) == torch.bfloat16
    assert resolve_dtype("auto", torch.device("mps")) == torch.float16
    assert resolve_dtype("fp32", device) == torch.float32


def test_read_config_keeps_unknown_keys(base):
    assert read_config(base)["template"] == "internvl2_5"
