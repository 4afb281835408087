"""Image input: every front end turns what the user gave into pixels here (behaviour §3).

`open_image` normalises any input (path, bytes, file object, PIL image) to an RGB PIL image and
turns every way an upload can be bad into one `ImageError` with a specific message.
`to_pixel_values` is the model's preprocessing, PIL + numpy only.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from artimuse.config import max_pixels
from artimuse.errors import ImageError

IMAGENET_MEAN = np.array((0.485, 0.456, 0.406), dtype=np.float32)
IMAGENET_STD = np.array((0.229, 0.224, 0.225), dtype=np.float32)
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")

ImageInput = str | os.PathLike | bytes | BinaryIO | Image.Image


def open_image(source: ImageInput, name: str | None = None) -> Image.Image:
    """Decode `source` fully and return the RGB image the model will see.

    Applies EXIF orientation and scales 16-bit images to 8 bits before `convert("RGB")`:
    two of the deliberate deviations from the original (behaviour §11).
    """
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "the upload")
    image = source if isinstance(source, Image.Image) else _decode(source, label)
    if getattr(image, "is_animated", False) and getattr(image, "n_frames", 1) > 1:
        raise ImageError(
            f"{label} is animated ({image.n_frames} frames); upload a still image (PNG, JPEG, WebP)"
        )
    _check_size(image, label)
    image = ImageOps.exif_transpose(image)
    if image.mode in SIXTEEN_BIT_MODES:
        image = _sixteen_to_eight_bit(image)
    return image.convert("RGB")


def _decode(source: str | os.PathLike | bytes | BinaryIO, label: str) -> Image.Image:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"no such image file: {path}")
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        data = source.read()
    if not data:
        raise ImageError(f"{label} is empty (0 bytes)")
    limit = max_pixels()
    try:
        with warnings.catch_warnings():
            # PIL warns above MAX_IMAGE_PIXELS and raises above twice that; we check ourselves.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                image = Image.open(io.BytesIO(data))
            finally:
                Image.MAX_IMAGE_PIXELS = saved
            _check_size(image, label, limit)  # before decoding any pixel
            image.load()
    except UnidentifiedImageError as error:
        message = f"{label} is not an image in a format we can read (PNG, JPEG, WebP, ...)"
        raise ImageError(message) from error
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"{label} is corrupt or truncated: {error}") from error
    return image


def _check_size(image: Image.Image, label: str, limit: int | None = None) -> None:
    limit = max_pixels() if limit is None else limit
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(f"{label} has no pixels ({width}x{height})")
    if width * height > limit:
        raise ImageError(
            f"{label} is too large: {width}x{height} = {width * height:,} pixels, "
            f"the limit is {limit:,} (ARTIMUSE_MAX_PIXELS)"
        )


def _sixteen_to_eight_bit(image: Image.Image) -> Image.Image:
    """16-bit grey to 8 bits by value (x / 257); the original clips every value above 255."""
    values = np.asarray(image, dtype=np.float64)
    scaled = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def to_pixel_values(image: Image.Image, size: int) -> torch.Tensor:
    """RGB image -> (1, 3, size, size) float32, bicubic resize, ImageNet normalisation.

    Float32 throughout and in this order, so the values are bit-identical to the original's
    torchvision path (ToTensor then Normalize).
    """
    resized = resize_bicubic(image.convert("RGB"), size, size)
    array = np.asarray(resized, dtype=np.float32) / np.float32(255)
    array = (array - IMAGENET_MEAN) / IMAGENET_STD  # (S, S, 3)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]


def resize_bicubic(image: Image.Image, width: int, height: int) -> Image.Image:
    """PIL bicubic resize, identical on every Pillow version to the original's Pillow 13
    (behaviour §11).

    Pillow 13 runs the vertical pass first when the height shrinks by more than twice as many
    pixels as the width; earlier versions always ran the horizontal pass first, and the two
    orders round differently. Doing that vertical-first case as two one-axis resizes gives
    Pillow 13's bytes everywhere.
    """
    shrink_y, shrink_x = image.height - height, image.width - width
    if shrink_y > 0 and shrink_y > 2 * shrink_x:
        image = image.resize((image.width, height), Image.BICUBIC)
    return image.resize((width, height), Image.BICUBIC)
