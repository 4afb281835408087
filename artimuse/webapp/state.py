"""What the web app keeps between requests: the one model (loaded in the background, swappable)
and a result cache whose entries belong to one browser session each. No gradio here."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image

from artimuse.config import CHECKPOINTS_DIR, Settings
from artimuse.errors import ArtiMuseError
from artimuse.inference.batcher import ScoreBatcher

log = logging.getLogger(__name__)

LOADING, READY, FAILED = "loading", "ready", "failed"


@dataclass(frozen=True)
class ModelStatus:
    state: str  # LOADING, READY or FAILED
    ckpt: str  # ready: the loaded checkpoint; otherwise what was asked for
    detail: str = ""  # ready: "cpu · float32"; failed: the error message
    download: str = ""  # failed because the weights are missing: the exact command to get them
    device: str = ""  # ready: where the model runs ("cpu", "cuda", "mps")
    missing: bool = False  # failed: nothing (or no weights) where the checkpoint should be
    rejected: ModelStatus | None = None  # ready after a failed switch: how that switch failed

    @property
    def name(self) -> str:
        """What visitors may see of the checkpoint: its name, never a server path."""
        return checkpoint_name(self.ckpt)


def checkpoint_name(ckpt: str) -> str:
    return Path(str(ckpt).rstrip("/")).name or str(ckpt)


def check_checkpoint(ckpt: str) -> None:
    """The cheap checks (folder, config, weight files) run before the working model goes: a
    typo must not take it from every visitor. Only this disk counts: a switch never downloads
    (a hub id not here yet is the download panel's job)."""
    from artimuse.loading.checkpoint import read_config
    from artimuse.loading.hub import default_target, hub_repo
    from artimuse.loading.weights import weight_files

    path, repo = Path(ckpt).expanduser(), hub_repo(ckpt)
    if not path.is_dir() and repo is not None:
        path = default_target(repo)
    if not path.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {path}")
    read_config(path)
    weight_files(path)


def download_hint(ckpt: str) -> str:
    """The commands that put a released checkpoint exactly where `ckpt` points (a hub id: where
    it is kept); empty for a folder named for no released checkpoint (a typo)."""
    from artimuse.loading.hub import default_target, hub_repo, known_checkpoint

    repo = hub_repo(ckpt)
    if repo is not None:
        name, target = repo, default_target(repo)
    else:
        known = known_checkpoint(Path(ckpt).name)
        if known is None:
            return ""
        name, repo, target = known.name, known.repo, Path(ckpt)
    elsewhere = "" if target == default_target(repo) else f" --dir {target}"
    return f"artimuse download {name}{elsewhere} (or: hf download {repo} --local-dir {target})"


def failure(ckpt: str, error: Exception) -> ModelStatus:
    """FAILED: a missing checkpoint with the command that would put it there, else the error."""
    if isinstance(error, FileNotFoundError):
        return ModelStatus(FAILED, ckpt, str(error), download_hint(ckpt), missing=True)
    return ModelStatus(FAILED, ckpt, f"{type(error).__name__}: {error}")


class ModelHolder:
    """The server's one model. `lock` serialises every use of it (a cancelled job may still be
    finishing its step when the next one starts); `check` runs before a switch unloads the
    working model."""

    def __init__(self, settings: Settings, loader: Callable | None = None,
                 check: Callable[[str], None] | None = check_checkpoint):  # fmt: skip
        self.settings, self._loader, self._check = settings, loader or self._load, check
        self.lock, self._ready, self.model = threading.RLock(), threading.Event(), None
        self.source = ""  # what the working model was loaded from (a switch may restore it)
        self.status = ModelStatus(LOADING, settings.ckpt)
        # Score passes of sessions asking at the same time run as one batch (under `lock`).
        self.batcher = ScoreBatcher(lambda batch: self.model.score_prepared(batch), lock=self.lock)

    @classmethod
    def with_model(cls, model, settings: Settings | None = None) -> ModelHolder:
        """Around an already loaded model (the Space's app, tests, notebooks)."""
        settings = settings or Settings(ckpt=model.name, max_new_tokens=model.max_new_tokens)
        holder = cls(settings)
        holder._set_ready(model, settings.ckpt)
        return holder

    def start_loading(self, ckpt: str | None = None) -> threading.Thread:
        """Load `ckpt` (default: the settings') in a daemon thread."""
        ckpt = ckpt or self.settings.ckpt
        self._ready.clear()
        self.status = ModelStatus(LOADING, ckpt)
        thread = threading.Thread(target=self.load, args=(ckpt,), name="artimuse-load", daemon=True)
        thread.start()
        return thread

    def load(self, ckpt: str) -> ModelStatus:
        """Switch to `ckpt`; never raises. With a working model, `ckpt` is checked first, and if
        the check or the load fails the working model stays (the status says why)."""
        if self.model is not None and self._check is not None:  # before anyone loses the model
            try:
                self._check(ckpt)
            except Exception as error:  # whatever is wrong, the working model stays
                log.warning("not switching to %r: %s", str(ckpt)[:200], error)
                self.status = replace(self.status, rejected=failure(ckpt, error))
                return self.status
        with self.lock:
            working = self.source if self.model is not None else None
            self._ready.clear()
            self.status = ModelStatus(LOADING, ckpt)
            if self.model is not None:
                log.info("unloading %s", self.model.name)
                self.model.unload()
                self.model = None
            failed = self._load_or_failure(ckpt)
            if failed is not None and working is not None:  # passed the check, failed to load
                if self._load_or_failure(working) is None:
                    self.status = replace(self.status, rejected=failed)
            self._ready.set()
            return self.status

    def _load_or_failure(self, ckpt: str) -> ModelStatus | None:
        """Load `ckpt` and make it current; None on success, else the FAILED status set."""
        try:
            model = self._loader(ckpt)
        except Exception as error:  # a broken checkpoint must not take the page down
            expected = isinstance(error, (ArtiMuseError, OSError))  # else a bug: its traceback
            log.warning("could not load %r: %s", str(ckpt)[:200], error, exc_info=not expected)
            self.status = failure(ckpt, error)
            return self.status
        self._set_ready(model, ckpt)
        return None

    def _load(self, ckpt: str):
        from artimuse.api import load  # torch and transformers load here, not at import

        return load(ckpt, **self.settings.load_options())

    def _set_ready(self, model, source: str) -> None:
        self.model, self.source = model, source
        dtype = str(model.dtype).removeprefix("torch.")
        device = str(getattr(model.device, "type", model.device)).split(":")[0]
        self.status = ModelStatus(READY, model.name, f"{model.device} · {dtype}", device=device)
        self._ready.set()

    def score(self, image):
        """The current model's scores of `image`, batched with other threads' requests."""
        return self.batcher.score(self.model.prepare(image))

    def wait(self, timeout: float | None = None) -> ModelStatus:
        """The status once the current load has finished (or `timeout` seconds passed)."""
        self._ready.wait(timeout)
        return self.status


def list_checkpoints(current: str, root: Path = CHECKPOINTS_DIR) -> dict[str, str]:
    """name -> folder of the current checkpoint and those under `root` (with a config.json):
    the switcher shows the names, the server keeps the paths."""
    found = {checkpoint_name(current): current}
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if (folder / "config.json").is_file():
                found.setdefault(folder.name, str(folder))
    return found


def image_digest(image: Image.Image) -> str:
    """sha256 of what the model sees (size, mode, pixels): the same picture under another name
    or re-encoded is the same entry."""
    digest = hashlib.sha256(f"{image.size}{image.mode}".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


class ResultCache:
    """A small thread-safe LRU: (session, image digest, checkpoint, settings...) -> result. The
    session comes first in every key, so `drop_session` can release one session's entries."""

    def __init__(self, capacity: int = 64):
        self.capacity, self._items, self._lock = capacity, OrderedDict(), threading.Lock()

    def get(self, key: tuple) -> Any | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
            return self._items.get(key)

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def drop_session(self, session: str | None) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == session]:
                del self._items[key]

    def __len__(self) -> int:
        return len(self._items)
