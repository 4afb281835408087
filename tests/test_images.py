"""Image input: behaviour §3 conversions, the two documented deviations, and every bad upload."""

from __future__ import annotations

import io
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from artimuse.images import ImageError, open_image, resize_bicubic, to_pixel_values
from tests.helpers import DATA


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def rgb_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def test_resize_gives_pillow_13_bytes_on_any_pillow():
    """The original ran Pillow 13; its vertical-first pass order is reproduced exactly."""
    reference = np.load(DATA / "pillow13_bicubic.npz")
    source = Image.fromarray(reference["source"])
    for name in reference.files:
        if name != "source":
            width, height = map(int, name.split("x"))
            assert (np.asarray(resize_bicubic(source, width, height)) == reference[name]).all()


def test_cmyk_uses_pils_plain_conversion():
    cmyk = Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 30, 4), np.uint8), "CMYK")
    got = open_image(encode(cmyk, "JPEG", quality=95))
    reread = Image.open(io.BytesIO(encode(cmyk, "JPEG", quality=95)))
    assert got.mode == "RGB"
    assert (np.asarray(got) == rgb_array(reread)).all()


def test_palette_with_transparency_drops_it():
    palette = Image.new("P", (16, 16), 3)
    palette.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 10, 20, 30] + [0] * 756)
    data = encode(palette, "PNG", transparency=3)
    got = open_image(data)
    assert got.mode == "RGB" and got.getpixel((0, 0)) == (10, 20, 30)


def test_alpha_is_dropped_not_composited():
    rgba = Image.new("RGBA", (8, 8), (200, 100, 50, 0))
    assert open_image(encode(rgba, "PNG")).getpixel((3, 3)) == (200, 100, 50)


def test_sixteen_bit_grey_is_scaled_not_clipped():
    values = np.array([[0, 257, 32896], [65535, 1000, 60000]], dtype=np.uint16)
    got = np.asarray(open_image(encode(Image.fromarray(values), "PNG")))[..., 0]
    assert got.tolist() == np.rint(values / 257).astype(np.uint8).tolist()


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 10, 20))  # blue stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    got = open_image(encode(image, "JPEG", exif=exif, quality=95))
    assert got.size == (20, 40)
    top = np.asarray(got)[2, 10]
    assert top[2] > 200 and top[0] < 60  # the left stripe is now on top


def test_pixel_values_shape_and_normalisation():
    pixels = to_pixel_values(Image.new("RGB", (10, 30), (255, 255, 255)), 28)
    assert pixels.shape == (1, 3, 28, 28)
    assert pixels[0, :, 0, 0].tolist() == pytest.approx(
        [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225], abs=1e-6
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size: a decompression bomb must be refused before decoding."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (8, 8), color) for color in ("red", "green", "blue")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:])


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "is empty (0 bytes)"),
        (b"just some text, not a picture", "is not an image"),
        (encode(Image.new("RGB", (64, 64), (1, 2, 3)), "PNG")[:60], "corrupt or truncated"),
        (png_header_only(100_000, 100_000), "too large: 100000x100000"),
        (animated_gif(), "is animated (3 frames)"),
    ],
    ids=["empty", "text", "truncated", "bomb", "animated"],
)
def test_bad_uploads_get_specific_messages(data, message):
    with pytest.raises(ImageError, match=re.escape(message)):
        open_image(data, name="upload.png")


def test_truncated_jpeg_is_refused():
    data = encode(Image.new("RGB", (200, 200), (9, 90, 200)), "JPEG")
    with pytest.raises(ImageError, match="corrupt or truncated"):
        open_image(data[: len(data) // 2])


def test_pixel_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("ARTIMUSE_MAX_PIXELS", "100")
    with pytest.raises(ImageError, match="limit is 100 "):
        open_image(encode(Image.new("RGB", (11, 10)), "PNG"))
    with pytest.raises(ImageError, match="limit is 100 "):  # PIL images are checked too
        open_image(Image.new("RGB", (11, 10)))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ImageError, match="no such image file: .*nothing.png"):
        open_image(tmp_path / "nothing.png")
