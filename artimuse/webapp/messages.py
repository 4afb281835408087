"""What the page tells a visitor, as data: a catalogue key and its fields, rendered in the
visitor's language when shown (and again if they switch languages).

`image_problem` turns the `ImageError` that `artimuse.images.open_image` raises into one of the
catalogue's own sentences, so a bad upload is explained in the page's words and language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from artimuse.errors import ImageError
from artimuse.webapp.i18n import seconds, text


@dataclass(frozen=True)
class Message:
    """A catalogue key and its fields; a field named `elapsed` is seconds, shown as such."""

    key: str
    fields: dict = field(default_factory=dict)

    def render(self, lang: str | None) -> str:
        fields = dict(self.fields)
        if "elapsed" in fields:
            fields["elapsed"] = seconds(fields["elapsed"], lang)
        return text(self.key, lang, **fields)

    def to_json(self) -> list:
        return [self.key, self.fields]

    @classmethod
    def from_json(cls, data: list | None) -> Message | None:
        return cls(data[0], dict(data[1])) if data else None


# (kind, pattern over `open_image`'s English message): the first match names the problem.
_IMAGE_PROBLEMS = (
    ("gone", re.compile(r"^no such image file")),
    ("empty", re.compile(r" is empty \(0 bytes\)")),
    ("not_image", re.compile(r" is not an image in a format")),
    ("animated", re.compile(r" is animated \((?P<frames>\d+) frames\)")),
    ("no_pixels", re.compile(r" has no pixels")),
    ("mode", re.compile(r" has pixels of mode (?P<mode>\S+), which we cannot read")),
    (
        "too_long",
        re.compile(r" is too long: \S+, the longest side may be at most (?P<side>[\d,]+)"),
    ),
    (
        "too_large",
        re.compile(
            r" is too large: \S+ = (?P<pixels>[\d,]+) pixels, the limit is (?P<limit>[\d,]+)"
        ),
    ),
    ("corrupt", re.compile(r" is corrupt")),  # "corrupt or truncated", "corrupt: <why>"
)


def image_notes(image) -> list[Message]:
    """What `open_image` noticed about a picture it accepted, in the catalogue's words."""
    from artimuse.images import ORIENTATION_IGNORED, image_warnings

    known = {ORIENTATION_IGNORED: "note.exif_ignored"}
    return [
        Message(known.get(note, "error.other"), {} if note in known else {"detail": note})
        for note in image_warnings(image)
    ]


def image_problem(error: ImageError, name: str) -> Message:
    """The catalogue's sentence for what is wrong with the upload `name`."""
    for kind, pattern in _IMAGE_PROBLEMS:
        found = pattern.search(str(error))
        if found:
            return Message(f"error.{kind}", {"name": name, **found.groupdict()})
    return Message("error.other", {"detail": str(error)})  # a new kind: its English words
