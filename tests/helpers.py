"""Shared test helpers: paths of the conformance checkpoint `tiny-a` and its images, and the whole
prompt as one string (the package itself only ever builds it as shared prefix + suffix)."""

from __future__ import annotations

from pathlib import Path

from artimuse.prompts import prompt_prefix, prompt_suffix

DATA = Path(__file__).parent / "data"
TINY_A = DATA / "tiny-a"
IMAGES = DATA / "images"
CONFORMANCE_IMAGES = {
    "gradient_640x480_q95": IMAGES / "gradient_640x480_q95.jpg",
    "shapes_rgba_300x500": IMAGES / "shapes_rgba_300x500.png",
    "gray_64x64": IMAGES / "gray_64x64.png",
}


def full_prompt(system: str, num_image_tokens: int, question: str) -> str:
    """behaviour §5 chat template (`internvl2_5`) with `<image>` expanded."""
    return prompt_prefix(system, num_image_tokens) + prompt_suffix(question)
