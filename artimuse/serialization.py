"""Every JSON shape an assessment is written in, and read back from, in one place.

- the original tool's single-image file (behaviour §9) and the fuller export built on it;
- reading such an export back into an `Assessment`;
- the REST service's answers (behaviour §9 for `/infer`): scores rounded to 3 decimals as the
  original demo does, the distribution to 6.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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
    """The original tool's single-image file, `{image_stem}_{model_name}_eval.json`."""
    return {
        "Aesthetic Score": assessment.scores.total,
        "Aesthetic Attributes": dict(assessment.comments),
    }


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


# --- REST answers ---------------------------------------------------------------------------

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



def score_payload(scores: Scores) -> dict:
    """`/score`: total_score, aspect_scores (7), score_std, score_distribution (101), and
    `warnings`: what decoding noticed but did not refuse (e.g. the orientation was ignored)."""
    return {
        "total_score": round(scores.total, SCORE_DECIMALS),
        "aspect_scores": {a: round(v, SCORE_DECIMALS) for a, v in scores.aspects.items()},
        "score_std": round(scores.spread, SCORE_DECIMALS),
        "score_distribution": [round(p, PROBABILITY_DECIMALS) for p in scores.distribution],
        "warnings": list(scores.warnings),
    }


def infer_payload(assessment: Assessment) -> dict:
    """`/infer`: the original's three keys first, then the additions."""
    scores = score_payload(assessment.scores)
    comments = assessment.comments
    return {
        "total_score": scores["total_score"],
        "aspect_scores": scores["aspect_scores"],
        "aspect_comments": {a: comments[a] for a in RADAR_ASPECTS if a in comments},
        "comprehensive_evaluation": comments.get(COMPREHENSIVE, ""),
        "score_std": scores["score_std"],
        "score_distribution": scores["score_distribution"],
        "warnings": scores["warnings"],
    }


def event_payload(event: Event) -> dict:
    """One line of `/infer/stream`."""
    if isinstance(event, ScoresReady):
        return {"event": "scores", **score_payload(event.scores)}
    if isinstance(event, CommentDelta):
        return {"event": "comment", "aspect": event.aspect, "delta": event.text}
    if isinstance(event, CommentDone):
        return {
            "event": "comment_done",
            "aspect": event.aspect,
            "comment": event.text,
            "tokens": event.tokens,
        }
    if isinstance(event, Finished):
        return {"event": "done", **infer_payload(event.assessment)}
    raise TypeError(f"unknown event {event!r}")
