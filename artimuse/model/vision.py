"""InternViT vision encoder with the original parameter names (behaviour §2).

Written here rather than taken from transformers because transformers' InternVL uses a converted
key layout (split q/k/v); with the original names `load_state_dict` checks every key as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from artimuse.errors import CheckpointError


@dataclass(frozen=True)
class VisionConfig:
    hidden_size: int
    num_attention_heads: int
    intermediate_size: int
    num_hidden_layers: int
    image_size: int
    patch_size: int = 14
    norm_type: str = "layer_norm"
    layer_norm_eps: float = 1e-6
    qk_normalization: bool = False
    qkv_bias: bool = True
    num_channels: int = 3

    @classmethod
    def from_dict(cls, raw: dict) -> VisionConfig:
        known = cls.__dataclass_fields__
        config = cls(**{key: raw[key] for key in known if key in raw})
        if config.norm_type not in ("layer_norm", "rms_norm"):
            raise CheckpointError(f"vision_config.norm_type {config.norm_type!r} is not supported")
        return config


class RMSNorm(nn.Module):
    """InternRMSNorm: statistics in float32, weight applied in the input dtype."""

    def __init__(self, size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def make_norm(config: VisionConfig, size: int) -> nn.Module:
    if config.norm_type == "rms_norm":
        return RMSNorm(size, config.layer_norm_eps)
    return nn.LayerNorm(size, eps=config.layer_norm_eps)


class Embeddings(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        c, p = config.hidden_size, config.patch_size
        self.grid = config.image_size // p
        self.class_embedding = nn.Parameter(torch.empty(1, 1, c))
        self.patch_embedding = nn.Conv2d(config.num_channels, c, kernel_size=p, stride=p)
        self.position_embedding = nn.Parameter(torch.empty(1, 1 + self.grid**2, c))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embedding(pixel_values.to(self.patch_embedding.weight.dtype))
        n, c, h, w = patches.shape
        patches = patches.flatten(2).transpose(1, 2)  # (n, h*w, c)
        cls = self.class_embedding.expand(n, 1, c).to(patches.dtype)
        positions = self.position_embedding
        if (h, w) != (self.grid, self.grid):  # bicubic-resize the grid, as the original does
            grid = positions[:, 1:].float().reshape(1, self.grid, self.grid, c).permute(0, 3, 1, 2)
            grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
            grid = grid.reshape(1, c, h * w).permute(0, 2, 1).to(positions.dtype)
            positions = torch.cat([positions[:, :1], grid], dim=1)
        return torch.cat([cls, patches], dim=1) + positions  # (n, 1+h*w, c)


class Attention(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        c = config.hidden_size
        self.heads = config.num_attention_heads
        self.qkv = nn.Linear(c, 3 * c, bias=config.qkv_bias)
        self.proj = nn.Linear(c, c)
        self.qk_normalization = config.qk_normalization
        if config.qk_normalization:  # over all heads together, before splitting them
            self.q_norm = RMSNorm(c, config.layer_norm_eps)
            self.k_norm = RMSNorm(c, config.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # each (n, t, c)
        if self.qk_normalization:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = (y.reshape(n, t, self.heads, c // self.heads).transpose(1, 2) for y in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)  # (n, heads, t, c/heads)
        return self.proj(out.transpose(1, 2).reshape(n, t, c))


class MLP(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class EncoderLayer(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.norm1 = make_norm(config, config.hidden_size)
        self.attn = Attention(config)
        self.ls1 = nn.Parameter(torch.empty(config.hidden_size))
        self.norm2 = make_norm(config, config.hidden_size)
        self.mlp = MLP(config)
        self.ls2 = nn.Parameter(torch.empty(config.hidden_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x).to(x.dtype)) * self.ls1
        return x + self.mlp(self.norm2(x).to(x.dtype)) * self.ls2


class Encoder(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.num_hidden_layers))


class InternVisionModel(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)

    def forward(self, pixel_values: torch.Tensor, select_layer: int = -1) -> torch.Tensor:
        """(n, 3, S, S) -> hidden states of layer `select_layer`, (n, 1 + G*G, C).

        Layer indices count the embeddings as 0, as `output_hidden_states` does; -1 is the last
        layer. Layers after the selected one are not run.
        """
        layers = self.encoder.layers
        stop = select_layer if select_layer >= 0 else len(layers) + 1 + select_layer
        if not 0 <= stop <= len(layers):
            raise CheckpointError(f"select_layer {select_layer} is outside 0..{len(layers)}")
        x = self.embeddings(pixel_values)
        for layer in layers[:stop]:
            x = layer(x)
        return x
