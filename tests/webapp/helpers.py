"""What the web app's tests share: the conformance pictures, bad uploads, stand-ins for the
requests gradio passes to handlers, and a fake model for the model holder."""

from __future__ import annotations

import io
import itertools
import re
import socket
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

from PIL import Image

from tests.helpers import CONFORMANCE_IMAGES

TOKENS = 3  # comments of 3 tokens: the streaming path, at a fraction of the cost
GRADIENT = CONFORMANCE_IMAGES["gradient_640x480_q95"]
SHAPES = CONFORMANCE_IMAGES["shapes_rgba_300x500"]
GRAY = CONFORMANCE_IMAGES["gray_64x64"]


_sessions = itertools.count(1)


def visitor(host: str = "203.0.113.7", **params) -> SimpleNamespace:
    """What gradio passes as `gr.Request` for a browser session: a fresh session hash, the
    client's address, the page's query parameters."""
    return SimpleNamespace(
        session_hash=f"session-{next(_sessions)}",
        client=SimpleNamespace(host=host),
        query_params=params,
        username=None,
    )


def plain(markdown: str) -> str:
    """The words of a Markdown value, as a reader sees them (escapes, code and bold gone)."""
    return re.sub(r"\\(.)", r"\1", str(markdown)).replace("`", "").replace("**", "")


def local(**params) -> SimpleNamespace:
    return visitor("127.0.0.1", **params)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bad_uploads(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, words our message must contain, in English)."""
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(png, "PNG")
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = folder / "moving.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100)
    files = {
        "notes.txt": (b"these are words, not pixels", "is not a picture in a format we can read"),
        "empty.png": (b"", "is empty (0 bytes)"),
        "cut.png": (png.getvalue()[: len(png.getvalue()) // 2], "is damaged or cut short"),
    }
    out = {}
    for name, (data, words) in files.items():
        (folder / name).write_bytes(data)
        out[name] = (folder / name, words)
    out["moving.gif"] = (gif, "is animated (2 frames); upload a still picture")
    return out


def broken_exif_png(path: Path) -> Path:
    """A PNG whose EXIF block is corrupt (an eXIf chunk b"XX*\\0" + 4 zero bytes, correct CRC):
    scored as stored, and the page says so."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "PNG")
    data, exif = buffer.getvalue(), b"XX*\x00" + b"\x00" * 4
    chunk = struct.pack(">I", len(exif)) + b"eXIf" + exif
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + exif) & 0xFFFFFFFF)
    path.write_bytes(data[:-12] + chunk + data[-12:])  # before IEND
    return path


class FakeModel:
    """Just enough of `ArtiMuse` for the model holder: a name, a device, `unload`."""

    def __init__(self, name: str, log: list):
        self.name, self.log, self.max_new_tokens = name, log, 8
        self.device, self.dtype = "cpu", "torch.float32"

    def unload(self):
        self.log.append(f"unload {self.name}")
