"""The JSON shapes of an assessment: the seed file, the fuller export, and reading it back."""

from __future__ import annotations

import json

import pytest

from artimuse.prompts import ASPECTS, RADAR_ASPECTS
from artimuse.results import Assessment, Scores
from artimuse.serialization import assessment_from_json, assessment_json, seed_json


def assessment() -> Assessment:
    weights = [(k % 7) + 1.0 for k in range(101)]
    distribution = tuple(w / sum(weights) for w in weights)
    total = sum(k * p for k, p in enumerate(distribution))
    aspects = {a: 40.0 + 3.25 * i for i, a in enumerate(RADAR_ASPECTS)}
    comments = {a: f"On {a}: «fine» ✓" for a in ASPECTS}
    return Assessment(Scores(total, distribution, aspects), comments, "ArtiMuse_AVA")


def test_seed_json_is_the_original_tools_file():
    a = assessment()
    assert seed_json(a) == {"Aesthetic Score": a.scores.total, "Aesthetic Attributes": a.comments}
    assert a.to_seed_json() == seed_json(a)  # the public method says the same


def test_the_export_keeps_the_seed_keys_first():
    data = assessment_json(assessment())
    assert list(data) == [
        "Aesthetic Score",
        "Aesthetic Attributes",
        "Aspect Scores",
        "Score Std",
        "Score Distribution",
        "Checkpoint",
    ]
    assert data["Score Std"] == assessment().scores.spread


def test_an_export_reads_back_into_the_same_assessment():
    a = assessment()
    text = json.dumps(assessment_json(a), ensure_ascii=False)
    assert assessment_from_json(json.loads(text)) == a
    without_checkpoint = {k: v for k, v in assessment_json(a).items() if k != "Checkpoint"}
    assert assessment_from_json(without_checkpoint).checkpoint == ""


MISSING = object()


def _broken(key: str, value: object) -> dict:
    """A good export with `key` set to `value` (or removed)."""
    data = assessment_json(assessment())
    if value is MISSING:
        del data[key]
    else:
        data[key] = value
    return data


@pytest.mark.parametrize(
    "data, message",
    [
        ([1, 2], "a JSON object, not list"),
        (_broken("Aesthetic Score", MISSING), "`Aesthetic Score` must be a number, got None"),
        (_broken("Aesthetic Score", "57"), "`Aesthetic Score` must be a number, got '57'"),
        (_broken("Aesthetic Score", True), "`Aesthetic Score` must be a number"),
        (_broken("Aesthetic Attributes", MISSING), "`Aesthetic Attributes` must be an object"),
        (_broken("Aesthetic Attributes", {"Overall Gestalt": 3}), "'Overall Gestalt' has 3"),
        (_broken("Aspect Scores", {"Overall Gestalt": float("nan")}), "'Overall Gestalt' has nan"),
        (_broken("Score Distribution", [0.5, 0.5]), "a list of 101 numbers"),
        (_broken("Checkpoint", 7), "`Checkpoint` must be a string, got 7"),
    ],
)
def test_a_broken_export_names_the_field(data, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        assessment_from_json(data)
