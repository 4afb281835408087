"""The JSON shapes of the REST service's answers (behaviour §9 for `/infer`), in one place.

Scores are rounded to 3 decimals as the original demo does; the distribution to 6.
"""

from __future__ import annotations

from artimuse.prompts import COMPREHENSIVE, RADAR_ASPECTS
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


def score_payload(scores: Scores) -> dict:
    """`/score`: total_score, aspect_scores (7), score_std, score_distribution (101)."""
    return {
        "total_score": round(scores.total, SCORE_DECIMALS),
        "aspect_scores": {a: round(v, SCORE_DECIMALS) for a, v in scores.aspects.items()},
        "score_std": round(scores.spread, SCORE_DECIMALS),
        "score_distribution": [round(p, PROBABILITY_DECIMALS) for p in scores.distribution],
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
