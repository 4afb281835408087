"""The one resolver: a checkpoint argument in, the folder that holds it out.

    resolve("checkpoints/tiny")                 # a local folder, as it is
    resolve("ArtiMuse_AVA")                     # a released name (hub, or ModelScope)
    resolve("hf-hub:org/name@v1.0")             # a Hugging Face repo at a revision
    resolve("ms:thunderbolt/ArtiMuse")          # a ModelScope repo
    resolve("org/name", local_dir="here", progress=print, cancel=event)

A repo is looked for locally first, without a request: a complete `checkpoints/<name>` (where
earlier versions and the web app's panel put downloads), then the hub's own cache
(`snapshot_download(local_files_only=True)`, so whatever `hf download`, another library or a
Space's `preload_from_hub` fetched is used; HF_HUB_OFFLINE=1 stops here). Only then is it
downloaded with `snapshot_download`, into the shared hub cache (HF_HOME) or into `local_dir`,
after a disk check against the hub's own listing (a dry run), several files at once. Every
failure is a `CheckpointNotFound` (a `DownloadError` with a `kind` when fetching failed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from artimuse.config import CHECKPOINTS_DIR, HF, SOURCES, download_source
from artimuse.errors import CheckpointNotFound
from artimuse.loading import hub_modelscope
from artimuse.loading.hub import (
    KNOWN_CHECKPOINTS,
    HubSpec,
    check_source,
    default_target,
    download_hint,
    known_checkpoint,
    parse_spec,
)
from artimuse.loading.hub_checks import (
    DownloadCancelled,
    DownloadError,
    check_disk,
    loads,
    missing_folder,
    nearest_folders,
    not_a_folder,
    verify_folder,
)
from artimuse.loading.hub_errors import describe_hf_failure
from artimuse.loading.hub_progress import (
    DONE,
    DOWNLOADING,
    FAILED,
    VERIFYING,
    Meter,
    Progress,
    Stopped,
    hf_tqdm_class,
)
from artimuse.loading.hub_resume import prefetch_large_files

log = logging.getLogger(__name__)

# Files fetched at once: huggingface_hub's own default. A released checkpoint is a few ~4 GB
# shards, so on a fast link this is what fills it; on a slow one it costs nothing.
DOWNLOAD_WORKERS = 8
KNOWN_NAMES = ", ".join(k.name for k in KNOWN_CHECKPOINTS)


def resolve(
    spec: str | Path,
    *,
    source: str | None = None,
    revision: str | None = None,
    local_dir: str | Path | None = None,
    progress: Callable[[Progress], object] | None = None,
    cancel: threading.Event | None = None,
    download: bool = True,
    endpoint: str | None = None,
    max_workers: int = DOWNLOAD_WORKERS,
) -> Path:
    """The folder `spec` names: a local folder, or a hub repo found locally or downloaded.

    `source`: `hf` or `modelscope` for bare ids and names (default ARTIMUSE_SOURCE);
    `revision`: a branch, tag or commit; `local_dir`: download there instead of the hub cache;
    `progress(record)`: called with a `Progress` at every change; `cancel`: set it to stop the
    download (DownloadCancelled); `download=False`: look only locally and raise
    CheckpointNotFound otherwise; `endpoint`: the hub's address (default HF_ENDPOINT, or
    MODELSCOPE_ENDPOINT on ModelScope)."""
    text = str(spec).strip()
    if not text:
        raise CheckpointNotFound("no checkpoint given: a folder, a hub id or one of "
                                 f"{KNOWN_NAMES}")
    hub = parse_spec(text, source, revision)
    if hub is None:
        return local_folder(Path(text).expanduser(), source)
    found = find_locally(hub, local_dir)
    if found is not None:
        return found
    if not download:
        raise not_downloaded(hub)
    meter = Meter(hub.label, progress, cancel)
    try:
        return _fetch(hub, local_dir, meter, endpoint, max_workers)
    except DownloadError as error:
        near = nearest_folders(Path(text)) if error.kind == "repo_not_found" else []
        if near and hub.label == text:  # a bare org/name: perhaps a mistyped folder
            shown = " or ".join(str(p) for p in near)
            raise DownloadError(f"{error} (or, if you meant a folder: did you mean {shown}?)",
                                error.kind, **error.details) from error
        raise


def _fetch(hub: HubSpec, local_dir, meter: Meter, endpoint: str | None, workers: int) -> Path:
    try:
        if hub.source == HF:
            folder = _download_hf(hub, local_dir, meter, endpoint, workers)
        else:
            folder = hub_modelscope.download(hub, local_dir, meter, endpoint, workers)
        meter.set(state=VERIFYING, target=str(folder))
        verify_folder(folder)
    except DownloadError as error:
        meter.set(state=FAILED if error.kind != "cancelled" else "cancelled",
                  message=str(error), speed=0.0)
        raise
    meter.set(state=DONE, done_bytes=meter.progress.total_bytes, speed=0.0)
    log.info("%s is in %s", hub.label, folder)
    return folder


def local_folder(path: Path, source: str | None = None) -> Path:
    """A path: the folder; a file or a missing path is a mistake, said as one. The one missing
    path with a second chance is `checkpoints/<released name>` (the default): the hub cache's
    copy is used when there is one."""
    if path.is_dir():
        return path
    if path.exists():
        raise not_a_folder(path)
    known = known_checkpoint(path.name)
    if known is not None and path == CHECKPOINTS_DIR / known.name:
        first = check_source(source or download_source())
        for where in sorted(SOURCES, key=lambda s: s != first):  # the chosen source first
            cached = find_locally(HubSpec(where, known.repo_on(where), known=known))
            if cached is not None:
                log.info("%s is not here: using the copy in %s", path, cached)
                return cached
    raise missing_folder(path, download_hint(path) if known else "")


def find_locally(hub: HubSpec, local_dir: str | Path | None = None) -> Path | None:
    """The complete folder of `hub` on this machine, found without a request, or None."""
    legacy = default_target(hub.repo) if hub.known and hub.revision is None else None
    if local_dir is None and legacy is not None and loads(legacy):
        return legacy
    if hub.source == HF:
        folder = _hf_cached(hub, local_dir)
    else:
        folder = hub_modelscope.cached(hub, local_dir)
    return folder if folder is not None and loads(folder) else None


def not_downloaded(hub: HubSpec) -> CheckpointNotFound:
    name = hub.known.name if hub.known else hub.label
    where = " --source modelscope" if hub.source != HF and not hub.label.startswith("ms:") else ""
    return CheckpointNotFound(
        f"{hub.label} is not downloaded (not in the hub cache, nor in "
        f"{default_target(hub.repo)}). Download it with: artimuse download {name}{where}"
    )


def _hf_cached(hub: HubSpec, local_dir: str | Path | None) -> Path | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(hub.repo, revision=hub.revision, local_dir=local_dir,
                                      local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError):  # incomplete snapshots included
        return None


def _download_hf(
    hub: HubSpec, local_dir: str | Path | None, meter: Meter, endpoint: str | None, workers: int
) -> Path:
    """snapshot_download with a disk check first, progress and cancel through `tqdm_class`.

    Resume: a connection dropped mid-file is resumed by huggingface_hub itself (a `Range`
    request, within the same run). Across runs it keeps only finished files (a partial file
    is deleted when a download stops), so the large files go through `hub_resume` first,
    which keeps their partial bytes in the cache's blobs/ (never where a loader looks). Xet:
    on the real hub, files stored with Xet go through `hf_xet` (installed with
    huggingface_hub) with the same progress bars; its chunks come from its own transfer
    engine (resumed by its chunk cache, not by us) and cancel takes effect at its next
    progress report. The stand-in sends no Xet headers, so tests exercise plain HTTP."""
    from huggingface_hub import constants, snapshot_download

    hub_url = endpoint or constants.ENDPOINT
    where = Path(local_dir) if local_dir else Path(constants.HF_HUB_CACHE)
    meter.set(target=str(where))
    bar = hf_tqdm_class(meter)
    options = dict(revision=hub.revision, local_dir=local_dir, endpoint=endpoint,
                   max_workers=workers, tqdm_class=bar)
    try:
        meter.check()
        plan = snapshot_download(hub.repo, dry_run=True, **options)
        missing = sum(f.file_size or 0 for f in plan if f.will_download)
        check_disk(hub.label, missing, where)
        meter.set(state=DOWNLOADING, total_bytes=missing, files_total=len(plan))
        if local_dir is None:  # resumable across runs: see hub_resume
            prefetch_large_files(hub, plan, endpoint, bar, workers)
        folder = Path(snapshot_download(hub.repo, **options))
    except Stopped:
        raise cancelled(hub, where) from None
    except KeyboardInterrupt:
        meter.cancel.set()
        raise
    except DownloadError:
        raise
    except Exception as error:  # the hub client's many errors: one message for the user
        raise describe_hf_failure(error, hub.label, hub_url, KNOWN_NAMES) from error
    return folder


def cancelled(hub: HubSpec, where: Path) -> DownloadCancelled:
    return DownloadCancelled(
        f"download of {hub.label} cancelled; the files finished so far are kept in {where} "
        "and the next download goes on from there", repo=hub.label, target=str(where))
