"""A compiled greedy decode step over a static KV cache (`ARTIMUSE_COMPILE=1`).

Eager decoding launches hundreds of small kernels per step from Python; on a GPU that, not
reading the weights, sets the pace. Here the comment batch's cache is copied once into a
`StaticCache` as long as the batch can ever get (rounded up to `CACHE_BUCKET`, so comments of
other lengths reuse the same compiled step), and one step - the decoder over one token per row,
`lm_head`, the argmax - is `torch.compile`d with fixed shapes; on CUDA as a CUDA graph
(`mode="reduce-overhead"`). The step's inputs change only in values (token, position, cache
length), so it compiles once per batch size and cache length.

The attention mask is built here as a 4-D boolean mask over the whole static cache (the valid
positions of each row up to the current one), which transformers passes to SDPA as it is: the
same keys are attended as in the eager path, so the greedy tokens are the same (tested in
float32; bf16 sums may round differently on other kernels).
"""

from __future__ import annotations

import inspect
import logging

import torch
from transformers import DynamicCache, StaticCache

log = logging.getLogger(__name__)
CACHE_BUCKET = 256  # static cache lengths are multiples of this: fewer shapes, fewer compiles


class CompiledDecoder:
    """Decode steps of one engine's language model over a reused static cache."""

    def __init__(self, backbone: torch.nn.Module, lm_head: torch.nn.Module, cache_arg: str):
        self.backbone, self.lm_head, self.cache_arg = backbone, lm_head, cache_arg
        self.cache: StaticCache | None = None
        self._shape: tuple[int, int] | None = None  # (batch, length) of `self.cache`
        params = inspect.signature(backbone.forward).parameters
        self._pass_cache_position = "cache_position" in params  # transformers < 5.2x
        mode = "reduce-overhead" if _device_of(backbone).type == "cuda" else None  # CUDA graphs
        self.step = torch.compile(self._step, mode=mode, dynamic=False, fullgraph=False)

    def start(self, cache: DynamicCache, valid: torch.Tensor, max_new_tokens: int) -> None:
        """Copy `cache` (batch B, length L) into the static cache, sized for `max_new_tokens`
        more tokens. `valid` (B, L): the positions each row attends to (pads are 0)."""
        batch, length = valid.shape
        size = -(-(length + max_new_tokens) // CACHE_BUCKET) * CACHE_BUCKET
        if self._shape != (batch, size):
            self.cache = _static_cache(self.backbone.config, size)
            self._shape = (batch, size)
        else:
            self.cache.reset()
        positions = torch.arange(length, device=valid.device)
        for index, layer in enumerate(cache.layers):
            self.cache.update(
                layer.keys, layer.values, index, cache_kwargs={"cache_position": positions}
            )
        self.valid = torch.zeros(batch, size, dtype=torch.bool, device=valid.device)
        self.valid[:, :length] = valid.bool()
        self.length = length  # the cache index the next token is written at

    @torch.no_grad()
    def next_tokens(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Feed `tokens` (B,) at rotary `positions` (B, 1); -> the greedy next tokens (B,)."""
        self.valid[:, self.length] = True
        index = torch.tensor([self.length], device=tokens.device)
        if hasattr(torch.compiler, "cudagraph_mark_step_begin"):
            torch.compiler.cudagraph_mark_step_begin()
        out = self.step(self.cache, tokens[:, None], positions, self.valid, index)
        self.length += 1
        return out.clone()  # a CUDA graph's output is overwritten by its next replay

    def _step(self, cache, ids, positions, valid, index) -> torch.Tensor:
        seen = valid & (torch.arange(valid.shape[1], device=valid.device) <= index)
        extra = {"cache_position": index} if self._pass_cache_position else {}
        out = self.backbone(
            input_ids=ids,
            attention_mask=seen[:, None, None, :],
            position_ids=positions,
            use_cache=True,
            **{self.cache_arg: cache},
            **extra,
        )
        return self.lm_head(out.last_hidden_state[:, -1]).float().argmax(-1)


def _static_cache(config, length: int) -> StaticCache:
    """A StaticCache of `length` positions (its tensors are made at the first update)."""
    return StaticCache(config=config, max_cache_len=length)


def _device_of(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device
