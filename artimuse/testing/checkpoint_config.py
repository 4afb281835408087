"""The `config.json` of a random checkpoint, as the released InternVL-Chat checkpoints write it.

Field for field what transformers 4.37 serialised for `InternVLChatConfig`, its
`InternVisionConfig` and the LM config (behaviour §1):
`rope_theta` and `torch_dtype` at top level of
`llm_config`, not transformers 5's `rope_parameters` / `dtype`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import transformers

from artimuse.templates import TEMPLATES
from artimuse.testing import sentencepiece_files, tokenizer_files

if TYPE_CHECKING:
    from artimuse.testing.spec import CheckpointSpec

_AUTO_MAP = {
    "AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
    "AutoModel": "modeling_internvl_chat.InternVLChatModel",
    "AutoModelForCausalLM": "modeling_internvl_chat.InternVLChatModel",
}
# Fields that the 4.37-era config classes of these LMs write besides the common ones.
_LM_EXTRAS: dict[str, dict] = {
    "qwen2": {"max_window_layers": 28, "sliding_window": 32768, "use_sliding_window": False},
    "llama": {"attention_bias": False, "mlp_bias": False, "pretraining_tp": 1},
    "phi3": {"embd_pdrop": 0.0, "original_max_position_embeddings": 4096, "resid_pdrop": 0.0,
             "sliding_window": 2047},
    "internlm2": {"bias": False, "attn_implementation": "eager", "auto_map": {
        "AutoConfig": "configuration_internlm2.InternLM2Config",
        "AutoModel": "modeling_internlm2.InternLM2ForCausalLM",
        "AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM",
    }},
}


class _Absent:
    """Marks `CheckpointSpec.system_message` as 'no such key in config.json'."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


def vision_config(spec: CheckpointSpec) -> dict:
    """`config.json["vision_config"]`: the InternVisionConfig fields the released files carry."""
    return {
        "_name_or_path": "OpenGVLab/InternViT-300M-448px-V2_5",
        "architectures": ["InternVisionModel"],
        "model_type": "intern_vit_6b",
        "attention_dropout": 0.0,
        "drop_path_rate": 0.1,  # training value; identity at inference
        "dropout": 0.0,
        "hidden_act": "gelu",
        "hidden_size": spec.vision_hidden,
        "image_size": spec.image_size,
        "initializer_factor": 0.1,
        "initializer_range": 1e-10,
        "intermediate_size": spec.vision_mlp,
        "layer_norm_eps": 1e-6,
        "norm_type": spec.norm_type,
        "num_attention_heads": spec.vision_heads,
        "num_channels": 3,
        "num_hidden_layers": spec.vision_layers,
        "patch_size": spec.patch_size,
        "qk_normalization": spec.qk_normalization,
        "qkv_bias": spec.qkv_bias,
        "torch_dtype": spec.dtype,
        "use_flash_attn": True,
    }


def _model_type(spec: CheckpointSpec) -> str:
    if spec.llm_arch == "InternLM2ForCausalLM":
        return "internlm2"
    lm_class = getattr(transformers, spec.llm_arch, None)
    if not hasattr(lm_class, "config_class"):
        raise ValueError(f"llm_arch {spec.llm_arch!r} is not a transformers model class")
    return lm_class.config_class.model_type


def _layout(spec: CheckpointSpec):
    if spec.tokenizer == "qwen2":
        return None
    if spec.tokenizer not in sentencepiece_files.LAYOUTS:
        raise ValueError(f"tokenizer must be qwen2 or one of {sorted(sentencepiece_files.LAYOUTS)}")
    return sentencepiece_files.LAYOUTS[spec.tokenizer]


def tokenizer_length(spec: CheckpointSpec) -> int:
    layout = _layout(spec)
    if layout is None:
        return tokenizer_files.tokenizer_length()
    return sentencepiece_files.tokenizer_length(layout)


def _special_ids(spec: CheckpointSpec) -> dict[str, int]:
    """bos / eos / pad ids for llm_config, as each family's released configs have them."""
    layout = _layout(spec)
    if layout is None:
        eot = tokenizer_files.added_token_ids()[tokenizer_files.PAD_TOKEN]
        return {"bos_token_id": eot, "eos_token_id": eot}
    ids = {"<s>": 1, "</s>": 2, **sentencepiece_files.added_token_ids(layout)}
    return {"bos_token_id": 1, "eos_token_id": ids[layout.eos], "pad_token_id": ids[layout.pad]}


def stop_token_id(spec: CheckpointSpec) -> int:
    """The id of the chat template's stop token in the spec's tokenizer."""
    stop = TEMPLATES[spec.template].stop
    layout = _layout(spec)
    if layout is None:
        return tokenizer_files.added_token_ids()[stop]
    return {"</s>": 2, **sentencepiece_files.added_token_ids(layout)}[stop]


def write_tokenizer(path: Path, spec: CheckpointSpec) -> None:
    layout = _layout(spec)
    if layout is None:
        tokenizer_files.write_tokenizer(path, tokenizer_json=spec.tokenizer_json)
    else:
        sentencepiece_files.write_tokenizer(path, layout)


def tokenizer_fingerprint(spec: CheckpointSpec) -> bytes:
    if _layout(spec) is None:
        return json.dumps(tokenizer_files.base_vocab_and_merges()).encode()
    return sentencepiece_files.model_bytes()


def internlm2_shapes(spec: CheckpointSpec) -> dict[str, tuple[int, ...]]:
    """InternLM2ForCausalLM's state dict (no biases, as `bias: false`), in the original names."""
    d, m, v = spec.llm_hidden, spec.llm_mlp, spec.vocab_size or tokenizer_length(spec)
    head = d // spec.llm_heads
    shapes = {"model.tok_embeddings.weight": (v, d)}
    for i in range(spec.llm_layers):
        layer = f"model.layers.{i}."
        shapes |= {
            layer + "attention.wqkv.weight": ((spec.llm_heads + 2 * spec.llm_kv_heads) * head, d),
            layer + "attention.wo.weight": (d, d),
            layer + "feed_forward.w1.weight": (m, d),
            layer + "feed_forward.w3.weight": (m, d),
            layer + "feed_forward.w2.weight": (d, m),
            layer + "attention_norm.weight": (d,),
            layer + "ffn_norm.weight": (d,),
        }
    return shapes | {"model.norm.weight": (d,), "output.weight": (v, d)}


def llm_config(spec: CheckpointSpec) -> dict:
    """`config.json["llm_config"]` in the transformers-4.37 form the released files use
    (`rope_theta` and `torch_dtype` at top level, not v5's `rope_parameters` / `dtype`)."""
    model_type = _model_type(spec)
    length = tokenizer_length(spec)
    if spec.vocab_size is not None and spec.vocab_size < length:
        raise ValueError(f"vocab_size {spec.vocab_size} < tokenizer length {length}")
    rope_scaling = None
    if spec.rope_scaling is not None:
        rope_scaling = {"factor": spec.rope_scaling[1], "type": spec.rope_scaling[0]}
    config = {
        "_name_or_path": f"random-{model_type}",
        "architectures": [spec.llm_arch],
        "model_type": model_type,
        "attention_dropout": 0.0,
        **_special_ids(spec),
        "hidden_act": "silu",
        "hidden_size": spec.llm_hidden,
        "initializer_range": 0.02,
        "intermediate_size": spec.llm_mlp,
        "max_position_embeddings": 32768,
        "num_attention_heads": spec.llm_heads,
        "num_hidden_layers": spec.llm_layers,
        "num_key_value_heads": spec.llm_kv_heads,
        "rms_norm_eps": 1e-6,
        "rope_scaling": rope_scaling,
        "rope_theta": 1000000.0,
        "tie_word_embeddings": False,
        "torch_dtype": spec.dtype,
        "transformers_version": "4.37.2",
        "use_bfloat16": spec.dtype == "bfloat16",
        "use_cache": True,
        "vocab_size": spec.vocab_size or length,
        **_LM_EXTRAS.get(model_type, {}),
    }
    if spec.attn_implementation is not None:
        config["attn_implementation"] = spec.attn_implementation
        config["_attn_implementation"] = spec.attn_implementation
    return config


def model_config(spec: CheckpointSpec) -> dict:
    """The whole `config.json` (top-level InternVLChatConfig fields as released)."""
    config = {
        "_commit_hash": None,
        "architectures": ["InternVLChatModel"],
        "auto_map": dict(_AUTO_MAP),
        "downsample_ratio": 0.5,
        "dynamic_image_size": False,
        "force_image_size": spec.image_size,
        "hidden_size": spec.llm_hidden,
        "llm_config": llm_config(spec),
        "max_dynamic_patch": 12,
        "min_dynamic_patch": 1,
        "model_type": "internvl_chat",
        "pad2square": False,
        "ps_version": "v2",
        "select_layer": -1,
        "template": spec.template,
        "tie_word_embeddings": False,
        "torch_dtype": spec.dtype,
        "transformers_version": None,
        "use_backbone_lora": 0,
        "use_llm_lora": 0,
        "use_thumbnail": False,
        "vision_config": vision_config(spec),
    }
    if spec.system_message is not ABSENT:
        config["system_message"] = spec.system_message
    return config
