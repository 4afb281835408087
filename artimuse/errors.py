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


class ImageError(ArtiMuseError):
    """The input is not an image we can score (corrupt, empty, animated, too large, ...)."""


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


def read_json(path: Path, error: type[ArtiMuseError], expected: str) -> object:
    """The JSON in a file the user gave; bad bytes, bad JSON and pathological nesting are one
    `error` naming the file (`expected` says what it should have been)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as bad:
        raise error(f"{path} is not valid JSON: {bad}") from bad
    except RecursionError:
        raise error(f"{path} is nested too deeply to be {expected}") from None
