"""The one error hierarchy: what went wrong with what the user gave, in words for the user.

Every front end catches `ArtiMuseError` (and only it) and shows its message; anything else is a
bug and keeps its traceback. `ArtiMuseError` is a `ValueError`, and the "not found" kinds are
also `FileNotFoundError`, so code written against the builtin exceptions keeps working.
"""

from __future__ import annotations


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
