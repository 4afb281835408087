"""Hugging Face Spaces: the Space's defaults and model (`space_model`: loaded before launch
from the hub cache that `preload_from_hub` filled, onto `cuda` on ZeroGPU), and ZeroGPU.

On ZeroGPU a call gets a GPU only inside `@spaces.GPU(duration=...)`, for `duration` seconds of
the visitor's daily quota, in a worker forked from the server: so only the model's calls go
there (`model_steps`, `model_scores`: no cache, no waits), taking only what pickles. Off
ZeroGPU (a laptop, a GPU server, a CPU Space) `spaces.GPU` leaves them as they are.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from artimuse.config import DEFAULT_MAX_NEW_TOKENS, Settings
from artimuse.errors import CheckpointNotFound
from artimuse.loading.hub import known_checkpoint
from artimuse.loading.hub_resolve import resolve

log = logging.getLogger(__name__)

# What a Space runs with unless its variables say otherwise (its app.py sets them as defaults
# of the environment, before anything reads it).
SPACE_DEFAULTS = {
    "ARTIMUSE_CKPT": "ArtiMuse",  # the released name: preload_from_hub's copy in the hub cache
    "ARTIMUSE_MAX_NEW_TOKENS": "512",  # ~46 s of GPU asked per assessment instead of 2048's 120
    "ARTIMUSE_COMPILE": "0",  # ZeroGPU has no torch.compile at run time
    "ARTIMUSE_PUBLIC": "1",  # every visitor is a stranger (SPACE_ID turns it on as well)
}
PERSISTENT_STORAGE = Path("/data")  # a Space's persistent storage, when it has some
# An estimate for the 8B model on a ZeroGPU H200 slice (not measured: no ZeroGPU here): the
# project's GPU goal is 8 comments x 256 tokens in <= 8 s, about 30 ms a batched decode step;
# we ask for more so that a slow step does not cut a visitor's comments short.
GPU_START_S = 20.0  # vision pass, prefill, the 8 scores, and the GPU hand-over
GPU_PER_TOKEN_S = 0.05  # one decode step of all 8 comments together
GPU_MAX_S = 120.0  # ZeroGPU refuses very long requests; longer comments need a dedicated GPU
GPU_SCORES_S = 30  # one call scoring pictures (a Batch chunk at most) without comments
# The holders the GPU functions reach by key: a forked worker finds them in its copy of this
# table, made at fork time (the Space loads its model before launch).
_HOLDERS: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_HOME = os.getpid()


def spaces_module() -> Any | None:
    """The `spaces` package when installed (the Space's app.py imports it before torch)."""
    return importlib.import_module("spaces") if importlib.util.find_spec("spaces") else None


def comment_seconds(max_new_tokens: int | None = None) -> int:
    """GPU seconds to ask for (the length is checked before: `Shared.comment_length`): grows
    with the comment length, within ZeroGPU's limit."""
    tokens = max(int(max_new_tokens or DEFAULT_MAX_NEW_TOKENS), 1)
    return math.ceil(min(GPU_MAX_S, GPU_START_S + GPU_PER_TOKEN_S * tokens))


def serve(holder) -> int:
    """The key by which the GPU functions reach `holder` (its model and lock)."""
    _HOLDERS[id(holder)] = holder
    return id(holder)


def _holder_and_lock(key: int) -> tuple[Any, Any]:
    holder = _HOLDERS[key]
    # A ZeroGPU worker runs one call at a time on its own copy of the model, and the lock it
    # inherited may be held by a thread of the parent that did not come along: never wait on it.
    return holder, holder.lock if os.getpid() == _HOME else contextlib.nullcontext()


def _steps(key: int, image: Image.Image, aspects: list[str], tokens: int) -> Iterator:
    """The model's events for one picture (`ArtiMuse.stream`), each step under the model lock:
    a cancelled job may still be finishing its step when the next one starts."""
    holder, lock = _holder_and_lock(key)
    stream = holder.model.stream(image, aspects, tokens)
    try:
        while True:
            with lock:
                event = next(stream, None)
            if event is None:
                return
            yield event
    finally:
        stream.close()  # stopped, replaced or failed: free the generation's memory now


def _scores(key: int, images: list[Image.Image]) -> list:
    """The scores of `images` with their aspects; one picture in-process joins the batches of
    other sessions' score requests (`ModelHolder.score`)."""
    holder, lock = _holder_and_lock(key)
    if len(images) == 1 and lock is holder.lock:
        return [holder.score(images[0])]
    with lock:
        return list(holder.model.score_many(images, len(images), aspects=True))


def gpu_functions() -> tuple[Callable, Callable]:
    """(steps, scores) as the web app calls them: on ZeroGPU on a GPU lent for the call."""
    if (spaces := spaces_module()) is None:
        return _steps, _scores
    steps = spaces.GPU(duration=lambda key, image, aspects, tokens: comment_seconds(tokens))
    return steps(_steps), spaces.GPU(duration=lambda key, images: GPU_SCORES_S)(_scores)


model_steps, model_scores = gpu_functions()  # at import: `spaces` wants them known at start-up


def space_checkpoint(spec: str) -> Path:
    """The checkpoint's folder: found without a request (the hub cache, a folder, a copy in the
    persistent storage), else downloaded into the persistent storage if any, else the cache."""
    try:
        return resolve(spec, download=False)
    except CheckpointNotFound:
        stored = None
        if PERSISTENT_STORAGE.is_dir() and os.access(PERSISTENT_STORAGE, os.W_OK):
            known = known_checkpoint(spec)
            name = known.name if known else spec.strip().replace("/", "--")
            stored = PERSISTENT_STORAGE / "checkpoints" / name
        log.info("%s is not in the hub cache: downloading it into %s", spec, stored or "it")
        return resolve(spec, local_dir=stored)  # looks in `stored` first


def space_model(settings: Settings):
    """The Space's model, loaded now, before `launch()`: onto `cuda` on ZeroGPU, compile off."""
    from artimuse.api import load  # torch and transformers load here, not at import

    spaces = spaces_module()
    device = "cuda" if spaces is not None and spaces.config.Config.zero_gpu else settings.device
    folder = space_checkpoint(settings.ckpt)
    return load(str(folder), device, settings.dtype, settings.max_new_tokens, compile=False)
