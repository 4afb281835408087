"""Every JSON shape an assessment is written in, and read back from, in one place.

- the original tool's single-image file (behaviour §9) and the fuller export built on it;
- reading such an export back into an `Assessment`;
- the answers of the REST service (behaviour §9 for `/infer`) and the CLI's JSON, as pydantic
  models (the OpenAPI document is generated from them): scores rounded to 3 decimals as the
  original demo does, the distribution to 6.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from artimuse.errors import InputError
from artimuse.prompts import ASPECTS, COMPREHENSIVE, RADAR_ASPECTS
from artimuse.results import (
    Assessment,
    CommentDelta,
    CommentDone,
    Event,
    Finished,
    Scores,
    ScoresReady,
)

SCORE_DECIMALS = 3
PROBABILITY_DECIMALS = 6
DISTRIBUTION_SIZE = 101  # the scores 0..100


# --- files ----------------------------------------------------------------------------------


def seed_json(assessment: Assessment) -> dict:
    """The original tool's single-image file (defined by `Assessment.to_seed_json`)."""
    return assessment.to_seed_json()


def assessment_json(assessment: Assessment) -> dict:
    """The seed file's two keys, then the aspect scores, the distribution and the checkpoint."""
    scores = assessment.scores
    return {
        **seed_json(assessment),
        "Aspect Scores": dict(scores.aspects),
        "Score Std": scores.spread,
        "Score Distribution": list(scores.distribution),
        "Checkpoint": assessment.checkpoint,
    }


def assessment_from_json(data: object) -> Assessment:
    """The inverse of `assessment_json` (`Score Std` is derived, so it is not read back).

    ValueError naming the first field that is missing or of the wrong kind.
    """
    if not isinstance(data, dict):
        raise InputError(f"an exported assessment is a JSON object, not {type(data).__name__}")
    total = _number(data, "Aesthetic Score")
    comments = _mapping(data, "Aesthetic Attributes", lambda v: isinstance(v, str), "texts")
    aspects = _mapping(data, "Aspect Scores", _is_number, "numbers")
    distribution = data.get("Score Distribution")
    if not (
        isinstance(distribution, list)
        and len(distribution) == DISTRIBUTION_SIZE
        and all(_is_number(p) for p in distribution)
    ):
        raise InputError(
            f"`Score Distribution` must be a list of {DISTRIBUTION_SIZE} numbers (scores 0..100)"
        )
    checkpoint = data.get("Checkpoint", "")
    if not isinstance(checkpoint, str):
        raise InputError(f"`Checkpoint` must be a string, got {checkpoint!r}")
    scores = Scores(total, tuple(float(p) for p in distribution), aspects)
    return Assessment(scores, comments, checkpoint)


def _is_number(value: object) -> bool:
    # bool is an int in Python; NaN and infinity are not scores
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(data: dict, key: str) -> float:
    value = data.get(key)
    if not _is_number(value):
        raise InputError(f"`{key}` must be a number, got {value!r}")
    return float(value)


def _mapping(data: dict, key: str, is_value: Callable[[object], bool], kind: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        name = "nothing" if value is None else type(value).__name__
        raise InputError(f"`{key}` must be an object of aspect names to {kind}, got {name}")
    bad = next((aspect for aspect, v in value.items() if not is_value(v)), None)
    if bad is not None:
        raise InputError(f"`{key}` must map aspect names to {kind}; {bad!r} has {value[bad]!r}")
    return dict(value)


# --- REST answers: the models are the shapes (FastAPI's response_model, the CLI's JSON) -------

# `/meta`'s two lists of aspect names, and what each one is (the OpenAPI text and the README).
ASPECT_FIELDS = {
    "dimensions": f"the {len(RADAR_ASPECTS)} scored aspects, the keys of `aspect_scores` and "
    "the radar chart (the original demo's name)",
    "aspects": f"the {len(ASPECTS)} commented aspects, those {len(RADAR_ASPECTS)} and "
    f"{COMPREHENSIVE} (the comment on the total)",
}


def aspect_lists() -> dict[str, list[str]]:
    """`/meta`'s `dimensions` and `aspects` (`ASPECT_FIELDS` says which is which)."""
    return {"dimensions": list(RADAR_ASPECTS), "aspects": list(ASPECTS)}



RadarAspect = Literal[RADAR_ASPECTS]  # the seven scored aspects, by name
Total = Annotated[float, Field(ge=0, le=100, description="0-100, the expected score")]
AspectScores = Annotated[
    dict[RadarAspect, float], Field(description="the seven aspects' scores, 0-100 each")
]
Spread = Annotated[float, Field(ge=0, description="standard deviation of the distribution")]
Distribution = Annotated[
    list[float],
    Field(
        min_length=DISTRIBUTION_SIZE,
        max_length=DISTRIBUTION_SIZE,
        description="probabilities of the scores 0..100 for the total",
    ),
]
Warnings = Annotated[
    list[str], Field(description="what decoding noticed but did not refuse (corrupt EXIF ...)")
]


class ScoreAnswer(BaseModel):
    """`/score`: the total, the seven aspect scores and the total's distribution."""

    total_score: Total
    aspect_scores: AspectScores
    score_std: Spread
    score_distribution: Distribution
    warnings: Warnings

    @classmethod
    def of(cls, scores: Scores) -> ScoreAnswer:
        """Rounded as the original demo does: 3 decimals, the distribution to 6."""
        return cls(
            total_score=round(scores.total, SCORE_DECIMALS),
            aspect_scores={a: round(v, SCORE_DECIMALS) for a, v in scores.aspects.items()},
            score_std=round(scores.spread, SCORE_DECIMALS),
            score_distribution=[round(p, PROBABILITY_DECIMALS) for p in scores.distribution],
            warnings=list(scores.warnings),
        )


class InferAnswer(BaseModel):
    """`/infer`: the original demo's three keys first (behaviour §9), then the additions."""

    total_score: Total
    aspect_scores: AspectScores
    aspect_comments: dict[RadarAspect, str] = Field(description="the seven aspects' comments")
    comprehensive_evaluation: str = Field(description=f"the {COMPREHENSIVE} comment")
    score_std: Spread
    score_distribution: Distribution
    warnings: Warnings

    @classmethod
    def of(cls, assessment: Assessment) -> InferAnswer:
        comments = assessment.comments
        return cls(
            **ScoreAnswer.of(assessment.scores).model_dump(),
            aspect_comments={a: comments[a] for a in RADAR_ASPECTS if a in comments},
            comprehensive_evaluation=comments.get(COMPREHENSIVE, ""),
        )


# `/infer/stream`: one of these a line, told apart by `event` (always sent, so required).
_EVENT = ConfigDict(json_schema_serialization_defaults_required=True)


class ScoresEvent(ScoreAnswer):
    """First: the scores, as `/score` answers them."""

    model_config = _EVENT

    event: Literal["scores"] = "scores"


class CommentEvent(BaseModel):
    """New text of one aspect's comment; an aspect's deltas concatenate to its comment."""

    model_config = _EVENT

    event: Literal["comment"] = "comment"
    aspect: Literal[ASPECTS]
    delta: str


class CommentDoneEvent(BaseModel):
    """One aspect's whole comment and the tokens it took."""

    model_config = _EVENT

    event: Literal["comment_done"] = "comment_done"
    aspect: Literal[ASPECTS]
    comment: str
    tokens: int = Field(ge=0)


class DoneEvent(InferAnswer):
    """Last: the whole `/infer` answer."""

    model_config = _EVENT

    event: Literal["done"] = "done"


class ErrorEvent(BaseModel):
    """In place of the rest when the work failed after the stream began (its status is sent)."""

    model_config = _EVENT

    event: Literal["error"] = "error"
    detail: str


StreamEvent = Annotated[
    ScoresEvent | CommentEvent | CommentDoneEvent | DoneEvent | ErrorEvent,
    Field(discriminator="event"),
]


def stream_event(event: Event) -> BaseModel:
    """The line of `/infer/stream` for one of the model's events."""
    if isinstance(event, ScoresReady):
        return ScoresEvent(**ScoreAnswer.of(event.scores).model_dump())
    if isinstance(event, CommentDelta):
        return CommentEvent(aspect=event.aspect, delta=event.text)
    if isinstance(event, CommentDone):
        return CommentDoneEvent(aspect=event.aspect, comment=event.text, tokens=event.tokens)
    if isinstance(event, Finished):
        return DoneEvent(**InferAnswer.of(event.assessment).model_dump())
    raise TypeError(f"unknown event {event!r}")
