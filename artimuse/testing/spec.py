"""The shape and storage of a random checkpoint (`CheckpointSpec`) and the named presets."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from artimuse.testing.checkpoint_config import ABSENT

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


@dataclass(frozen=True)
class CheckpointSpec:
    """Shape and storage of a random checkpoint; the defaults run in well under a second on CPU."""

    vision_layers: int = 2
    vision_hidden: int = 64
    vision_heads: int = 4
    vision_mlp: int = 256
    image_size: int = 448  # 448 / 14 = 32 patches a side -> 256 image tokens, as released
    patch_size: int = 14
    norm_type: str = "layer_norm"  # or "rms_norm" (InternViT-6B)
    qk_normalization: bool = False
    qkv_bias: bool = True
    llm_arch: str = "Qwen2ForCausalLM"  # any transformers *ForCausalLM with a Llama-like config
    llm_layers: int = 2
    llm_hidden: int = 64
    llm_heads: int = 4
    llm_kv_heads: int = 2
    llm_mlp: int = 176
    vocab_size: int | None = None  # None: the tokenizer's length; may be larger (padded rows)
    dtype: str = "bfloat16"  # as the released checkpoints
    shards: int = 1  # > 1: model-0000k-of-0000n.safetensors + model.safetensors.index.json
    system_message: object = ABSENT  # any other value (None too) is written to config.json
    attn_implementation: str | None = None  # e.g. "flash_attention_2", as training writes it
    tokenizer_json: bool = True  # False: no tokenizer.json, like the released checkpoints
    tokenizer: str = "qwen2"  # or a sentencepiece layout: internlm2, phi3, llama
    template: str = "internvl2_5"  # config.json's chat template (artimuse.templates)
    rope_scaling: tuple[str, float] | None = None  # (type, factor) in llm_config
    # > 1: the output row of the template's stop token scaled up, so that some greedy comments
    # of the random model end early (every stop path is then exercised)
    stop_gain: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.norm_type not in ("layer_norm", "rms_norm"):
            raise ValueError(f"norm_type must be layer_norm or rms_norm, not {self.norm_type!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, not {self.dtype!r}")
        grid, rest = divmod(self.image_size, self.patch_size)
        if rest or grid % 2:  # pixel shuffle with ratio 0.5 needs an even patch grid
            raise ValueError(
                f"image_size {self.image_size} must be an even multiple of the "
                f"patch size {self.patch_size}"
            )
        if self.vision_hidden % self.vision_heads or self.llm_hidden % self.llm_heads:
            raise ValueError("hidden sizes must be multiples of the head counts")
        if self.llm_heads % self.llm_kv_heads or self.shards < 1:
            raise ValueError("llm_heads must be a multiple of llm_kv_heads; shards must be >= 1")


_VIT_300M = {"vision_layers": 24, "vision_hidden": 1024, "vision_heads": 16, "vision_mlp": 4096}
PRESETS: dict[str, CheckpointSpec] = {
    "tiny": CheckpointSpec(),
    # The original's other language models, each with its family's tokenizer and template;
    # InternLM2 with the inert dynamic rope scaling of the InternVL2 checkpoints.
    "tiny-internlm2": CheckpointSpec(
        llm_arch="InternLM2ForCausalLM", tokenizer="internlm2", template="internlm2-chat",
        rope_scaling=("dynamic", 2.0), stop_gain=1.5,
    ),
    "tiny-phi3": CheckpointSpec(
        llm_arch="Phi3ForCausalLM", tokenizer="phi3", template="phi3-chat", stop_gain=4.0
    ),
    "tiny-llama": CheckpointSpec(
        llm_arch="LlamaForCausalLM", tokenizer="llama", template="Hermes-2", stop_gain=3.0
    ),
    # InternViT-300M + Qwen2.5-0.5B (InternVL3-1B shape), ~1.9 GB in bf16.
    "1b": CheckpointSpec(
        **_VIT_300M,
        llm_layers=24,
        llm_hidden=896,
        llm_heads=14,
        llm_kv_heads=2,
        llm_mlp=4864,
        vocab_size=151674,
    ),
    # InternViT-300M + Qwen2.5-7B (ArtiMuse 8B shape), ~16 GB in bf16, four ~4 GB shards.
    "8b": CheckpointSpec(
        **_VIT_300M,
        llm_layers=28,
        llm_hidden=3584,
        llm_heads=28,
        llm_kv_heads=4,
        llm_mlp=18944,
        vocab_size=151674,
        shards=4,
    ),
}
