"""The public Python API: `load()` a checkpoint, then score, comment, assess or stream.

import artimuse
model = artimuse.load("checkpoints/ArtiMuse")
model.score("photo.jpg").total          # 0-100
model.assess("photo.jpg").comments      # aspect -> expert comment
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import islice
from pathlib import Path

import torch

from artimuse.config import Settings, check_quant
from artimuse.config import preread as preread_setting
from artimuse.devices import resolve_device, resolve_dtype
from artimuse.errors import InputError, ItemFailed
from artimuse.images import ImageError, ImageInput, PreparedImage, prepare_image
from artimuse.inference.cpu_kernels import apply_cpu_kernels, choose_cpu_kernels
from artimuse.inference.engine import Engine
from artimuse.inference.quant.apply import quantize_model
from artimuse.inference.quant.modes import check_quant_support, source_keys
from artimuse.inference.quant.scheme import kind_for
from artimuse.inference.streaming import CommentText
from artimuse.loading.checkpoint import load_checkpoint, resolve_checkpoint
from artimuse.loading.memory import check_memory_fit
from artimuse.loading.preread import Progress, read_weights
from artimuse.prompts import ASPECTS, RADAR_ASPECTS, SCORE_KEYS
from artimuse.results import (
    Assessment,
    CommentDelta,
    CommentDone,
    Event,
    Finished,
    Scores,
    ScoresReady,
)

log = logging.getLogger(__name__)


def load(
    ckpt: str | None = None,
    device: str | None = None,
    dtype: str | torch.dtype | None = None,
    max_new_tokens: int | None = None,
    quant: str | None = None,
    compile: bool | None = None,
    progress: Progress | None = None,
    preread: bool | None = None,
) -> ArtiMuse:
    """Load a checkpoint directory or hub repo id; unset arguments come from the environment
    (`ARTIMUSE_CKPT`, `ARTIMUSE_DEVICE`, `ARTIMUSE_DTYPE`, `ARTIMUSE_MAX_NEW_TOKENS`,
    `ARTIMUSE_QUANT`, `ARTIMUSE_COMPILE`).

    `quant`: `int8` or `int4` (torch's kernels on the CPU), `int8` or `nf4` (bitsandbytes on
    CUDA) store the language model's weights quantized; `compile=True` decodes comments with a
    static cache and a compiled step. The steps after reading the checkpoint (`kernels`,
    `quantization`) are recorded in `ArtiMuse.kernels`.
    A CheckpointError says, before anything is read, when the weights cannot fit in memory.
    The weights are read before `load` returns (`preread`, `ARTIMUSE_PREREAD`); `progress` gets a
    `LoadProgress` record as they are (default: a log line every tenth).
    """
    # Only the variables of the arguments left unset are read (a torch.dtype passes through).
    s = Settings.from_env(ckpt=ckpt or None, device=device or None, dtype=dtype or None,
                          max_new_tokens=max_new_tokens or None,
                          quant=check_quant(quant, "quant") if quant else None, compile=compile)
    torch_device = resolve_device(s.device)
    torch_dtype = resolve_dtype(s.dtype, torch_device)
    check_quant_support(s.quant, torch_device)  # before anything is read
    path = resolve_checkpoint(s.ckpt)
    check_memory(path, torch_device, torch_dtype, s.quant)
    checkpoint = load_checkpoint(
        path, torch_device, torch_dtype, source_keys(s.quant, torch_device)
    )
    choice = choose_cpu_kernels(torch_device, torch_dtype)
    checkpoint.kernels["quantization"] = quantize_model(
        checkpoint, s.quant, torch_device, torch_dtype, choice.dense_dtype
    )
    if preread_setting() if preread is None else preread:  # what is still mapped from the files
        read_weights(checkpoint.model, progress)
    checkpoint.kernels["cpu"] = apply_cpu_kernels(checkpoint.model, choice)
    engine = Engine(checkpoint, compiled=s.compile)
    return ArtiMuse(engine, checkpoint.path, s.max_new_tokens)


def check_memory(path: Path, device: torch.device, dtype: torch.dtype, quant: str) -> None:
    """A CheckpointError, before anything is read, when the checkpoint in `path` cannot fit in
    memory as `quant` stores it (loading.memory; the front ends call it before starting)."""
    check_memory_fit(path, device, dtype, quant, partial(stored_as, device=device))


def stored_as(key: str, mode: str, shape: tuple[int, ...], device: torch.device) -> str | None:
    """What quant `mode` stores the checkpoint tensor `key` as on `device` (`int8`, `int4`,
    `nf4`), None where it stays as it is: the memory check's estimate (loading.memory)."""
    quantized = source_keys(mode, device)
    if quantized is None or not quantized(key):
        return None
    return kind_for(key.removesuffix(".weight"), mode, shape) if device.type == "cpu" else mode


class ArtiMuse:
    """A loaded model. Methods take a path, bytes, a file object or a PIL image."""

    def __init__(self, engine: Engine, path: Path, max_new_tokens: int = 2048):
        self.engine = engine
        self.path = Path(path)
        self.name = self.path.name  # the original tools' `model_name` in result file names
        self.max_new_tokens = max_new_tokens

    @property
    def device(self) -> torch.device:
        return self.engine.model.device

    @property
    def dtype(self) -> torch.dtype:
        return self.engine.model.dtype

    @property
    def kernels(self) -> dict:
        """What runs the weights, and why: {"quantization": {...}, "cpu": {...}}."""
        return self.engine.kernels

    @property
    def image_size(self) -> int:
        return self.engine.model.config.image_size

    def prepare(self, image: ImageInput | PreparedImage, name: str | None = None) -> PreparedImage:
        """Decode and preprocess once (off the model's thread, if you like); every method
        takes the result as it is. ImageError with the reason for a bad image."""
        return prepare_image(image, self.image_size, name)

    def pixels(self, image: ImageInput | PreparedImage) -> torch.Tensor:
        """Any image input -> (1, 3, S, S) pixel values, or ImageError with the reason."""
        return self.prepare(image).pixels

    def score(self, image: ImageInput | PreparedImage) -> Scores:
        """The total score with its distribution and the 7 aspect scores: one forward."""
        return self._forward([self.prepare(image)], SCORE_KEYS)[0]

    def score_many(
        self,
        images: Iterable[ImageInput],
        batch_size: int = 8,
        aspects: bool = False,
        workers: int = 2,
    ) -> Iterator[Scores | ImageError]:
        """Score images in batches, in input order; a bad image yields its ImageError.

        Decoding and resizing of the next batch run in a thread pool while the model works.
        `aspects=False` (datasets) asks only the total score. An unexpected failure of one
        item is logged with its traceback and yields `ItemFailed` for that item alone.
        """
        _ = self.image_size  # an unloaded model fails here, as a whole, not item by item
        prepare = partial(prepare_or_error, size=self.image_size)
        groups = batched(images, batch_size)
        with ThreadPoolExecutor(workers) as pool:
            pending = [pool.submit(prepare, x) for x in next(groups, [])]
            while pending:
                upcoming = [pool.submit(prepare, x) for x in next(groups, [])]
                yield from self.score_prepared([f.result() for f in pending], aspects)
                pending = upcoming

    def score_prepared(
        self, items: Sequence[PreparedImage | ImageError], aspects: bool = True
    ) -> list[Scores | ImageError]:
        """`score` for several prepared images (from `prepare()`) as one batch: one vision pass
        and one prefix prefill over all of them (request batching; each batch of `score_many`).
        An ImageError in `items` (an image that could not be read) is passed on in its place;
        if the batch fails, its items are scored one by one and a failed one gets its error.
        `aspects=False`: the total score only."""
        keys = SCORE_KEYS if aspects else SCORE_KEYS[:1]
        good = [x for x in items if isinstance(x, PreparedImage)]
        if not good:
            return list(items)
        try:
            scored = iter(self._forward(good, keys))
        except Exception:  # find the item at fault: score them one by one
            log.exception("a batch of %d failed; scoring its items one by one", len(good))
            scored = iter([self._forward_one(x, keys) for x in good])
        return [x if isinstance(x, ImageError) else next(scored) for x in items]

    def _forward(self, good: list[PreparedImage], keys: Sequence[str]) -> list[Scores]:
        cache = self.engine.prefill(torch.cat([x.pixels for x in good]))
        rows = self.engine.scores(cache, keys)
        return [self._scores(p, keys, x.warnings) for p, x in zip(rows, good, strict=True)]

    def _forward_one(self, item: PreparedImage, keys: Sequence[str]) -> Scores | ImageError:
        try:
            return self._forward([item], keys)[0]
        except Exception as error:
            log.exception("scoring one image failed")
            return ItemFailed(f"scoring failed: {type(error).__name__}: {error}")

    def _scores(
        self, probabilities: torch.Tensor, keys: Sequence[str], warnings: tuple[str, ...] = ()
    ) -> Scores:
        """(k, 101) probabilities for `keys` -> Scores."""
        values = self.engine.expected_scores(probabilities).tolist()
        by_key = dict(zip(keys, values))
        aspects = {a: by_key[a] for a in RADAR_ASPECTS if a in by_key}
        return Scores(by_key["total"], tuple(probabilities[0].tolist()), aspects, warnings)

    def stream(
        self,
        image: ImageInput | PreparedImage,
        aspects: Sequence[str] = ASPECTS,
        max_new_tokens: int | None = None,
    ) -> Iterator[Event]:
        """Scores first, then comment deltas as they are generated, then the whole result.

        Stop iterating (or `close()` the iterator) to stop generation and free its memory.
        """
        aspects = check_aspects(aspects)
        max_new_tokens = max_new_tokens or self.max_new_tokens
        prepared = self.prepare(image)
        cache = self.engine.prefill(prepared.pixels)
        scores = self._scores(self.engine.scores(cache)[0], SCORE_KEYS, prepared.warnings)
        yield ScoresReady(scores)
        texts = {a: CommentText(self.engine.tokenizer, self.engine.ids) for a in aspects}
        if aspects:
            suffixes = [self.engine.comment_suffix(a) for a in aspects]
            for step in self.engine.generate(cache, suffixes, max_new_tokens):
                for aspect, token in zip(aspects, step):
                    if not texts[aspect].done:
                        yield from _comment_events(aspect, texts[aspect], texts[aspect].add(token))
        del cache
        for aspect, text in texts.items():  # rows cut off by max_new_tokens
            if not text.done:
                yield from _comment_events(aspect, text, text.finish())
        comments = {a: texts[a].final for a in aspects}
        yield Finished(Assessment(scores, comments, self.name))

    def assess(
        self,
        image: ImageInput | PreparedImage,
        aspects: Sequence[str] = ASPECTS,
        max_new_tokens: int | None = None,
    ) -> Assessment:
        """Scores and the comments for `aspects` (default all 8)."""
        for event in self.stream(image, aspects, max_new_tokens):
            if isinstance(event, Finished):
                return event.assessment
        raise RuntimeError("the stream ended without a result")  # not reachable

    def comment(
        self,
        image: ImageInput | PreparedImage,
        aspects: Sequence[str] = ASPECTS,
        max_new_tokens: int | None = None,
    ) -> dict[str, str]:
        """aspect -> comment for `aspects` (default all 8)."""
        return self.assess(image, aspects, max_new_tokens).comments

    def unload(self) -> None:
        """Free the weights now (switching checkpoints in a long-running server). Afterwards
        every method raises RuntimeError saying the model was unloaded."""
        self.engine = _Unloaded(self.name)
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


class _Unloaded:
    """The engine's place after `ArtiMuse.unload()`: any use of it says what happened, where
    `None` would fail later with an AttributeError about NoneType."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str):
        raise RuntimeError(
            f"the model {self.__dict__.get('_name')!r} was unloaded (ArtiMuse.unload()); "
            "load it again with artimuse.load() to use it"
        )


def prepare_or_error(
    image: ImageInput, size: int, name: str | None = None
) -> PreparedImage | ImageError:
    """`prepare_image`, or the ImageError saying why not: one bad image of a batch is reported
    in its place, never raised (an unexpected failure too, as ItemFailed, logged)."""
    try:
        return prepare_image(image, size, name)
    except ImageError as error:
        return error
    except Exception as error:  # a bug must cost this item, not the batch
        log.exception("preparing %s failed", _describe(image))
        return ItemFailed(f"{_describe(image)} failed: {type(error).__name__}: {error}")


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive groups of `size` (the last may be shorter): the batches `score_many` scores.

    A batch's make-up changes the last bits of float scores, so a path that must give the same
    numbers (`artimuse eval --ray`) groups images with this too.
    """
    remaining = iter(items)
    return iter(lambda: list(islice(remaining, size)), [])


def _describe(image: object) -> str:
    return str(image) if isinstance(image, (str, Path)) else type(image).__name__


def _comment_events(aspect: str, text: CommentText, delta: str) -> Iterator[Event]:
    if delta:
        yield CommentDelta(aspect, delta)
    if text.done:
        yield CommentDone(aspect, text.final, len(text.tokens))


def check_aspects(aspects: Sequence[str]) -> list[str]:
    """Known aspects, in the canonical order, without duplicates."""
    aspects = [aspects] if isinstance(aspects, str) else list(aspects)
    unknown = [a for a in aspects if a not in ASPECTS]
    if unknown:
        raise InputError(f"unknown aspects {unknown}; choose from {list(ASPECTS)}")
    return [a for a in ASPECTS if a in aspects]
