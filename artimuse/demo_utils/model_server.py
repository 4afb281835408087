"""The original demo's `ModelServer`, kept so the seed's scripts run unchanged (behaviour §9)."""

from __future__ import annotations

import torch

from artimuse.api import load
from artimuse.images import ImageInput
from artimuse.prompts import RADAR_ASPECTS


class ModelServer:
    def __init__(
        self,
        ckpt_dir: str,
        device: str = "auto",
        *,
        dtype: str | torch.dtype | None = None,
        max_new_tokens: int = 2048,
    ):
        self.model = load(ckpt_dir, device, dtype, max_new_tokens)

    def score_and_comment(self, img: ImageInput) -> tuple[dict[str, float], float, dict[str, str]]:
        """-> (aspect_scores, total_score, aspect_comments) for the 7 radar aspects."""
        assessment = self.model.assess(img, RADAR_ASPECTS)
        scores = assessment.scores
        return dict(scores.aspects), scores.total, dict(assessment.comments)
