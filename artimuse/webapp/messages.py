"""What the page tells a visitor, as data: a catalogue key and its fields, rendered in the
visitor's language when shown.

`image_problem` turns an `ImageError` into one of the catalogue's sentences by the error's
`kind` code, so a bad upload is explained in the page's words and language.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from artimuse.errors import ImageError
from artimuse.webapp.i18n import EN, TEXTS, seconds, text


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


def image_problem(error: ImageError, name: str) -> Message:
    """The catalogue's sentence for what is wrong with the upload `name`, by the error's kind
    (with the numbers it quotes: frames, pixels, limit, side, mode)."""
    key = f"error.{error.kind}"
    if key not in TEXTS:
        return Message("error.other", {"name": name})  # a kind we have no words for
    details = {k: f"{v:,}" if isinstance(v, int) else str(v) for k, v in error.details.items()}
    try:
        text(key, EN, name=name, **details)
    except (KeyError, IndexError):  # a detail the sentence needs is missing: the plain words
        return Message("error.other", {"name": name})
    return Message(key, {**details, "name": name})


def image_notes(image) -> list[Message]:
    """What `open_image` noticed about a picture it accepted, in the catalogue's words."""
    from artimuse.images import ORIENTATION_IGNORED, image_warnings

    return [
        Message("note.exif_ignored")
        for note in image_warnings(image)
        if note == ORIENTATION_IGNORED
    ]
