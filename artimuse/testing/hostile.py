"""A seeded generator of hostile image inputs, for the fuzz test and the reliability benchmark.

`hostile_inputs(seed)` gives a few hundred `Hostile` files of every kind an attacker (or a
broken camera) sends: truncations, byte mutations, decompression bombs, animations, odd pixel
modes, polyglots, formats we do not accept, and EXIF mutations of PNG, WebP and JPEG. Each says
what a front end must do with it: `VALID` (a result), `REFUSE` (a 4xx / an error message), or
`EITHER` (a random mutation: a result or a refusal, never a crash).
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

VALID, REFUSE, EITHER = "valid", "refuse", "either"


@dataclass(frozen=True)
class Hostile:
    name: str  # category/detail, unique
    data: bytes
    expect: str  # VALID, REFUSE or EITHER


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def picture(rng: np.random.Generator, width: int = 24, height: int = 16) -> Image.Image:
    """A small RGB picture with structure (a gradient and noise), so resizes are not trivial."""
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    noise = rng.integers(0, 64, (height, width, 3))
    return Image.fromarray(np.clip(ramp + noise, 0, 255).astype(np.uint8), "RGB")


# --- valid files in every accepted format and many modes ------------------------------------


def valid_files(rng: np.random.Generator) -> dict[str, bytes]:
    rgb = picture(rng)
    grey16 = Image.fromarray(rng.integers(0, 65536, (16, 24), dtype=np.uint16))
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    files = {
        "png-rgb": encode(rgb, "PNG"),
        "png-rgba": encode(rgb.convert("RGBA"), "PNG"),
        "png-la": encode(rgb.convert("LA"), "PNG"),
        "png-l": encode(rgb.convert("L"), "PNG"),
        "png-1bit": encode(rgb.convert("1"), "PNG"),
        "png-p-transparent": encode(palette, "PNG", transparency=3),
        "png-16bit": encode(grey16, "PNG"),
        "png-interlaced": encode(rgb, "PNG", optimize=False),
        "jpeg": encode(rgb, "JPEG", quality=90),
        "jpeg-grey": encode(rgb.convert("L"), "JPEG"),
        "jpeg-cmyk": encode(rgb.convert("CMYK"), "JPEG"),
        "jpeg-progressive": encode(rgb, "JPEG", progressive=True),
        "jpeg-rotated": encode(rgb, "JPEG", exif=_exif(orientation=6)),
        "webp-lossy": encode(rgb, "WEBP", quality=80),
        "webp-lossless": encode(rgb.convert("RGBA"), "WEBP", lossless=True),
        "gif-still": encode(palette, "GIF"),
        "bmp": encode(rgb, "BMP"),
        "tiff": encode(rgb, "TIFF"),
        "tiff-16bit": encode(grey16, "TIFF"),
        "tiff-cmyk": encode(rgb.convert("CMYK"), "TIFF"),
        "png-1x300": encode(Image.new("L", (1, 300), 128), "PNG"),
        "png-300x1": encode(Image.new("L", (300, 1), 128), "PNG"),
    }
    try:
        files["avif"] = encode(rgb, "AVIF", quality=60)
    except (KeyError, OSError, ValueError):  # a Pillow built without AVIF
        pass
    return files


def _exif(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "hostile camera"  # Make
    exif[0x0132] = "2026:01:01 00:00:00"  # DateTime
    return exif.tobytes()


# --- kinds of hostility ---------------------------------------------------------------------


def truncations(bases: dict[str, bytes], rng: random.Random, count: int) -> list[Hostile]:
    names = sorted(bases)
    out = []
    for i in range(count):
        name = names[i % len(names)]
        data = bases[name]
        cut = rng.randrange(1, len(data))
        out.append(Hostile(f"truncated/{name}@{cut}#{i}", data[:cut], EITHER))
    return out


def mutations(bases: dict[str, bytes], rng: random.Random, count: int) -> list[Hostile]:
    names = sorted(bases)
    out = []
    for i in range(count):
        name = names[i % len(names)]
        data = bytearray(bases[name])
        for _ in range(rng.choice((1, 2, 4, 16))):
            data[rng.randrange(len(data))] = rng.randrange(256)
        out.append(Hostile(f"mutated/{name}#{i}", bytes(data), EITHER))
    return out


def bombs() -> list[Hostile]:
    def png_header(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
        ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
        idat = zlib.compress(b"\x00" * 64)
        return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)

    # A real, fully valid 1 x 100,000 strip: cheap to send, costly to resize; the side limit
    # refuses it (65,535 by default).
    strip = zlib.compress(b"\x00\x80" * 100_000, 9)
    ihdr = struct.pack(">IIBBBBB", 1, 100_000, 8, 0, 0, 0, 0)
    long_strip = (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", strip)
        + png_chunk(b"IEND", b"")
    )
    gif = b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00\x00\x00;"
    jpeg = _jpeg_with_size(encode(Image.new("RGB", (8, 8)), "JPEG"), 65000, 65000)
    return [
        Hostile("bomb/png-100000x100000", png_header(100_000, 100_000), REFUSE),
        Hostile("bomb/png-16bit-60000x60000", png_header(60_000, 60_000, 16, 0), REFUSE),
        Hostile("bomb/png-1x100000", long_strip, REFUSE),
        Hostile("bomb/gif-65535x65535", gif, REFUSE),
        Hostile("bomb/jpeg-65000x65000", jpeg, REFUSE),
        Hostile("bomb/png-0x0", png_header(0, 0), REFUSE),
    ]


def _jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """`data` with the size in its SOF0 segment replaced."""
    at = data.index(b"\xff\xc0") + 5
    return data[:at] + struct.pack(">HH", height, width) + data[at + 4 :]


def animations(rng: np.random.Generator) -> list[Hostile]:
    frames = [picture(rng) for _ in range(3)]
    first, rest = frames[0], frames[1:]
    return [
        Hostile("animated/gif", encode(first, "GIF", save_all=True, append_images=rest), REFUSE),
        Hostile("animated/apng", encode(first, "PNG", save_all=True, append_images=rest), REFUSE),
        Hostile("animated/webp", encode(first, "WEBP", save_all=True, append_images=rest), REFUSE),
    ]


def odd_modes(rng: np.random.Generator) -> list[Hostile]:
    rgb = picture(rng)
    floats = Image.fromarray(rng.random((16, 24), dtype=np.float32) * 1e6, "F")
    ints = Image.fromarray(rng.integers(-(2**31), 2**31 - 1, (16, 24), dtype=np.int32), "I")
    return [
        Hostile("mode/tiff-float", encode(floats, "TIFF"), EITHER),
        Hostile("mode/tiff-int32", encode(ints, "TIFF"), VALID),
        Hostile("mode/tiff-ycbcr", encode(rgb.convert("YCbCr"), "TIFF"), EITHER),
        Hostile("mode/tiff-lab", encode(rgb.convert("LAB"), "TIFF"), EITHER),
        Hostile("mode/bmp-1bit", encode(rgb.convert("1"), "BMP"), VALID),
        Hostile("mode/tiff-1bit", encode(rgb.convert("1"), "TIFF"), VALID),
        Hostile("mode/webp-rgba", encode(rgb.convert("RGBA"), "WEBP"), VALID),
        Hostile("mode/tiff-la", encode(rgb.convert("LA"), "TIFF"), EITHER),
    ]


def polyglots(bases: dict[str, bytes]) -> list[Hostile]:
    html = b"<html><script>alert(1)</script></html>"
    zip_tail = b"PK\x03\x04" + b"\x00" * 26 + b"PK\x05\x06" + b"\x00" * 18
    return [
        Hostile("polyglot/png+zip", bases["png-rgb"] + zip_tail, VALID),
        Hostile("polyglot/jpeg+html", bases["jpeg"] + html, VALID),
        Hostile("polyglot/gif+js", bases["gif-still"] + b"*/=alert(1)//", VALID),
        Hostile("polyglot/png-magic+html", b"\x89PNG\r\n\x1a\n" + html, REFUSE),
        Hostile("polyglot/jpeg-magic+text", b"\xff\xd8\xff" + b"A" * 200, REFUSE),
        Hostile("polyglot/riff-webp-empty", b"RIFF\x04\x00\x00\x00WEBP", REFUSE),
        Hostile("polyglot/html+png", html + bases["png-rgb"], REFUSE),
    ]


def not_accepted(rng: np.random.Generator) -> list[Hostile]:
    rgb = picture(rng)
    out = [
        Hostile("format/empty", b"", REFUSE),
        Hostile("format/text", b"just some text, not a picture", REFUSE),
        Hostile("format/svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', REFUSE),
        Hostile("format/pcx", encode(rgb, "PCX"), REFUSE),
        Hostile("format/ppm", encode(rgb, "PPM"), REFUSE),
        Hostile("format/ico", encode(rgb, "ICO"), REFUSE),
        Hostile("format/tga", encode(rgb, "TGA"), REFUSE),
    ]
    try:
        out.append(Hostile("format/jpeg2000", encode(rgb, "JPEG2000"), REFUSE))
    except (KeyError, OSError):
        pass
    return out


# --- EXIF mutations: the pixels are fine, so every one must be scored -------------------------


def exif_mutants(rng: random.Random, np_rng: np.random.Generator, each: int) -> list[Hostile]:
    base = picture(np_rng)
    good = _exif(orientation=rng.choice((1, 3, 6, 8)))
    fixed = [b"XX*\x00" + b"\x00" * 4, b"II*\x00\xff\xff\xff\x7f", b"MM\x00*\x00\x00\x00\x08"]
    out = []
    for fmt, embed in (("png", _png_exif), ("webp", _webp_exif), ("jpeg", _jpeg_exif)):
        for i in range(each):
            exif = fixed[i] if i < len(fixed) else _mutate_exif(good, rng)
            out.append(Hostile(f"exif/{fmt}#{i}", embed(base, exif), VALID))
    return out


def _mutate_exif(exif: bytes, rng: random.Random) -> bytes:
    data = bytearray(exif)
    how = rng.choice(("bytes", "truncate", "counts", "offsets"))
    if how == "truncate":
        return bytes(data[: rng.randrange(2, len(data))])
    if how == "bytes":
        for _ in range(rng.choice((1, 3, 8))):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif how == "counts":  # an entry claiming a huge number of values
        at = 10 + 12 * rng.randrange(3) + 4
        data[at : at + 4] = struct.pack("<I", rng.choice((0xFFFFFFFF, 0x7FFFFFFF, 1 << 20)))
    else:  # offsets far outside the block
        at = rng.randrange(4, max(5, len(data) - 4))
        data[at : at + 4] = struct.pack("<I", rng.randrange(1 << 32))
    return bytes(data)


def _png_exif(image: Image.Image, exif: bytes) -> bytes:
    data = encode(image, "PNG")
    end = data.rindex(b"IEND") - 4
    return data[:end] + png_chunk(b"eXIf", exif) + data[end:]


def _jpeg_exif(image: Image.Image, exif: bytes) -> bytes:
    data = encode(image, "JPEG", quality=90)
    segment = b"Exif\x00\x00" + exif[:65000]
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + data[2:]


def _webp_exif(image: Image.Image, exif: bytes) -> bytes:
    """An extended WebP (VP8X) whose EXIF chunk holds `exif` as it is."""
    plain = encode(image, "WEBP", quality=80)
    bitstream = plain[12:]  # the VP8 chunk
    width, height = image.size
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([0x08, 0, 0, 0])  # flag: EXIF present
    vp8x += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    chunk = b"EXIF" + struct.pack("<I", len(exif)) + exif + (b"\x00" if len(exif) % 2 else b"")
    body = b"WEBP" + vp8x + bitstream + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- all of them ----------------------------------------------------------------------------


def hostile_inputs(seed: int = 0, scale: int = 1) -> list[Hostile]:
    """About 330 * `scale` hostile inputs, the same for the same seed."""
    rng, np_rng = random.Random(seed), np.random.default_rng(seed)
    bases = valid_files(np_rng)
    kinds: list[Callable[[], list[Hostile]]] = [
        lambda: [Hostile(f"valid/{name}", data, VALID) for name, data in sorted(bases.items())],
        lambda: truncations(bases, rng, 60 * scale),
        lambda: mutations(bases, rng, 90 * scale),
        bombs,
        lambda: animations(np_rng),
        lambda: odd_modes(np_rng),
        lambda: polyglots(bases),
        lambda: not_accepted(np_rng),
        lambda: exif_mutants(rng, np_rng, 45 * scale),
    ]
    inputs = [item for kind in kinds for item in kind()]
    assert len({i.name for i in inputs}) == len(inputs)
    return inputs
