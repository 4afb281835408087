"""InternLM2 language models on transformers' Llama modules (behaviour §1).

InternLM2's decoder is Llama's computation under other weight names: RMSNorm -> attention with
rotary embeddings -> RMSNorm -> SiLU-gated MLP, a final RMSNorm and an untied output layer. The
one structural difference is the attention's input projection, one `wqkv` Linear whose output
rows are grouped per key/value head: for each of the `num_key_value_heads` groups, the
`heads / kv_heads` query heads, then that group's key head, then its value head (each
`head_dim` rows). Un-packing those rows into Llama's `q_proj` / `k_proj` / `v_proj` at load gives
the very same products, so transformers' maintained Llama (SDPA / flash attention, KV caches,
4-D masks, the compiled decoder, quantization) runs InternLM2 checkpoints and no remote code.

Config: InternLM2's `bias` puts biases on `wqkv` and `wo` only (Llama's `attention_bias`; the
MLP never has one); `rope_scaling` is `None` or `{"type": "linear" | "dynamic", "factor": f}`
with a float f >= 1 (the original's own check), which are Llama's rope types of those names.
"""

from __future__ import annotations

import re

import torch
from transformers import LlamaConfig

from artimuse.errors import CheckpointError

ARCHITECTURE = "InternLM2ForCausalLM"

# InternLM2ForCausalLM parameter name -> LlamaForCausalLM's (wqkv: split, see `_split_wqkv`).
_RENAMES = (
    (r"^model\.tok_embeddings\.", "model.embed_tokens."),
    (r"^output\.", "lm_head."),
    (r"\.attention\.wo\.", ".self_attn.o_proj."),
    (r"\.feed_forward\.w1\.", ".mlp.gate_proj."),
    (r"\.feed_forward\.w3\.", ".mlp.up_proj."),
    (r"\.feed_forward\.w2\.", ".mlp.down_proj."),
    (r"\.attention_norm\.", ".input_layernorm."),
    (r"\.ffn_norm\.", ".post_attention_layernorm."),
)
_WQKV = re.compile(r"^(model\.layers\.\d+)\.attention\.wqkv\.(weight|bias)$")


def llama_config(llm: dict, where: object) -> LlamaConfig:
    """The Llama config that computes what InternLM2's `llm_config` describes."""
    heads = llm.get("num_attention_heads", 32)
    fields = {
        "vocab_size": llm.get("vocab_size", 103168),
        "hidden_size": llm.get("hidden_size", 4096),
        "intermediate_size": llm.get("intermediate_size", 11008),
        "num_hidden_layers": llm.get("num_hidden_layers", 32),
        "num_attention_heads": heads,
        "num_key_value_heads": llm.get("num_key_value_heads") or heads,
        "hidden_act": llm.get("hidden_act", "silu"),
        "max_position_embeddings": llm.get("max_position_embeddings", 2048),
        "rms_norm_eps": llm.get("rms_norm_eps", 1e-6),
        "attention_bias": bool(llm.get("bias", True)),
        "mlp_bias": False,
        "tie_word_embeddings": False,  # InternVLChatConfig forces it off for every LM
        "rope_theta": llm.get("rope_theta", 10000),
        "pad_token_id": llm.get("pad_token_id", 0),
        "bos_token_id": llm.get("bos_token_id", 1),
        "eos_token_id": llm.get("eos_token_id", 2),
    }
    scaling = llm.get("rope_scaling")
    if scaling is not None:
        fields["rope_scaling"] = _rope_scaling(scaling, where)
    try:
        return LlamaConfig.from_dict(fields)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{where}: llm_config: {error}") from error


def _rope_scaling(scaling: object, where: object) -> dict:
    """The original's `_rope_scaling_validation`, as one-line errors."""
    ok = isinstance(scaling, dict) and len(scaling) == 2
    kind = scaling.get("type") if ok else None
    factor = scaling.get("factor") if ok else None
    if kind not in ("linear", "dynamic") or not isinstance(factor, float) or factor < 1.0:
        raise CheckpointError(
            f"{where}: llm_config.rope_scaling must be {{'type': 'linear' or 'dynamic', "
            f"'factor': a float >= 1}}, not {scaling!r}"
        )
    return {"rope_type": kind, "factor": factor}


def to_llama_weights(tensors: dict, config: LlamaConfig, prefix: str = "language_model.") -> dict:
    """The checkpoint's tensors with the LM's InternLM2 names turned into Llama's (in place of
    the originals, so peak memory does not grow). Keys it does not know stay as they are, for
    the strict load to report."""
    for key in [k for k in tensors if k.startswith(prefix)]:
        name = key[len(prefix) :]
        match = _WQKV.match(name)
        if match:
            layer, kind = match.groups()
            parts = _split_wqkv(tensors.pop(key), config)
            for proj, part in zip(("q_proj", "k_proj", "v_proj"), parts):
                tensors[f"{prefix}{layer}.self_attn.{proj}.{kind}"] = part
            continue
        renamed = name
        for pattern, replacement in _RENAMES:
            renamed = re.sub(pattern, replacement, renamed)
        if renamed != name:
            tensors[prefix + renamed] = tensors.pop(key)
    return tensors


def _split_wqkv(packed: torch.Tensor, config: LlamaConfig) -> tuple[torch.Tensor, ...]:
    """(kv_heads * (groups + 2) * head_dim, ...) -> q, k, v rows in Llama's head order."""
    kv_heads, head_dim = config.num_key_value_heads, config.head_dim
    groups = config.num_attention_heads // kv_heads
    expected = kv_heads * (groups + 2) * head_dim
    if packed.shape[0] != expected:
        raise CheckpointError(
            f"attention.wqkv has {packed.shape[0]} output rows; the config asks for {expected}"
        )
    grouped = packed.reshape(kv_heads, groups + 2, head_dim, *packed.shape[1:])
    rest = packed.shape[1:]
    query = grouped[:, :groups].reshape(kv_heads * groups * head_dim, *rest)
    key = grouped[:, groups].reshape(kv_heads * head_dim, *rest)
    value = grouped[:, groups + 1].reshape(kv_heads * head_dim, *rest)
    return query.contiguous(), key.contiguous(), value.contiguous()
