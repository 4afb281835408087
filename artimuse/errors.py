"""The one error hierarchy: what went wrong with what the user gave, in words for the user.

Every front end catches `ArtiMuseError` (and only it) and shows its message; anything else is a
bug and keeps its traceback. `ArtiMuseError` is a `ValueError`, and the "not found" kinds are
also `FileNotFoundError`, so code written against the builtin exceptions keeps working.
"""

from __future__ import annotations

import json
from pathlib import Path


class ArtiMuseError(ValueError):
    """Base class: the message names the offending value and, where there is one, the fix."""


# What can be wrong with an image, one short code each, so that a front end can say it in its
# own words and language without reading the English message (which stays for REST and logs).
IMAGE_ERROR_KINDS = (
    "gone",  # a path that names no file
    "empty",  # 0 bytes
    "not_image",  # not one of the accepted formats (images.SUPPORTED)
    "animated",  # more than one frame; details: frames
    "no_pixels",  # a header that says 0 wide or 0 high
    "mode",  # pixels Pillow cannot turn into RGB; details: mode
    "too_large",  # too many pixels (ARTIMUSE_MAX_PIXELS); details: pixels, limit
    "too_long",  # the longest side too long (ARTIMUSE_MAX_SIDE); details: side
    "corrupt",  # broken or truncated bytes of an accepted format
    "wrong_size",  # a PreparedImage made for another model's input size; details: size, wanted
    "failed",  # ItemFailed: our bug, not the input's fault (no input should ever produce it)
)


class ImageError(ArtiMuseError):
    """The input is not an image we can score (corrupt, empty, animated, too large, ...).

    `kind` is one of `IMAGE_ERROR_KINDS`; `details` holds the numbers the message quotes
    (frames, mode, pixels, limit, side, ...), for a front end that words the message itself.
    """

    def __init__(self, message: str, *, kind: str, **details: object) -> None:
        if kind not in IMAGE_ERROR_KINDS:
            raise ValueError(f"unknown ImageError kind {kind!r}: one of {IMAGE_ERROR_KINDS}")
        super().__init__(message)
        self.kind = kind
        self.details = details

    def __reduce__(self):  # pickling (Ray workers, process pools) keeps kind and details
        return _rebuild_image_error, (type(self), str(self), self.kind, self.details)


class CheckpointError(ArtiMuseError):
    """A checkpoint cannot be used: bad config field, corrupt or misshapen weights, tokenizer."""


class CheckpointNotFound(CheckpointError, FileNotFoundError):
    """A checkpoint, or one of its files, is not where it was looked for."""


class InputError(ArtiMuseError):
    """A bad setting, argument, variable or dataset entry."""


class InputNotFound(InputError, FileNotFoundError):
    """A file the user named (dataset, images folder) does not exist."""


class ItemFailed(ImageError):
    """One item of a batch failed for an unexpected reason (a bug; logged with its traceback).

    An `ImageError`, so every front end that reports a bad image beside its item and goes on
    does the same with this one, instead of losing the rest of the batch.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="failed")


def _rebuild_image_error(cls: type[ImageError], message: str, kind: str, details: dict):
    error = cls.__new__(cls)
    ArtiMuseError.__init__(error, message)
    error.kind, error.details = kind, details
    return error


def read_json(path: Path, error: type[ArtiMuseError], expected: str) -> object:
    """The JSON in a file the user gave; bad bytes, bad JSON and pathological nesting are one
    `error` naming the file (`expected` says what it should have been)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as bad:
        raise error(f"{path} is not valid JSON: {bad}") from bad
    except RecursionError:
        raise error(f"{path} is nested too deeply to be {expected}") from None
