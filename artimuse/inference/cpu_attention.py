"""The language model's attention in float32 for one row, on CPUs whose bf16 matmuls are slow.

Where the CPU has no bf16 instructions, PyTorch's bf16 SDPA is several times slower than the
same attention on float32 copies of its inputs at a single comment's decode step (measured
limited to AVX2, 14 query heads over 2 KV heads and 330 cached positions: 327 us against 68;
7 of a 1b decode step's 52 ms went to it), and no slower for a prefill. In the engine's batch
of 8 comments the copies of the keys and values cost more than they save (1b decode step:
77 ms in bf16, 83 ms in float32), so batches keep bf16. The kernel choice
(inference.cpu_kernels) switches the LM to this implementation, registered with transformers'
attention interface the documented way: SDPA itself, with SDPA's own masks.
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

FLOAT32_SDPA = "artimuse_sdpa_float32"


def sdpa_in_float32(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor,
                    value: torch.Tensor, attention_mask, **kwargs):
    if query.shape[0] > 1:  # a batch: bf16 (above)
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    out, weights = sdpa_attention_forward(
        module, query.float(), key.float(), value.float(), attention_mask, **kwargs
    )
    return out.to(query.dtype), weights


AttentionInterface.register(FLOAT32_SDPA, sdpa_in_float32)
AttentionMaskInterface.register(FLOAT32_SDPA, sdpa_mask)


def attend_in_float32(model: torch.nn.Module) -> bool:
    """Switch the model's language model from SDPA to SDPA in float32 (other attention
    implementations, such as a test's eager one, stay). True if switched."""
    lm = getattr(model, "language_model", None)
    if lm is None or lm.config._attn_implementation != "sdpa":
        return False
    lm.config._attn_implementation = FLOAT32_SDPA
    return True
