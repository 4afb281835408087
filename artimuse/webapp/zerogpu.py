"""ZeroGPU (Hugging Face Spaces' shared GPUs): the events that run the model get a GPU only
inside `@spaces.GPU(duration=...)`, for about `duration` seconds, the visitor's daily quota
paying for it. `on_gpu(fn, duration)` wraps a handler that way when the `spaces` package is
installed; `spaces.GPU` itself returns the handler untouched unless ZeroGPU is active
(`SPACES_ZERO_GPU`, read by `spaces`), so on a laptop, a GPU server or a plain Space this is a
no-op. On ZeroGPU the model is loaded at start-up onto `cuda` (outside any handler), as ZeroGPU
expects: `spaces` emulates the device then and moves the weights onto the GPU it lends.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from typing import Any

from artimuse.config import DEFAULT_MAX_NEW_TOKENS

# An estimate for the 8B model on a ZeroGPU H200 slice (not measured: no ZeroGPU here): the
# project's GPU goal is 8 comments x 256 tokens in <= 8 s, about 30 ms a batched decode step;
# we ask for more so that a slow step does not cut a visitor's comments short.
GPU_START_S = 20.0  # vision pass, prefill, the 8 scores, and the GPU hand-over
GPU_PER_TOKEN_S = 0.05  # one decode step of all 8 comments together
GPU_MAX_S = 120.0  # ZeroGPU refuses very long requests; longer comments need a dedicated GPU
GPU_SCORES_S = 30.0  # an event that scores images without writing comments (per call)


def spaces_module() -> Any | None:
    """The `spaces` package when installed (it must be imported before torch initialises CUDA:
    the Space's app.py imports it first)."""
    if importlib.util.find_spec("spaces") is None:
        return None
    import spaces

    return spaces


def zerogpu_active() -> bool:
    spaces = spaces_module()
    return bool(spaces is not None and spaces.config.Config.zero_gpu)


def comment_seconds(max_new_tokens: Any = None) -> int:
    """GPU seconds to ask for: grows with the comment length cap, within ZeroGPU's limit."""
    try:
        tokens = int(max_new_tokens or DEFAULT_MAX_NEW_TOKENS)
    except (TypeError, ValueError):
        tokens = DEFAULT_MAX_NEW_TOKENS
    return math.ceil(min(GPU_MAX_S, GPU_START_S + GPU_PER_TOKEN_S * max(tokens, 1)))


def assess_duration(upload: Any = None, max_new_tokens: Any = None, *args, **kwargs) -> int:
    """`spaces.GPU` calls this with the handler's own arguments (Assess tab)."""
    return comment_seconds(max_new_tokens)


def many_duration(
    files: Any = None, with_comments: Any = False, max_new_tokens: Any = None, *args, **kwargs
) -> int:
    """Compare and Batch tabs: scores per image, plus comments when asked."""
    count = max(len(files or []), 1)
    seconds = GPU_SCORES_S + (comment_seconds(max_new_tokens) * count if with_comments else 0)
    return math.ceil(min(GPU_MAX_S, seconds))


def on_gpu(handler: Callable, duration: Callable[..., int]) -> Callable:
    """`handler` inside `@spaces.GPU(duration=duration)` when `spaces` is installed (a no-op off
    ZeroGPU: `spaces.GPU` then returns the handler itself), else `handler`."""
    spaces = spaces_module()
    if spaces is None:
        return handler
    return spaces.GPU(duration=duration)(handler)
