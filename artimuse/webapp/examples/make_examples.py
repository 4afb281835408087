"""Draw the web app's example pictures, deterministically, with PIL and numpy only.

    python -m artimuse.webapp.examples.make_examples   # rewrites the example *.jpg beside it

Three small pictures of different character, so a first visitor can try the app without a file
of their own: a sunset over the sea, a Bauhaus-style geometric composition, misty mountain
ridges. The same code always gives the same pixels (fixed seeds, no fonts, no randomness
from the system); JPEG bytes can still differ between Pillow versions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent
SIZE = (640, 448)  # width, height: a 10:7 landscape, about what people photograph


def _vertical_gradient(height: int, width: int, stops: list[tuple[float, tuple]]) -> np.ndarray:
    """(H, W, 3) float image interpolating colour `stops` [(position 0..1, (r, g, b)), ...]."""
    y = np.linspace(0.0, 1.0, height)
    positions = [p for p, _ in stops]
    channels = [np.interp(y, positions, [c[i] for _, c in stops]) for i in range(3)]
    column = np.stack(channels, axis=-1)  # (H, 3)
    return np.repeat(column[:, None, :], width, axis=1)


def sunset() -> Image.Image:
    width, height = SIZE
    horizon = int(height * 0.62)
    sky = _vertical_gradient(
        horizon,
        width,
        [
            (0.0, (38, 28, 84)),
            (0.45, (160, 60, 110)),
            (0.8, (244, 132, 72)),
            (1.0, (255, 200, 110)),
        ],
    )
    yy, xx = np.mgrid[0:horizon, 0:width]
    sun_x, sun_y = width * 0.62, horizon * 0.86
    distance = np.hypot(xx - sun_x, yy - sun_y)
    glow = np.exp(-((distance / 120.0) ** 2))[..., None]
    sky = sky * (1 - 0.6 * glow) + np.array([255, 222, 150]) * 0.6 * glow
    sky[distance < 38] = (255, 240, 200)
    sea = _vertical_gradient(height - horizon, width, [(0.0, (120, 60, 90)), (1.0, (22, 18, 48))])
    rng = np.random.default_rng(7)
    for row in range(0, height - horizon, 3):  # the sun's broken reflection on the waves
        half = (row * 0.5 + 12) * (0.6 + 0.4 * rng.random())
        left, right = int(sun_x - half), int(sun_x + half)
        sea[row, max(left, 0) : min(right, width)] = 0.45 * sea[
            row, max(left, 0) : min(right, width)
        ] + 0.55 * np.array([255, 190, 120])
    picture = Image.fromarray(np.clip(np.vstack([sky, sea]), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    hill_x = np.arange(0, 300, 4)
    taper = np.clip((300 - hill_x) / 120.0, 0.0, 1.0)  # the island slopes into the sea
    hill_y = horizon - taper * (40 + 30 * np.sin(hill_x / 90.0) + 12 * np.sin(hill_x / 23.0))
    hill = (
        [(0, horizon)] + list(zip(hill_x.tolist(), hill_y.tolist(), strict=True)) + [(300, horizon)]
    )
    draw.polygon(hill, fill=(28, 20, 44))
    return picture.filter(ImageFilter.GaussianBlur(0.6))


def composition() -> Image.Image:
    width, height = SIZE
    picture = Image.new("RGB", SIZE, (241, 234, 218))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((60, 70, 300, 380), fill=(31, 64, 140))
    draw.ellipse((250, 60, 470, 280), fill=(214, 52, 41))
    draw.polygon([(380, 400), (560, 400), (470, 230)], fill=(242, 186, 30))
    draw.rectangle((0, 300, width, 312), fill=(24, 24, 24))
    draw.rectangle((520, 0, 532, height), fill=(24, 24, 24))
    draw.ellipse((545, 60, 600, 115), outline=(24, 24, 24), width=6)
    rng = np.random.default_rng(11)  # a little paper grain so it does not look digital
    grain = rng.normal(0.0, 5.0, (height, width, 1))
    array = np.asarray(picture, dtype=np.float64) + grain
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def mountains() -> Image.Image:
    width, height = SIZE
    sky = _vertical_gradient(height, width, [(0.0, (196, 214, 230)), (1.0, (240, 232, 220))])
    picture = Image.fromarray(sky.astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    rng = np.random.default_rng(3)
    layers = [
        (0.42, (150, 170, 196)),
        (0.55, (104, 128, 162)),
        (0.68, (66, 88, 122)),
        (0.82, (36, 50, 76)),
    ]
    x = np.arange(0, width + 8, 8)
    for depth, colour in layers:
        steps = np.convolve(rng.normal(0.0, 9.0, x.size), np.ones(5) / 5, mode="same")
        ridge = np.cumsum(steps)  # a smoothed random walk: ridges, not noise
        ridge = ridge - np.linspace(ridge[0], ridge[-1], x.size)  # level the two ends
        top = height * depth + ridge - 30 * np.sin(x / width * np.pi * (1 + depth))
        draw.polygon(
            [(0, height)] + list(zip(x.tolist(), top.tolist(), strict=True)) + [(width, height)],
            fill=colour,
        )
    draw.ellipse((470, 70, 520, 120), fill=(250, 244, 226))
    return picture.filter(ImageFilter.GaussianBlur(0.8))


EXAMPLES = {"sunset.jpg": sunset, "composition.jpg": composition, "mountains.jpg": mountains}


def main() -> None:
    for name, draw in EXAMPLES.items():
        draw().save(HERE / name, quality=88, optimize=True)


if __name__ == "__main__":
    main()
