"""Checks of the config fields the model is built from, at load time (behaviour §1).

A checkpoint's config.json (and tokenizer_config.json) can hold anything; every field the model
uses is checked for its type and range before anything is built, so a bad one is a single
`CheckpointError` line naming the file and the field, not a traceback from deep inside torch or
transformers (or, worse, a model that loads and fails at the first image).
"""

from __future__ import annotations

from pathlib import Path

from artimuse.errors import CheckpointError

# Sizes the language model's transformers class builds from; each must be a positive integer
# when present (hidden_size always is: the projector is built from it).
LLM_SIZES = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "vocab_size",
)
VISION_REQUIRED = (
    "hidden_size",
    "num_attention_heads",
    "intermediate_size",
    "num_hidden_layers",
    "image_size",
)
VISION_KINDS = {  # field -> the check it must pass
    "hidden_size": "size",
    "num_attention_heads": "size",
    "intermediate_size": "size",
    "num_hidden_layers": "size",
    "image_size": "size",
    "patch_size": "size",
    "num_channels": "size",
    "layer_norm_eps": "positive",
    "qk_normalization": "bool",
    "qkv_bias": "bool",
    "norm_type": "text",
}


def check_object(value: object, file: Path) -> dict:
    """The top level of a JSON config must be an object."""
    if not isinstance(value, dict):
        raise CheckpointError(f"{file} must hold a JSON object, got {type(value).__name__}")
    return value


def check_config(config: dict, file: Path) -> None:
    """Every field of config.json the model uses, or one line naming the first bad one."""
    vision, llm = config["vision_config"], config["llm_config"]
    missing = [key for key in VISION_REQUIRED if key not in vision]
    if missing:
        raise CheckpointError(f"{file}: vision_config.{missing[0]} is missing")
    for key, kind in VISION_KINDS.items():
        if key in vision:
            _check(vision[key], kind, f"{file}: vision_config.{key}")
    if vision["hidden_size"] % vision["num_attention_heads"]:
        raise CheckpointError(
            f"{file}: vision_config.hidden_size {vision['hidden_size']} is not divisible by "
            f"num_attention_heads {vision['num_attention_heads']}"
        )
    _check_llm(llm, file)
    _check_top_level(config, vision, file)


def _check_llm(llm: dict, file: Path) -> None:
    architectures = llm.get("architectures")
    if not (
        isinstance(architectures, list)
        and architectures
        and all(isinstance(a, str) for a in architectures)
    ):
        raise CheckpointError(
            f"{file}: llm_config.architectures must be a list of class names such as "
            f'["Qwen2ForCausalLM"], got {architectures!r}'
        )
    if "hidden_size" not in llm:
        raise CheckpointError(f"{file}: llm_config.hidden_size is missing")
    for key in LLM_SIZES:
        if key in llm:
            _check(llm[key], "size", f"{file}: llm_config.{key}")


def _check_top_level(config: dict, vision: dict, file: Path) -> None:
    if config.get("force_image_size") is not None:
        _check(config["force_image_size"], "size", f"{file}: force_image_size")
    ratio = config.get("downsample_ratio", 0.5)
    _check(ratio, "positive", f"{file}: downsample_ratio")
    image_size = config.get("force_image_size") or vision["image_size"]
    grid = image_size // vision.get("patch_size", 14)
    factor = 1 / ratio
    if ratio > 1 or factor != int(factor) or grid == 0 or (grid * ratio) % 1:
        raise CheckpointError(
            f"{file}: downsample_ratio {ratio!r} does not fit a {grid}x{grid} patch grid "
            "(it must be 1/k for a whole k dividing the grid, 0.5 in ArtiMuse)"
        )
    select = config.get("select_layer", -1)
    if isinstance(select, bool) or not isinstance(select, int):
        raise CheckpointError(f"{file}: select_layer must be an integer, got {select!r}")
    version = config.get("ps_version", "v2")
    if version not in ("v1", "v2"):
        raise CheckpointError(f"{file}: ps_version must be 'v1' or 'v2', got {version!r}")


def _check(value: object, kind: str, where: str) -> None:
    if kind == "size":
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        wanted = "a positive integer"
    elif kind == "positive":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        wanted = "a positive number"
    elif kind == "bool":
        ok, wanted = isinstance(value, bool), "true or false"
    else:
        ok, wanted = isinstance(value, str), "a string"
    if not ok:
        raise CheckpointError(f"{where} must be {wanted}, got {value!r}")
