"""The ArtiMuse model: InternViT -> pixel shuffle -> `mlp1` -> causal LM (behaviour §2).

Parameter names are the original InternVL-Chat ones (`vision_model.*`, `mlp1.*`,
`language_model.*`), so a released checkpoint loads with a strict `load_state_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from artimuse.errors import CheckpointError
from artimuse.model.vision import InternVisionModel, VisionConfig


@dataclass(frozen=True)
class ModelConfig:
    vision: VisionConfig
    image_size: int  # `force_image_size`, else `vision_config.image_size`
    downsample_ratio: float = 0.5
    select_layer: int = -1
    ps_version: str = "v2"

    @property
    def num_image_tokens(self) -> int:
        return int((self.image_size // self.vision.patch_size) ** 2 * self.downsample_ratio**2)


def pixel_shuffle(x: torch.Tensor, scale: float, version: str = "v2") -> torch.Tensor:
    """InternVL pixel shuffle: (n, w, h, c) -> (n, w*scale, h*scale, c/scale**2)."""
    n, w, h, c = x.shape
    if (h * scale) % 1 or (w * scale) % 1:
        raise CheckpointError(f"pixel shuffle: grid {w}x{h} is not divisible by 1/{scale}")
    x = x.reshape(n, w, int(h * scale), int(c / scale))
    x = x.permute(0, 2, 1, 3).contiguous()  # (n, h*scale, w, c/scale)
    x = x.reshape(n, int(h * scale), int(w * scale), int(c / (scale * scale)))
    if version == "v1":  # the original's legacy order, kept for old checkpoints
        return x
    return x.permute(0, 2, 1, 3).contiguous()  # v2: back to (w, h) order


class ArtiMuseModel(nn.Module):
    def __init__(self, config: ModelConfig, language_model: nn.Module):
        super().__init__()
        self.config = config
        vit_hidden = config.vision.hidden_size * int(1 / config.downsample_ratio) ** 2
        llm_hidden = language_model.config.hidden_size
        self.vision_model = InternVisionModel(config.vision)
        self.mlp1 = nn.Sequential(
            nn.LayerNorm(vit_hidden),
            nn.Linear(vit_hidden, llm_hidden),
            nn.GELU(),
            nn.Linear(llm_hidden, llm_hidden),
        )
        self.language_model = language_model

    @property
    def device(self) -> torch.device:
        return self.mlp1[0].weight.device  # a norm: never repacked (cpu_compute)

    @property
    def dtype(self) -> torch.dtype:
        return self.mlp1[0].weight.dtype

    def image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(n, 3, S, S) -> (n, num_image_tokens, llm_hidden), in the model's dtype."""
        pixel_values = pixel_values.to(self.device, self.dtype)
        hidden = self.vision_model(pixel_values, self.config.select_layer)[:, 1:]  # drop CLS
        n, tokens, c = hidden.shape
        side = int(tokens**0.5)
        grid = hidden.reshape(n, side, side, c)
        grid = pixel_shuffle(grid, self.config.downsample_ratio, self.config.ps_version)
        return self.mlp1(grid.reshape(n, -1, grid.shape[-1]))

    def embed(self, input_ids: torch.Tensor, features: torch.Tensor, image_token_id: int):
        """Token embeddings with `<IMG_CONTEXT>` positions replaced, in order, by `features`.

        input_ids (n, L), features (n, T, D) -> (n, L, D).
        """
        embeds = self.language_model.get_input_embeddings()(input_ids)
        is_image = input_ids == image_token_id
        if int(is_image.sum()) != features.shape[0] * features.shape[1]:
            raise CheckpointError(
                f"the prompt holds {int(is_image.sum())} image tokens but the vision encoder "
                f"gave {features.shape[0] * features.shape[1]} features"
            )
        embeds[is_image] = features.reshape(-1, features.shape[-1]).to(embeds.dtype)
        return embeds
