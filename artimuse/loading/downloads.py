"""One checkpoint download at a time, in a background thread, for a server (the web app).

The progress is server state: every visitor of the page sees the same download, a reload finds
it again, and a second Download press while one runs is refused. When a download ends well,
`on_done(folder)` runs in its thread (the web app loads the model there).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from artimuse.loading.hub import DownloadError, HubDownload, Progress

log = logging.getLogger(__name__)


class DownloadService:
    def __init__(
        self,
        endpoint: str | None = None,
        on_done: Callable[[Path], object] | None = None,
    ):
        self.endpoint = endpoint  # None: huggingface_hub's (HF_ENDPOINT)
        self.on_done = on_done
        self._job: HubDownload | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def progress(self) -> Progress | None:
        """The current or last download's progress; None when none was started."""
        job = self._job
        return job.progress if job else None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, repo: str, target: str | Path | None = None) -> bool:
        """Start downloading `repo`; False (and nothing started) when one already runs."""
        with self._lock:
            if self.running:
                return False
            self._job = HubDownload(repo, target, endpoint=self.endpoint)
            self._thread = threading.Thread(
                target=self._run, args=(self._job,), name="artimuse-download", daemon=True
            )
            self._thread.start()
            return True

    def cancel(self) -> bool:
        """Ask the running download to stop at its next chunk; False when none runs."""
        job = self._job
        if job is None or not self.running:
            return False
        job.cancel()
        return True

    def wait(self, timeout: float | None = None) -> Progress | None:
        """Block until the current download has ended (tests, scripts)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.progress

    def _run(self, job: HubDownload) -> None:
        try:
            folder = job.run()
        except DownloadError as error:
            log.warning("%s", error)
            return
        except Exception:  # a bug must not kill the server silently: log it, show it failed
            log.exception("download of %s failed", job.repo)
            return
        if self.on_done is not None:
            self.on_done(folder)
