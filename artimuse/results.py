"""What an assessment produces: scores, comments, and the events of a streamed one.

Their JSON shapes are in `artimuse.serialization`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from artimuse.prompts import ASPECTS, RADAR_ASPECTS

SCORE_BANDS = (  # (lower bound, words): a short verbal reading of the 0-100 total
    (80, "outstanding"),
    (65, "strong"),
    (50, "good"),
    (35, "fair"),
    (0, "weak"),
)


@dataclass(frozen=True)
class Scores:
    total: float  # expected value of the 101-way distribution, 0-100
    distribution: tuple[float, ...]  # probabilities of the scores 0..100 for the total
    aspects: dict[str, float] = field(default_factory=dict)  # the 7 radar aspects, if asked
    warnings: tuple[str, ...] = ()  # what decoding noticed but did not refuse (corrupt EXIF)

    @property
    def spread(self) -> float:
        """Standard deviation of the total's distribution: the model's (un)certainty."""
        return math.sqrt(sum(p * (k - self.total) ** 2 for k, p in enumerate(self.distribution)))

    @property
    def band(self) -> str:
        return next(words for bound, words in SCORE_BANDS if self.total >= bound)


@dataclass(frozen=True)
class Assessment:
    scores: Scores
    comments: dict[str, str]  # aspect -> comment, in ASPECTS order, for the aspects asked
    checkpoint: str = ""

    def to_seed_json(self) -> dict:
        """The original tool's single-image file, `{image_stem}_{model_name}_eval.json`."""
        return {"Aesthetic Score": self.scores.total, "Aesthetic Attributes": dict(self.comments)}

    def to_markdown(self, title: str = "ArtiMuse assessment") -> str:
        s = self.scores
        lines = [
            f"# {title}",
            "",
            f"**Aesthetic score: {s.total:.1f} / 100** ({s.band}, ± {s.spread:.1f})",
            "",
        ]
        if s.aspects:
            lines += ["| Aspect | Score |", "|---|---|"]
            lines += [f"| {a} | {s.aspects[a]:.1f} |" for a in RADAR_ASPECTS if a in s.aspects]
            lines.append("")
        for aspect in ASPECTS:
            if aspect in self.comments:
                lines += [f"## {aspect}", "", self.comments[aspect] or "_(no comment)_", ""]
        if self.checkpoint:
            lines.append(f"_Checkpoint: {self.checkpoint}_")
        return "\n".join(lines).rstrip() + "\n"


# Streaming events, in the order they arrive.
@dataclass(frozen=True)
class ScoresReady:
    scores: Scores


@dataclass(frozen=True)
class CommentDelta:
    aspect: str
    text: str  # new text; the deltas of an aspect concatenate to its final comment


@dataclass(frozen=True)
class CommentDone:
    aspect: str
    text: str  # the whole comment (behaviour §8)
    tokens: int  # new tokens generated, `<|im_end|>` included when reached


@dataclass(frozen=True)
class Finished:
    assessment: Assessment


Event = ScoresReady | CommentDelta | CommentDone | Finished
