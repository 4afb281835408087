"""Image input: every front end turns what the user gave into pixels here (behaviour §3).

`open_image` normalises any input (path, bytes, file object, PIL image) to an RGB PIL image and
turns every way an upload can be bad into one `ImageError` with a specific message. It decodes
once: the image it returns is marked, and giving it back (to `prepare_image`, `ArtiMuse.score`,
...) does no second pass. `to_pixel_values` is the model's preprocessing, PIL + numpy only.
`FORMATS` is the one list of accepted formats, for every front end.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from artimuse.config import max_pixels, max_side
from artimuse.errors import ImageError

log = logging.getLogger(__name__)
IMAGENET_MEAN = np.array((0.485, 0.456, 0.406), dtype=np.float32)
IMAGENET_STD = np.array((0.229, 0.224, 0.225), dtype=np.float32)
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
ORIENTATION_TAG = 0x0112
TRANSPOSES = {  # EXIF orientation -> the transposition that shows the photo upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
ORIENTATION_IGNORED = "the EXIF orientation could not be read (corrupt EXIF data); scored as stored"
DECODED = "artimuse.decoded"  # info key of an image `open_image` returned: its warnings
CHUNK_PIXELS = 1 << 20  # the 16-bit conversion works in strips of about this many pixels
# Warning filters and Pillow's bomb limit are process-wide state, which `catch_warnings` and
# the limit's swap are not safe to change from two threads at once: one decode at a time.
_PIL_STATE = threading.Lock()


@dataclass(frozen=True)
class ImageFormat:
    name: str  # as users know it
    pillow_id: str  # Pillow's plugin id (JPEG also opens MPO, the phones' multi-picture JPEG)
    magics: tuple[bytes, ...]  # what the file starts with
    offset: int = 0  # where the magic sits
    prefix: bytes = b""  # bytes 0..4 for formats tagged further in (RIFF, ISO boxes)


FORMATS = (
    ImageFormat("PNG", "PNG", (b"\x89PNG\r\n\x1a\n",)),
    ImageFormat("JPEG", "JPEG", (b"\xff\xd8\xff",)),
    ImageFormat("WebP", "WEBP", (b"WEBP",), offset=8, prefix=b"RIFF"),
    ImageFormat("GIF", "GIF", (b"GIF87a", b"GIF89a")),
    ImageFormat("BMP", "BMP", (b"BM",)),
    ImageFormat("TIFF", "TIFF", (b"II*\x00", b"MM\x00*")),
    ImageFormat("AVIF", "AVIF", (b"ftypavif", b"ftypavis"), offset=4),
)
SUPPORTED = "PNG, JPEG, WebP, GIF (still), BMP, TIFF or AVIF"  # FORMATS in words (a test checks)

ImageInput = str | os.PathLike | bytes | BinaryIO | Image.Image


def sniff_format(data: bytes) -> str | None:
    """The accepted format the first bytes name, or None (the REST service's 415)."""
    for fmt in FORMATS:
        if data.startswith(fmt.prefix) and any(
            data.startswith(magic, fmt.offset) for magic in fmt.magics
        ):
            return fmt.name
    return None


@dataclass(frozen=True)
class PreparedImage:
    """What the model takes from one image: its pixel values and what decoding noticed."""

    pixels: torch.Tensor  # (1, 3, S, S)
    warnings: tuple[str, ...] = ()


def open_image(source: ImageInput, name: str | None = None) -> Image.Image:
    """Decode `source` fully and return the RGB image the model will see.

    Applies EXIF orientation and scales 16-bit images to 8 bits before `convert("RGB")`:
    two of the deliberate deviations from the original (behaviour §11). A corrupt EXIF block
    does not refuse the photo: it is used as stored and `image_warnings()` says so.
    """
    image, notes = _normalise(source, name)
    if image is not source:  # ours to mark; a caller's own image is left untouched
        image.info = {DECODED: notes}  # EXIF and the rest are not the model's business
    return image


def prepare_image(source: ImageInput | PreparedImage, size: int, name: str | None = None):
    """Decode (once) and preprocess for a model of input `size`: a `PreparedImage`."""
    if isinstance(source, PreparedImage):
        if source.pixels.shape[-1] != size:
            prepared = source.pixels.shape[-1]
            message = f"prepared for size {prepared}, the model wants {size}"
            raise ImageError(message, kind="wrong_size", size=prepared, wanted=size)
        return source
    image, notes = _normalise(source, name)
    return PreparedImage(to_pixel_values(image, size), notes)


def _normalise(source: ImageInput, name: str | None) -> tuple[Image.Image, tuple[str, ...]]:
    if isinstance(source, Image.Image) and source.mode == "RGB" and DECODED in source.info:
        return source, image_warnings(source)  # decoded here before: nothing to do again
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "the upload")
    image = source if isinstance(source, Image.Image) else _decode(source, label)
    frames = _frames(image, label)
    if frames > 1 and image.format != "MPO":  # MPO: the phones' JPEG + depth map, frame 0
        message = f"{label} is animated ({frames} frames); upload a still image"
        raise ImageError(message, kind="animated", frames=frames)
    _check_size(image, label, max_pixels(), max_side())
    image, notes = _upright(image)
    try:
        if image.mode in SIXTEEN_BIT_MODES:
            image = _sixteen_to_eight_bit(image)
        return (image if image.mode == "RGB" else image.convert("RGB")), notes
    except (ValueError, OSError) as error:  # modes Pillow cannot turn into RGB
        message = f"{label} has pixels of mode {image.mode}, which we cannot read"
        raise ImageError(message, kind="mode", mode=image.mode) from error


def image_warnings(image: Image.Image) -> tuple[str, ...]:
    """What `open_image` noticed but did not refuse (a corrupt EXIF orientation)."""
    return tuple(image.info.get(DECODED, ()))


def _decode(source: str | os.PathLike | bytes | BinaryIO, label: str) -> Image.Image:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"no such image file: {path}", kind="gone")
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        data = source.read()
    if not data:
        raise ImageError(f"{label} is empty (0 bytes)", kind="empty")
    limits = max_pixels(), max_side()  # a bad variable is the caller's InputError, not the image's
    try:
        with _PIL_STATE, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's raw warnings never reach a user
            image = _open_header(data)
            _check_size(image, label, *limits)  # before decoding any pixel
            image.load()
    except UnidentifiedImageError as error:
        message = f"{label} is not an image in a format we accept: send {SUPPORTED}"
        raise ImageError(message, kind="not_image") from error
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError, MemoryError) as error:
        # RuntimeError: the AVIF decoder's way of saying "corrupt"
        raise ImageError(f"{label} is corrupt or truncated: {error}", kind="corrupt") from error
    except Exception as error:  # a Pillow plugin failing its own way on hostile bytes
        log.warning("decoding %s failed unexpectedly", label, exc_info=True)
        message = f"{label} is corrupt: {type(error).__name__}: {error}"
        raise ImageError(message, kind="corrupt") from error
    return image


def _frames(image: Image.Image, label: str) -> int:
    """How many frames: counting them reads every frame's header (TIFF directories, GIF
    blocks), which hostile bytes can break in any way, after the first frame decoded fine."""
    try:
        with _PIL_STATE, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(image, "n_frames", 1) if getattr(image, "is_animated", False) else 1
    except Exception as error:
        message = f"{label} is corrupt: {type(error).__name__}: {error}"
        raise ImageError(message, kind="corrupt") from error


def _open_header(data: bytes) -> Image.Image:
    """Image.open (reads the header only) of the accepted formats. PIL warns above its
    MAX_IMAGE_PIXELS and raises above twice that: `_check_size` is our check instead."""
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        return Image.open(io.BytesIO(data), formats=[f.pillow_id for f in FORMATS])
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _check_size(image: Image.Image, label: str, pixels: int, side: int) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(f"{label} has no pixels ({width}x{height})", kind="no_pixels")
    if width * height > pixels:
        raise ImageError(
            f"{label} is too large: {width}x{height} = {width * height:,} pixels, "
            f"the limit is {pixels:,} (ARTIMUSE_MAX_PIXELS)",
            kind="too_large",
            pixels=width * height,
            limit=pixels,
        )
    if max(width, height) > side:  # resizing cost grows with the longest side
        raise ImageError(
            f"{label} is too long: {width}x{height}, the longest side may be at most "
            f"{side:,} pixels (ARTIMUSE_MAX_SIDE)",
            kind="too_long",
            side=side,
        )


def _upright(image: Image.Image) -> tuple[Image.Image, tuple[str, ...]]:
    """The image turned as its EXIF orientation says; a corrupt EXIF block leaves it as is."""
    try:
        with _PIL_STATE, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Corrupt EXIF data" and friends
            orientation = image.getexif().get(ORIENTATION_TAG, 1)
        method = TRANSPOSES.get(orientation) if isinstance(orientation, int) else None
    except Exception as error:  # Pillow's EXIF parser raises many kinds on hostile bytes
        log.info("ignoring a corrupt EXIF block (%s: %s)", type(error).__name__, error)
        return image, (ORIENTATION_IGNORED,)
    return (image.transpose(method) if method is not None else image), ()


def _sixteen_to_eight_bit(image: Image.Image) -> Image.Image:
    """16-bit grey to 8 bits by value (x / 257, rounded); the original clips every value above
    255. Integer arithmetic in strips: no float64 copy of the whole image."""
    width, height = image.size
    out = np.empty((height, width), dtype=np.uint8)
    rows = max(1, CHUNK_PIXELS // width)
    for top in range(0, height, rows):
        strip = np.asarray(image.crop((0, top, width, min(height, top + rows))))
        values = np.clip(strip, 0, 65535).astype(np.uint32)
        # x / 257 is never exactly halfway (257 is odd), so this is round-to-nearest
        out[top : top + rows] = (2 * values + 257) // 514
    return Image.fromarray(out, mode="L")


def to_pixel_values(image: Image.Image, size: int) -> torch.Tensor:
    """RGB image -> (1, 3, size, size) float32, bicubic resize, ImageNet normalisation.

    Float32 throughout and in this order, so the values are bit-identical to the original's
    torchvision path (ToTensor then Normalize).
    """
    image = image if image.mode == "RGB" else image.convert("RGB")
    resized = resize_bicubic(image, size, size)
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
