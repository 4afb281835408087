"""Scoring and comment generation: the one data path from pixels to results (behaviour §7-8).

All 16 prompts of an image share one prefix (system prompt + image tokens, ending at `</img>`)
and differ only in a short question. So per image: one vision pass, one prefill of the prefix,
the 8 score questions as one batch of suffixes over that cache (one forward), and the comments as
one batch of suffixes decoded greedily together, each row stopping at its own `<|im_end|>`.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from transformers import DynamicCache

from artimuse.errors import CheckpointError
from artimuse.inference.compiled import CompiledDecoder
from artimuse.loading.checkpoint import Checkpoint
from artimuse.prompts import (
    SCORE_KEYS,
    SCORE_QUESTIONS,
    comment_question,
    prompt_prefix,
    prompt_suffix,
)


class Engine:
    """Runs a loaded checkpoint. Building one changes nothing: the weights were put in their
    final form (kernels, score rows) when the checkpoint loaded, so engines can share one."""

    def __init__(self, checkpoint: Checkpoint, compiled: bool = False):
        self.model = checkpoint.model
        self.tokenizer = checkpoint.tokenizer
        self.ids = checkpoint.ids
        lm = self.model.language_model
        self.backbone = lm.get_decoder()
        self.lm_head = lm.get_output_embeddings()
        # transformers 5 renames `past_key_values` to `cache`; accept either (5.17 .. 5.24+).
        params = inspect.signature(self.backbone.forward).parameters
        self.cache_arg = "cache" if "cache" in params else "past_key_values"
        prefix = prompt_prefix(checkpoint.system, self.model.config.num_image_tokens)
        self.prefix_ids = self._encode(prefix)
        self.score_suffixes = {k: self._suffix(prefix, q) for k, q in SCORE_QUESTIONS.items()}
        self.score_rows = checkpoint.score_rows  # (101, H)
        self.score_values = torch.arange(101, dtype=torch.float32, device=self.model.device)
        # Flash attention takes no custom mask, so it scores over padded copies of the prefix.
        self.pack_scores = self.backbone.config._attn_implementation != "flash_attention_2"
        self.kernels = checkpoint.kernels  # what the loading steps chose (api.load)
        self.compiled = compiled  # decode over a static cache with a compiled step
        self._decoder: CompiledDecoder | None = None  # made at the first compiled decode
        self.ignore_eos = False  # benchmarks and tests: every comment runs to `max_new_tokens`

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def _suffix(self, prefix: str, question: str) -> list[int]:
        """The question's token ids after the shared prefix, checked against the full prompt."""
        suffix = self._encode(prompt_suffix(question))
        if self.prefix_ids + suffix != self._encode(prefix + prompt_suffix(question)):
            raise CheckpointError(
                "the tokenizer does not split prompts at `</img>`: cannot share the prefix"
            )
        return suffix

    def comment_suffix(self, aspect: str) -> list[int]:
        return self._encode(prompt_suffix(comment_question(aspect)))

    @torch.no_grad()
    def prefill(self, pixel_values: torch.Tensor) -> DynamicCache:
        """One vision pass and one prefill of the shared prefix for n images.

        pixel_values (n, 3, S, S) -> the prefix's KV cache, batch n, length P.
        """
        features = self.model.image_features(pixel_values)  # (n, T, D)
        n = features.shape[0]
        ids = torch.tensor([self.prefix_ids], device=self.model.device).expand(n, -1)
        embeds = self.model.embed(ids, features, self.ids.img_context)  # (n, P, D)
        cache = DynamicCache(config=self.backbone.config)
        self.backbone(inputs_embeds=embeds, use_cache=True, **{self.cache_arg: cache})
        return cache

    @torch.no_grad()
    def _forward(self, cache, ids, attention, positions) -> torch.Tensor:
        """Run new tokens over `cache` (updated in place); return each row's last hidden state."""
        out = self.backbone(
            input_ids=ids,
            attention_mask=attention,
            position_ids=positions,
            use_cache=True,
            **{self.cache_arg: cache},
        )
        # A 2-D (B, H) last state: lm_head on the 3-D strided view is very slow in bf16.
        return out.last_hidden_state[:, -1]

    def _suffix_batch(self, suffixes: Sequence[list[int]], prefix_len: int):
        """Left-pad the suffixes: pads sit between prefix and question and are masked out.

        -> ids (B, L), attention over prefix + suffix (B, P + L), positions (B, L).
        """
        width = max(len(s) for s in suffixes)
        device = self.model.device
        ids = torch.full((len(suffixes), width), self.ids.pad, dtype=torch.long, device=device)
        mask = torch.zeros((len(suffixes), width), dtype=torch.long, device=device)
        for row, suffix in enumerate(suffixes):
            ids[row, width - len(suffix) :] = torch.tensor(suffix, device=device)
            mask[row, width - len(suffix) :] = 1
        prefix_mask = torch.ones((len(suffixes), prefix_len), dtype=torch.long, device=device)
        positions = (prefix_len + mask.cumsum(-1) - 1).clamp_min(prefix_len)
        return ids, torch.cat([prefix_mask, mask], dim=1), positions

    @torch.no_grad()
    def scores(self, cache: DynamicCache, keys: Sequence[str] = SCORE_KEYS) -> torch.Tensor:
        """Score distributions for every image in `cache` and every key, in one forward.

        -> probabilities (n, len(keys), 101), float32 (behaviour §7: softmax over the 101 ids).
        """
        suffixes = [self.score_suffixes[k] for k in keys]
        if self.pack_scores:
            last = self._packed_suffix_scores(cache, suffixes)
        else:
            last = self._padded_suffix_scores(cache, suffixes)
        logits = F.linear(last, self.score_rows).float()  # in the model's dtype first, as the LM
        return logits.softmax(-1)  # (n, k, 101)

    def _packed_suffix_scores(self, cache: DynamicCache, suffixes: list[list[int]]):
        """All suffixes of an image in one row after its prefix, each seeing only the prefix and
        itself (a block-causal mask, positions restarting at P): no padding, no cache copies.

        -> the last hidden state of every suffix, (n, k, H).
        """
        n, prefix_len = cache.layers[0].keys.shape[0], cache.get_seq_length()
        device = self.model.device
        lengths = torch.tensor([len(s) for s in suffixes], device=device)
        ids = torch.tensor([t for s in suffixes for t in s], device=device)  # (L,)
        segment = torch.repeat_interleave(torch.arange(len(suffixes), device=device), lengths)
        offset = torch.arange(len(ids), device=device) - torch.repeat_interleave(
            lengths.cumsum(0) - lengths, lengths
        )
        causal = offset[:, None] >= offset[None, :]
        own = (segment[:, None] == segment[None, :]) & causal  # (L, L)
        sees_prefix = torch.ones(len(ids), prefix_len, dtype=torch.bool, device=device)
        mask = torch.cat([sees_prefix, own], dim=1)[None, None].expand(n, 1, -1, -1)
        out = self.backbone(
            input_ids=ids.expand(n, -1),
            attention_mask=mask,
            position_ids=(prefix_len + offset).expand(n, -1),
            use_cache=True,
            **{self.cache_arg: cache},
        )
        cache.crop(prefix_len - cache.get_seq_length())  # back to the prefix, for the comments
        return out.last_hidden_state[:, lengths.cumsum(0) - 1]

    def _padded_suffix_scores(self, cache: DynamicCache, suffixes: list[list[int]]):
        """The suffixes as a left-padded batch over copies of the prefix cache -> (n, k, H)."""
        n, prefix_len = cache.layers[0].keys.shape[0], cache.get_seq_length()
        cache = copy.deepcopy(cache)  # the comments continue from the untouched prefix
        cache.batch_repeat_interleave(len(suffixes))
        batch = self._suffix_batch(suffixes * n, prefix_len)  # image-major, like the cache
        return self._forward(cache, *batch).reshape(n, len(suffixes), -1)

    def expected_scores(self, probabilities: torch.Tensor) -> torch.Tensor:
        """(..., 101) probabilities -> (...) expected scores, sum_k k * p_k."""
        return probabilities @ self.score_values

    def generate(
        self,
        cache: DynamicCache,
        suffixes: Sequence[list[int]],
        max_new_tokens: int,
    ) -> Iterator[list[int]]:
        """Greedy decoding of one batch of suffixes over a one-image prefix cache.

        Yields the new token of every row at each step (rows that ended keep yielding
        `<|im_end|>`); stops when every row has ended or after `max_new_tokens` steps.
        With `self.ignore_eos` (benchmarks only) every row decodes `max_new_tokens` regardless.
        The cache is consumed. Closing the iterator stops the work and frees the cache.
        """
        suffixes = self._prefill_common_start(cache, suffixes)
        prefix_len = cache.get_seq_length()
        cache.batch_repeat_interleave(len(suffixes))
        ids, attention, positions = self._suffix_batch(suffixes, prefix_len)
        token = self._next_token(self._forward(cache, ids, attention, positions))
        positions = positions[:, -1:]
        step = self._compiled_steps if self.compiled else self._eager_steps
        advance = step(cache, attention, max_new_tokens)
        del cache  # held by `advance` (eager) or copied into the static cache (compiled)
        ended = torch.zeros(len(suffixes), dtype=torch.bool, device=ids.device)
        for n in range(max_new_tokens):
            token = torch.where(ended, self.ids.im_end, token)
            yield token.tolist()
            if not self.ignore_eos:
                ended |= token == self.ids.im_end
            if bool(ended.all()) or n == max_new_tokens - 1:
                return
            positions = positions + 1
            token = advance(token, positions)

    def _eager_steps(self, cache: DynamicCache, attention: torch.Tensor, max_new_tokens: int):
        """-> advance(tokens, positions): feed one token per row, return the next ones."""

        def advance(token: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
            nonlocal attention
            attention = F.pad(attention, (0, 1), value=1)
            return self._next_token(self._forward(cache, token[:, None], attention, positions))

        return advance

    def _compiled_steps(self, cache: DynamicCache, attention: torch.Tensor, max_new_tokens: int):
        """As `_eager_steps`, over a static copy of `cache` with the compiled step."""
        if self._decoder is None:
            self._decoder = CompiledDecoder(self.backbone, self.lm_head, self.cache_arg)
        self._decoder.start(cache, attention, max_new_tokens)
        return self._decoder.next_tokens

    @torch.no_grad()
    def _prefill_common_start(self, cache: DynamicCache, suffixes: Sequence[list[int]]):
        """Run the tokens that every suffix starts with once over the one-image prefix cache,
        not once per row: the comment questions share their first 13 tokens ("Please evaluate
        the aesthetic quality of this image from the aspect of"). -> the suffixes' rest; each
        keeps at least its last token, whose logits start the decoding.
        """
        common, shortest = 0, min(len(s) for s in suffixes)
        while common < shortest - 1 and len({s[common] for s in suffixes}) == 1:
            common += 1
        if common:
            start = cache.get_seq_length()
            positions = torch.arange(start, start + common, device=self.model.device)[None]
            ids = torch.tensor([suffixes[0][:common]], device=self.model.device)
            self._forward(cache, ids, None, positions)  # causal: the cache's own default
        return [s[common:] for s in suffixes]

    @torch.no_grad()
    def _next_token(self, last: torch.Tensor) -> torch.Tensor:
        # argmax in float32: exact (bf16 -> float32 is), and twice as fast on CPU as in bf16
        return self.lm_head(last).float().argmax(-1)  # (B,)
