"""What the page tells a visitor, as data: a catalogue key and its fields, rendered in the
visitor's language when shown.

`image_problem` turns an `ImageError` into one of the catalogue's sentences by the error's
`kind` code, so a bad upload is explained in the page's words and language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from artimuse.errors import ImageError
from artimuse.webapp.i18n import TEXTS, seconds, text


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


# Until every ImageError carries its kind: the kind read from `open_image`'s English words.
_KINDS_BY_TEXT = (
    ("gone", r"^no such image file"),
    ("empty", r" is empty \(0 bytes\)"),
    ("format", r" is not an image in a format"),
    ("animated", r" is animated"),
    ("no_pixels", r" has no pixels"),
    ("mode", r" has pixels of mode"),
    ("too_long", r" is too long: "),
    ("too_many_pixels", r" is too large: "),
    ("corrupt", r" is corrupt"),
)


def error_kind(error: ImageError) -> str:
    kind = getattr(error, "kind", None)
    if kind:
        return str(kind)
    for kind, pattern in _KINDS_BY_TEXT:
        if re.search(pattern, str(error)):
            return kind
    return "other"


def image_problem(error: ImageError, name: str) -> Message:
    """The catalogue's sentence for what is wrong with the upload `name`."""
    key = f"error.{error_kind(error)}"
    if key not in TEXTS:
        return Message("error.other", {"name": name})  # a kind we have no words for
    return Message(key, {"name": name})


def image_notes(image) -> list[Message]:
    """What `open_image` noticed about a picture it accepted, in the catalogue's words."""
    from artimuse.images import ORIENTATION_IGNORED, image_warnings

    return [
        Message("note.exif_ignored")
        for note in image_warnings(image)
        if note == ORIENTATION_IGNORED
    ]
