"""The original implementation's way of doing the same work, on top of our model modules.

What the seed does differently from `artimuse.inference.engine`, and nothing else:
- every prompt is run on its own: one vision pass and one prefill of the whole prompt
  (system + image tokens + question, ~300 tokens) per score, nothing shared between prompts;
- the total score is a prompt of its own, the 7 aspect scores 7 more (its demo server);
- the demo's comments: the 7 radar aspects as one left-padded batch of whole prompts, like
  InternVL's `batch_chat` (one tile per question, so the vision encoder runs on 7 copies of
  the image), decoded greedily together;
- its evaluation script: the total score, then the 8 comments one after another (`chat`).

The kernels are ours (same vision encoder, same transformers LM, the last hidden state taken
as a 2-D tensor before `lm_head`), so the ratios measure the work saved, not incidental
overheads of the original code (its random-init loading, its full-sequence `lm_head`).
Prompt ids are the engine's prefix + question ids, which the engine checks at load to equal
the tokenization of the whole prompt.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from transformers import DynamicCache

from artimuse.images import open_image, to_pixel_values
from artimuse.inference.engine import Engine
from artimuse.prompts import SCORE_KEYS


class SeedBaseline:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.model = engine.model
        self.score_ids = list(engine.ids.score)

    def prompt_ids(self, key: str) -> list[int]:
        """Whole-prompt ids: a score key (`total` or a radar aspect) or `comment:<aspect>`."""
        if key.startswith("comment:"):
            return self.engine.prefix_ids + self.engine.comment_suffix(key[len("comment:") :])
        return self.engine.prefix_ids + self.engine.score_suffixes[key]

    @torch.no_grad()
    def score(self, pixel_values: torch.Tensor, key: str = "total") -> torch.Tensor:
        """One prompt: vision pass + full prefill -> (101,) float32 probabilities (behaviour §7)."""
        ids = torch.tensor([self.prompt_ids(key)], device=self.model.device)  # (1, L)
        features = self.model.image_features(pixel_values)  # (1, T, D)
        embeds = self.model.embed(ids, features, self.engine.ids.img_context)
        hidden = self.engine.backbone(inputs_embeds=embeds, use_cache=False).last_hidden_state
        logits = self.engine.lm_head(hidden[:, -1])  # (1, V): the whole vocabulary, as the seed
        return logits[0, self.score_ids].float().softmax(-1)

    def scores(self, pixel_values: torch.Tensor, keys: Sequence[str] = SCORE_KEYS) -> dict:
        """key -> expected score, each prompt run on its own (the demo: total + 7 aspects)."""
        return {k: float(self.engine.expected_scores(self.score(pixel_values, k))) for k in keys}

    @torch.no_grad()
    def generate(
        self,
        pixel_values: torch.Tensor,
        keys: Sequence[str],
        max_new_tokens: int,
    ) -> Iterator[list[int]]:
        """Greedy decoding of whole prompts as one left-padded batch (`batch_chat`; one row =
        `chat`): the vision encoder runs once per row, the prefill covers every whole prompt.

        Yields every row's new token per step, like `Engine.generate`, and like it decodes
        `max_new_tokens` regardless of EOS when the engine's `ignore_eos` is set.
        """
        # Whole prompts left-padded as the engine pads suffixes, over an empty prefix: positions
        # are then what `generate` derives from the mask.
        ids, mask, positions = self.engine._suffix_batch([self.prompt_ids(k) for k in keys], 0)
        n, device = ids.shape[0], self.model.device
        features = self.model.image_features(pixel_values.expand(n, -1, -1, -1))  # (n, T, D)
        embeds = self.model.embed(ids, features, self.engine.ids.img_context)
        cache = DynamicCache(config=self.engine.backbone.config)
        last = self._forward(cache, embeds, mask, positions)
        positions = positions[:, -1:]
        ended = torch.zeros(n, dtype=torch.bool, device=device)
        im_end = self.engine.ids.im_end
        for step in range(max_new_tokens):
            token = torch.where(ended, im_end, self.engine.lm_head(last).argmax(-1))  # (n,)
            yield token.tolist()
            if not self.engine.ignore_eos:
                ended |= token == im_end
            if bool(ended.all()) or step == max_new_tokens - 1:
                return
            mask = F.pad(mask, (0, 1), value=1)
            positions = positions + 1
            embeds = self.model.language_model.get_input_embeddings()(token[:, None])
            last = self._forward(cache, embeds, mask, positions)

    def _forward(self, cache, embeds, mask, positions) -> torch.Tensor:
        out = self.engine.backbone(
            inputs_embeds=embeds,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self.engine.cache_arg: cache},
        )
        return out.last_hidden_state[:, -1]  # (n, H)

    def comments(self, pixel_values, aspects, max_new_tokens) -> list[list]:
        """Token ids per aspect, all aspects as one batch."""
        keys = [f"comment:{a}" for a in aspects]
        steps = list(self.generate(pixel_values, keys, max_new_tokens))
        return [list(row) for row in zip(*steps)]

    def dataset(self, paths: Sequence) -> list[float]:
        """The dataset script: one image at a time, decode, resize, total score only."""
        size = self.model.config.image_size
        return [
            float(self.engine.expected_scores(self.score(to_pixel_values(open_image(p), size))))
            for p in paths
        ]
