"""The released checkpoints on the model hub, and downloading one with progress, resumably.

`KNOWN_CHECKPOINTS` is the one table of what exists. `hub_repo` decides whether a text is a hub
repo id (`hf-hub:org/name`, a known name, or a bare `org/name` that cannot be a local path).
`HubDownload` fetches a repo's files one by one with huggingface_hub (which reads `HF_ENDPOINT`
and honours `HF_HUB_OFFLINE`), after checking the free disk space against the hub's file list;
it reports bytes, speed and ETA, can be cancelled from another thread, keeps every finished file
and the part of the current one (a new run goes on where the last one stopped, with a `Range`
request; so does a dropped connection) and ends by checking that the folder loads. Every
failure is a `DownloadError` whose message says what to do.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from artimuse.config import CHECKPOINTS_DIR
from artimuse.loading.hub_checks import (
    DownloadCancelled,
    DownloadError,
    RemoteFile,
    complete,
    describe_failure,
    existing_parent,
    free_bytes,
    verify_folder,
)

log = logging.getLogger(__name__)

HUB_PREFIX = "hf-hub:"  # explicit form, as open_clip spells it: hf-hub:org/name
HUB_TIMEOUT_S = 10.0  # a hub that does not answer the file list in this time is unreachable
DISK_MARGIN_BYTES = 64 * 2**20  # room left beside the checkpoint (metadata, locks, logs)
PARTIAL_DIR = Path(".cache") / "artimuse"  # inside the target: partial files, kept to resume
SPEED_WINDOW_S = 5.0  # the speed shown is the mean over this many last seconds
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class KnownCheckpoint:
    name: str
    repo: str
    size_gb: float  # bf16 weights, approximate: the exact size comes from the hub's file list
    tuned_on: str


KNOWN_CHECKPOINTS = (
    KnownCheckpoint("ArtiMuse", "Thunderbolt215215/ArtiMuse", 16,
                    "ArtiMuse-10K (the general model)"),
    KnownCheckpoint("ArtiMuse_AVA", "Thunderbolt215215/ArtiMuse_AVA", 16,
                    "AVA (photo-contest votes)"),
    KnownCheckpoint("ArtiMuse_FLICKR-AES", "Thunderbolt215215/ArtiMuse_FLICKR-AES", 16,
                    "FLICKR-AES (crowd-rated Flickr photos)"),
    KnownCheckpoint("ArtiMuse_PARA", "Thunderbolt215215/ArtiMuse_PARA", 16,
                    "PARA (personalised aesthetics)"),
    KnownCheckpoint("ArtiMuse_TAD66K", "Thunderbolt215215/ArtiMuse_TAD66K", 16,
                    "TAD66K (theme-aware aesthetics)"),
)
DEFAULT_CHECKPOINT = KNOWN_CHECKPOINTS[0]


def checkpoints_table() -> str:
    """The README's table of the released checkpoints, generated from KNOWN_CHECKPOINTS."""
    rows = [f"| `{k.name}` | `{k.repo}` | ~{k.size_gb:g} GB | {k.tuned_on} |"
            for k in KNOWN_CHECKPOINTS]
    return "\n".join(["| name | hub repo | size | tuned on |", "|---|---|---|---|", *rows])


def known_checkpoint(name_or_repo: str) -> KnownCheckpoint | None:
    text = name_or_repo.removeprefix(HUB_PREFIX)
    return next((k for k in KNOWN_CHECKPOINTS if text in (k.name, k.repo)), None)


def hub_repo(text: str) -> str | None:
    """The hub repo id `text` names, or None when it is (or can only be) a local path.

    `hf-hub:org/name` always is one; a bare `org/name` is one unless it exists, its first part
    is a folder here, or its first part is `checkpoints` (`checkpoints/ArtiMuse` without
    ./checkpoints is a missing folder, never a network call). A bare name (`ArtiMuse_AVA`) is a
    folder: only `artimuse download` takes known names."""
    text = str(text).strip()
    if text.startswith(HUB_PREFIX):
        repo = text.removeprefix(HUB_PREFIX)
        return repo if REPO_ID.match(repo) else None
    first = text.split("/")[0]
    if not REPO_ID.match(text) or first == CHECKPOINTS_DIR.name or Path(first).is_dir():
        return None
    return None if Path(text).expanduser().exists() else text


def repo_to_download(name_or_repo: str) -> str:
    """`artimuse download`'s argument: a known name, `hf-hub:org/name` or `org/name`."""
    known = known_checkpoint(name_or_repo)
    repo = known.repo if known else hub_repo(name_or_repo)
    if repo is None:
        names = ", ".join(k.name for k in KNOWN_CHECKPOINTS)
        raise DownloadError(
            f"{name_or_repo!r} is neither a known checkpoint ({names}) nor a hub repo id "
            "(org/name or hf-hub:org/name)"
        )
    return repo


def default_target(repo: str) -> Path:
    """Where a repo is downloaded unless told otherwise: checkpoints/<name>."""
    return CHECKPOINTS_DIR / repo.split("/")[-1]


def download_hint(name_or_path: str | Path) -> str:
    """The commands that fetch the checkpoint a missing folder was meant to hold."""
    known = known_checkpoint(Path(str(name_or_path)).name) or DEFAULT_CHECKPOINT
    return (
        f"artimuse download {known.name} (or: hf download {known.repo} "
        f"--local-dir {default_target(known.repo)})"
    )


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


# --- progress -------------------------------------------------------------------------------

CHECKING, DOWNLOADING, VERIFYING, DONE, FAILED, CANCELLED = (
    "checking", "downloading", "verifying", "done", "failed", "cancelled"
)


@dataclass(frozen=True)
class Progress:
    """A snapshot of one download, safe to hand to any thread (the page polls it)."""

    state: str
    repo: str
    target: str
    done_bytes: int = 0
    total_bytes: int = 0
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
        return 100.0 * self.done_bytes / self.total_bytes if self.total_bytes else 0.0

    @property
    def eta_s(self) -> float | None:
        left = self.total_bytes - self.done_bytes
        return left / self.speed if self.speed > 0 and left >= 0 and not self.stalled else None


class HubDownload:
    """One repo into one folder. `run()` blocks; `cancel()` and `progress` work from any thread.

    `endpoint`: the hub's address (default: huggingface_hub's, i.e. `HF_ENDPOINT`)."""

    def __init__(self, repo: str, target: str | Path | None = None, endpoint: str | None = None):
        self.repo, self.endpoint = repo, endpoint
        self.target = Path(target) if target else default_target(repo)
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, int]] = deque()
        self._finished_bytes = 0
        self._progress = Progress(CHECKING, repo, str(self.target))
        self.observers: list[Callable[[Progress], None]] = []

    @property
    def progress(self) -> Progress:
        return self._progress

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> Path:
        """Download, check the folder, return it; raises DownloadError (DownloadCancelled)."""
        try:
            sha, files = self._list_files()
            self._check_disk(files)
            self._set(state=DOWNLOADING, total_bytes=sum(f.size for f in files),
                      updated=time.monotonic())
            for remote in files:
                self._fetch(sha, remote)
            self._set(state=VERIFYING, file="")
            verify_folder(self.target, files)
        except DownloadError as error:
            self._set(state=CANCELLED if isinstance(error, DownloadCancelled) else FAILED,
                      message=str(error), speed=0.0)
            raise
        except Exception as error:  # the hub client's many errors: one message for the user
            message = describe_failure(error, self.repo, self.target, self.endpoint,
                                       [k.name for k in KNOWN_CHECKPOINTS])
            self._set(state=FAILED, message=message, speed=0.0)
            raise DownloadError(message) from error
        self._set(state=DONE, done_bytes=self._progress.total_bytes, speed=0.0)
        log.info("downloaded %s into %s", self.repo, self.target)
        return self.target

    # ---- steps -----------------------------------------------------------------------------
    def _list_files(self) -> tuple[str, list[RemoteFile]]:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.endpoint)
        info = api.model_info(self.repo, files_metadata=True, timeout=HUB_TIMEOUT_S)
        files = [RemoteFile(s.rfilename, int(s.size or 0)) for s in info.siblings or []]
        return info.sha, sorted(files, key=lambda f: f.size)  # small files (config) first

    def _check_disk(self, files: list[RemoteFile]) -> None:
        missing = sum(f.size for f in files if not complete(self.target / f.path, f.size))
        where = existing_parent(self.target)
        free = free_bytes(where)
        if missing + DISK_MARGIN_BYTES > free:
            raise DownloadError(
                f"not enough disk space for {self.repo}: it needs {human_bytes(missing)} more "
                f"and {where.resolve()} has {human_bytes(free)} free. Free some space or choose "
                "another folder (artimuse download --dir DIR)"
            )

    def _fetch(self, sha: str, remote: RemoteFile) -> None:
        if self._cancel.is_set():
            raise DownloadCancelled(self._cancelled_message())
        self._set(file=remote.path)
        if not complete(self.target / remote.path, remote.size):
            self._fetch_resumably(sha, remote)
        self._finished_bytes += remote.size  # exact, whatever the bar counted
        self._advance(0, absolute=self._finished_bytes)

    def _fetch_resumably(self, sha: str, remote: RemoteFile) -> None:
        """Append to `<target>/.cache/artimuse/<file>.part` from where it ends, then move it
        into place. hf_hub_download starts a file over after an interruption (it keeps no
        partial file since huggingface_hub 1.x); its `http_get` resumes with a Range request."""
        from huggingface_hub import hf_hub_url
        from huggingface_hub.file_download import http_get
        from huggingface_hub.utils import build_hf_headers

        part = self.target / PARTIAL_DIR / f"{remote.path}.part"
        part.parent.mkdir(parents=True, exist_ok=True)
        if part.exists() and part.stat().st_size > remote.size:
            part.unlink()  # not this file's beginning: start over
        have = part.stat().st_size if part.exists() else 0
        self._advance(0, absolute=self._finished_bytes + have)
        url = hf_hub_url(self.repo, remote.path, revision=sha, endpoint=self.endpoint)
        with part.open("ab") as out:
            if have < remote.size:
                http_get(url, out, resume_size=have, headers=build_hf_headers(),
                         expected_size=remote.size, tqdm_class=self._bar)
        destination = self.target / remote.path
        destination.parent.mkdir(parents=True, exist_ok=True)
        part.replace(destination)

    def _bar(self, *args, **kwargs) -> _Bar:
        return _Bar(self)

    # ---- bookkeeping -----------------------------------------------------------------------
    def _advance(self, count: int, absolute: int | None = None) -> None:
        """Bytes arrived (called from inside huggingface_hub's read loop: Cancel stops it)."""
        if self._cancel.is_set():
            raise DownloadCancelled(self._cancelled_message())
        done = absolute if absolute is not None else self._progress.done_bytes + count
        now = time.monotonic()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > SPEED_WINDOW_S:
            self._samples.popleft()
        (t0, d0) = self._samples[0]
        speed = (done - d0) / (now - t0) if now > t0 else self._progress.speed
        self._set(done_bytes=done, speed=max(speed, 0.0), updated=now)

    def _set(self, **changes) -> None:
        with self._lock:
            self._progress = replace(self._progress, **changes)
            progress = self._progress
        for observer in self.observers:
            observer(progress)

    def _cancelled_message(self) -> str:
        return (
            f"download of {self.repo} cancelled; the files finished so far are kept in "
            f"{self.target} and the next download goes on from there"
        )


class _Bar:
    """What huggingface_hub takes as `tqdm_class`: forwards the byte counts to the job."""

    def __init__(self, job: HubDownload):
        self._job = job

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, n: float | None = 1) -> None:
        self._job._advance(int(n or 0))

    def close(self) -> None:
        pass

    def set_postfix_str(self, *args, **kwargs) -> None:
        pass

    def refresh(self, *args, **kwargs) -> None:
        pass

