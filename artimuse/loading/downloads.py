"""One checkpoint download at a time, in a background thread, for a server (the web app).

The progress is server state: every visitor of the page sees the same download, a reload finds
it again, and a second Download press while one runs is refused. The download itself is the
resolver's (`hub_resolve.resolve`): its progress record is what `progress` returns, its cancel
event is what `cancel()` sets. When a download ends well, `on_done(folder)` runs in its thread
(the web app loads the model there).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from artimuse.errors import ArtiMuseError
from artimuse.loading.hub_progress import CHECKING, FAILED, Progress
from artimuse.loading.hub_resolve import resolve

log = logging.getLogger(__name__)


class DownloadService:
    def __init__(
        self,
        endpoint: str | None = None,
        on_done: Callable[[Path], object] | None = None,
        source: str | None = None,
    ):
        self.endpoint = endpoint  # None: the client's own (HF_ENDPOINT / MODELSCOPE_ENDPOINT)
        self.source = source  # None: ARTIMUSE_SOURCE
        self.on_done = on_done
        self._progress: Progress | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def progress(self) -> Progress | None:
        """The current or last download's progress; None when none was started."""
        return self._progress

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(
        self, repo: str, target: str | Path | None = None, revision: str | None = None
    ) -> bool:
        """Start fetching `repo` (a hub id or released name) into `target` (default: the hub
        cache); False (and nothing started) when one already runs."""
        with self._lock:
            if self.running:
                return False
            self._cancel = threading.Event()
            self._progress = Progress(CHECKING, repo, str(target or ""))
            self._thread = threading.Thread(
                target=self._run, args=(repo, target, revision, self._cancel),
                name="artimuse-download", daemon=True,
            )
            self._thread.start()
            return True

    def cancel(self) -> bool:
        """Ask the running download to stop at its next chunk; False when none runs."""
        if not self.running:
            return False
        self._cancel.set()
        return True

    def wait(self, timeout: float | None = None) -> Progress | None:
        """Block until the current download has ended (tests, scripts)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.progress

    def _record(self, progress: Progress) -> None:
        self._progress = progress

    def _run(self, repo: str, target, revision, cancel: threading.Event) -> None:
        try:
            folder = resolve(repo, source=self.source, revision=revision, local_dir=target,
                             progress=self._record, cancel=cancel, endpoint=self.endpoint)
        except ArtiMuseError as error:  # a DownloadError has set the record already
            log.warning("%s", error)
            if self._progress is None or self._progress.active:
                self._progress = replace(self._progress, state=FAILED, message=str(error))
            return
        except Exception:  # a bug must not kill the server silently: log it, show it failed
            log.exception("download of %s failed", repo)
            self._progress = replace(self._progress, state=FAILED, message="internal error")
            return
        if self._progress.active:  # found locally: no download ran, nothing was recorded
            self._progress = replace(self._progress, state="done", target=str(folder))
        if self.on_done is not None:
            self.on_done(folder)
