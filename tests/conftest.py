"""Shared fixtures: the conformance checkpoint `tiny-a` and a model loaded from it once."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TINY_A = DATA / "tiny-a"
IMAGES = DATA / "images"
CONFORMANCE_IMAGES = {
    "gradient_640x480_q95": IMAGES / "gradient_640x480_q95.jpg",
    "shapes_rgba_300x500": IMAGES / "shapes_rgba_300x500.png",
    "gray_64x64": IMAGES / "gray_64x64.png",
}


@pytest.fixture(scope="session")
def tiny_a() -> Path:
    return TINY_A


@pytest.fixture(scope="session")
def tiny_model():
    """tiny-a in float32 on the CPU, comments capped at 12 tokens (as the fixtures were made)."""
    import artimuse

    return artimuse.load(str(TINY_A), device="cpu", dtype="float32", max_new_tokens=12)
