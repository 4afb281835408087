"""Every config fault found by hand is one line at load time naming the file and the field."""

from __future__ import annotations

import json
import shutil

import pytest

import artimuse
from artimuse.errors import CheckpointError
from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("faults") / "tiny", CheckpointSpec(seed=11))


def _set(*keys):
    """A change that sets config[keys[0]]...[keys[-2]] = keys[-1]."""

    def change(config):
        *path, last, value = keys
        for key in path:
            config = config[key]
        config[last] = value
        return None

    return change


def _delete(section, key):
    def change(config):
        del config[section][key]

    return change


CASES = {  # name -> (file, change of its JSON or its new text, file and field in the message)
    "config is a list": ("config.json", "[]", "config.json must hold a JSON object, got list"),
    "tokenizer config is a list": (
        "tokenizer_config.json",
        "[1, 2]",
        "tokenizer_config.json must hold a JSON object, got list",
    ),
    "tokenizer config is not JSON": (
        "tokenizer_config.json",
        '{"tokenizer_class": ',
        "tokenizer_config.json is not valid JSON",
    ),
    "architectures is a number": (
        "config.json",
        _set("llm_config", "architectures", 5),
        "config.json: llm_config.architectures must be a list",
    ),
    "llm hidden_size is text": (
        "config.json",
        _set("llm_config", "hidden_size", "64"),
        "config.json: llm_config.hidden_size must be a positive integer, got '64'",
    ),
    "vision hidden_size missing": (
        "config.json",
        _delete("vision_config", "hidden_size"),
        "config.json: vision_config.hidden_size is missing",
    ),
    "vision hidden_size is text": (
        "config.json",
        _set("vision_config", "hidden_size", "64"),
        "config.json: vision_config.hidden_size must be a positive integer, got '64'",
    ),
    "patch_size zero": (
        "config.json",
        _set("vision_config", "patch_size", 0),
        "config.json: vision_config.patch_size must be a positive integer, got 0",
    ),
    "downsample_ratio zero": (
        "config.json",
        _set("downsample_ratio", 0),
        "config.json: downsample_ratio must be a positive number, got 0",
    ),
    "force_image_size negative": (
        "config.json",
        _set("force_image_size", -448),
        "config.json: force_image_size must be a positive integer, got -448",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_config_fault_is_one_line_naming_file_and_field(case, base, tmp_path):
    target = tmp_path / "broken"
    shutil.copytree(base, target)
    name, change, expected = CASES[case]
    file = target / name
    if isinstance(change, str):
        file.write_text(change, encoding="utf-8")
    else:
        data = json.loads(file.read_text(encoding="utf-8"))
        change(data)
        file.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CheckpointError) as caught:
        artimuse.load(str(target), device="cpu", dtype="float32")
    message = str(caught.value)
    assert expected in message and str(target) in message
    assert "\n" not in message


def test_a_deeply_nested_config_is_one_line(base, tmp_path):
    target = tmp_path / "deep"
    shutil.copytree(base, target)
    (target / "config.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(CheckpointError, match="config.json is nested too deeply"):
        artimuse.load(str(target), device="cpu", dtype="float32")
