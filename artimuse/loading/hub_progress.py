"""One progress record for a checkpoint download, whichever hub it comes from, and the
adapters that fill it from each client's own progress hooks.

The CLI's bar and the web app's panel both draw a `Progress`; `Meter` keeps the current one
(bytes, files, speed over the last seconds, ETA) and hands every new record to the caller's
callback. Cancelling is done through the same hooks: each client calls them from its worker
threads for every chunk it writes, so a hook that raises `Stopped` once the cancel event is set
stops every transfer at its next chunk, through the client's own interrupt path.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

CHECKING, DOWNLOADING, VERIFYING, DONE, FAILED, CANCELLED = (
    "checking", "downloading", "verifying", "done", "failed", "cancelled"
)
SPEED_WINDOW_S = 5.0  # the speed shown is the mean over this many last seconds


@dataclass(frozen=True)
class Progress:
    """A snapshot of one download, safe to hand to any thread (the page polls it)."""

    state: str
    repo: str  # as messages name it: org/name, ms:org/name, with @revision when pinned
    target: str = ""  # the folder it goes to ("" until known: the hub cache decides)
    done_bytes: int = 0
    total_bytes: int = 0
    files_done: int = 0
    files_total: int = 0
    speed: float = 0.0  # bytes per second over the last SPEED_WINDOW_S
    file: str = ""
    message: str = ""  # failed / cancelled: what happened and what to do
    updated: float = 0.0  # time.monotonic() of the last bytes

    @property
    def stalled(self) -> bool:
        """No bytes for SPEED_WINDOW_S: the speed shown would be stale."""
        return self.state == DOWNLOADING and time.monotonic() - self.updated > SPEED_WINDOW_S

    @property
    def active(self) -> bool:
        return self.state in (CHECKING, DOWNLOADING, VERIFYING)

    @property
    def percent(self) -> float:
        if self.state == DONE:
            return 100.0
        return 100.0 * self.done_bytes / self.total_bytes if self.total_bytes else 0.0

    @property
    def eta_s(self) -> float | None:
        left = self.total_bytes - self.done_bytes
        return left / self.speed if self.speed > 0 and left >= 0 and not self.stalled else None


class Stopped(BaseException):
    """Raised inside a hub client's progress hook when the download is cancelled.

    A BaseException, as KeyboardInterrupt is: both clients retry a failed file on `Exception`
    (the modelscope client with a back-off of up to 30 s), but stop every worker at once on a
    BaseException (huggingface_hub's thread map and the modelscope client's own cancel event
    both cancel the files not started yet). `resolve` turns it into DownloadCancelled."""


class Meter:
    """The current `Progress` of one download, updated from the client's worker threads."""

    def __init__(
        self,
        repo: str,
        callback: Callable[[Progress], object] | None = None,
        cancel: threading.Event | None = None,
    ):
        self.cancel = cancel or threading.Event()
        self._callback = callback
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, int]] = deque()
        self._progress = Progress(CHECKING, repo)

    @property
    def progress(self) -> Progress:
        return self._progress

    def check(self) -> None:
        if self.cancel.is_set():
            raise Stopped()

    def set(self, **changes) -> None:
        with self._lock:
            self._progress = replace(self._progress, **changes)
            if self._callback is not None:
                self._callback(self._progress)  # under the lock: records arrive in order

    def add_bytes(self, count: int) -> None:
        """`count` more bytes written (negative: a restarted file gave some back)."""
        self.check()
        with self._lock:
            done = max(self._progress.done_bytes + count, 0)
            now = time.monotonic()
            self._samples.append((now, done))
            while len(self._samples) > 2 and now - self._samples[0][0] > SPEED_WINDOW_S:
                self._samples.popleft()
            t0, d0 = self._samples[0]
            speed = max((done - d0) / (now - t0), 0.0) if now > t0 else self._progress.speed
        self.set(done_bytes=done, speed=speed, updated=now)

    def file_done(self, name: str = "") -> None:
        self.check()
        self.set(files_done=self._progress.files_done + 1, file=name)


# The bars whose updates are bytes written: snapshot_download's total, and one file fetched by
# `http_get` directly (hub_resume's resumable transfers).
WRITTEN_BARS = ("huggingface_hub.snapshot_download", "huggingface_hub.http_get")


def hf_tqdm_class(meter: Meter) -> type:
    """A `tqdm_class` for huggingface_hub's `snapshot_download`, feeding `meter`.

    snapshot_download makes three bars from it: the file count ("Fetching N files"), the
    bytes written ("Reconstructing"/"Downloading bytes" in 2.x: every file's chunks arrive as
    `update(n)` on the bytes-written bar) and the bytes received. The bars draw nothing
    (disable=True): the record is what the CLI and the web app show."""
    from huggingface_hub.utils import tqdm as hf_tqdm

    class Bar(hf_tqdm):
        def __init__(self, *args, **kwargs):
            desc, name = str(kwargs.get("desc") or ""), kwargs.get("name")
            self._role = (
                "files" if desc.startswith("Fetching")
                else "written" if name in WRITTEN_BARS
                else "other"
            )
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            if name == "huggingface_hub.http_get" and kwargs.get("initial"):
                meter.add_bytes(int(kwargs["initial"]))  # a resumed file's bytes on disk

        def update(self, n: float | None = 1) -> bool | None:
            if self._role == "written":
                meter.add_bytes(int(n or 0))
            elif self._role == "files":
                meter.file_done()
            else:
                meter.check()
            return super().update(n)

    return Bar


def modelscope_callback(meter: Meter) -> type:
    """A `progress_callbacks` class for the modelscope client (one instance per file)."""
    from modelscope.hub.callback import ProgressCallback

    class Callback(ProgressCallback):
        def update(self, size: int) -> None:
            meter.add_bytes(int(size))

        def end(self) -> None:
            meter.file_done(self.filename)

    return Callback
