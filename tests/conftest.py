"""Shared fixtures: the conformance checkpoint `tiny-a` and a model loaded from it once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import TINY_A


@pytest.fixture(scope="session")
def tiny_a() -> Path:
    return TINY_A


@pytest.fixture(scope="session")
def tiny_model():
    """tiny-a in float32 on the CPU, comments capped at 12 tokens (as the fixtures were made)."""
    import artimuse

    return artimuse.load(str(TINY_A), device="cpu", dtype="float32", max_new_tokens=12)
