"""Paths of the shared test data: the conformance checkpoint `tiny-a` and its images."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
TINY_A = DATA / "tiny-a"
IMAGES = DATA / "images"
CONFORMANCE_IMAGES = {
    "gradient_640x480_q95": IMAGES / "gradient_640x480_q95.jpg",
    "shapes_rgba_300x500": IMAGES / "shapes_rgba_300x500.png",
    "gray_64x64": IMAGES / "gray_64x64.png",
}
