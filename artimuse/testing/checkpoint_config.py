"""The `config.json` of a random checkpoint, as the released InternVL-Chat checkpoints write it.

Field for field what transformers 4.37 serialised for `InternVLChatConfig`, its
`InternVisionConfig` and the LM config (behaviour §1):
`rope_theta` and `torch_dtype` at top level of
`llm_config`, not transformers 5's `rope_parameters` / `dtype`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import transformers

from artimuse.testing.tokenizer_files import PAD_TOKEN, added_token_ids, tokenizer_length

if TYPE_CHECKING:
    from artimuse.testing.checkpoints import CheckpointSpec

_AUTO_MAP = {
    "AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
    "AutoModel": "modeling_internvl_chat.InternVLChatModel",
    "AutoModelForCausalLM": "modeling_internvl_chat.InternVLChatModel",
}
# Fields that the 4.37-era config classes of these LMs write besides the common ones.
_LM_EXTRAS: dict[str, dict] = {
    "qwen2": {"max_window_layers": 28, "sliding_window": 32768, "use_sliding_window": False},
    "llama": {"attention_bias": False, "mlp_bias": False, "pretraining_tp": 1},
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


def llm_config(spec: CheckpointSpec) -> dict:
    """`config.json["llm_config"]` in the transformers-4.37 form the released files use
    (`rope_theta` and `torch_dtype` at top level, not v5's `rope_parameters` / `dtype`)."""
    lm_class = getattr(transformers, spec.llm_arch, None)
    if not hasattr(lm_class, "config_class"):
        raise ValueError(f"llm_arch {spec.llm_arch!r} is not a transformers model class")
    model_type = lm_class.config_class.model_type
    if spec.vocab_size is not None and spec.vocab_size < tokenizer_length():
        raise ValueError(f"vocab_size {spec.vocab_size} < tokenizer length {tokenizer_length()}")
    eot = added_token_ids()[PAD_TOKEN]
    config = {
        "_name_or_path": f"random-{model_type}",
        "architectures": [spec.llm_arch],
        "model_type": model_type,
        "attention_dropout": 0.0,
        "bos_token_id": eot,
        "eos_token_id": eot,
        "hidden_act": "silu",
        "hidden_size": spec.llm_hidden,
        "initializer_range": 0.02,
        "intermediate_size": spec.llm_mlp,
        "max_position_embeddings": 32768,
        "num_attention_heads": spec.llm_heads,
        "num_hidden_layers": spec.llm_layers,
        "num_key_value_heads": spec.llm_kv_heads,
        "rms_norm_eps": 1e-6,
        "rope_scaling": None,
        "rope_theta": 1000000.0,
        "tie_word_embeddings": False,
        "torch_dtype": spec.dtype,
        "transformers_version": "4.37.2",
        "use_bfloat16": spec.dtype == "bfloat16",
        "use_cache": True,
        "vocab_size": spec.vocab_size or tokenizer_length(),
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
        "template": "internvl2_5",
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
