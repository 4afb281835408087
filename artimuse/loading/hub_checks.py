"""What a hub download checks and says: the free disk space, whether a downloaded folder loads,
and one sentence for each way talking to the hub can fail."""

from __future__ import annotations

import errno
import shutil
from dataclasses import dataclass
from pathlib import Path

from artimuse.errors import CheckpointNotFound


class DownloadError(CheckpointNotFound):
    """The checkpoint is not here and could not be fetched: offline, unknown repo, disk full."""


class DownloadCancelled(DownloadError):
    """Someone pressed Cancel (or Ctrl-C): finished files are kept for the next run."""


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def complete(path: Path, size: int) -> bool:
    return path.is_file() and path.stat().st_size == size


def verify_folder(target: Path, files: list[RemoteFile] | None = None) -> None:
    """The folder loads: config.json readable, every weight file there, every listed file at
    its size. Raises DownloadError naming what is missing."""
    from artimuse.errors import CheckpointError
    from artimuse.loading.checkpoint import read_config
    from artimuse.loading.weights import weight_files

    short = [f.path for f in files or [] if not complete(target / f.path, f.size)]
    if short:
        raise DownloadError(f"download incomplete: {', '.join(short)} missing or short in {target}")
    try:
        read_config(target)
        weight_files(target)
    except CheckpointError as error:
        raise DownloadError(f"the downloaded folder {target} does not load: {error}") from error


def loads(target: Path) -> bool:
    """Whether `target` is a complete checkpoint folder (see verify_folder)."""
    try:
        verify_folder(target)
    except DownloadError:
        return False
    return True


def describe_failure(
    error: Exception, repo: str, target: Path, endpoint: str | None, known: list[str]
) -> str:
    """One sentence for what went wrong talking to the hub, and what to do about it; `known`:
    the names of the released checkpoints."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    hub = endpoint or constants.ENDPOINT
    names = ", ".join(known)
    if isinstance(error, OfflineModeIsEnabled) or _caused_by(error, OfflineModeIsEnabled):
        return (
            f"cannot download {repo}: offline mode is on (HF_HUB_OFFLINE=1). Unset it, or "
            f"copy the checkpoint into {target} from a machine that has it"
        )
    if isinstance(error, RepositoryNotFoundError):
        return f"{repo} was not found on the hub ({hub}); the known checkpoints are: {names}"
    if isinstance(error, (RevisionNotFoundError, EntryNotFoundError)):
        return f"{repo} on the hub ({hub}) does not have the files listed: {error}"
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"the disk is full: {target} could not be written. Free some space and retry"
    return (
        f"could not download {repo} from {hub} ({type(error).__name__}: {error}). Check the "
        f"network, or on a machine with access run: hf download {repo} --local-dir {target}"
    )


def _caused_by(error: BaseException, kind: type) -> bool:
    seen = error.__cause__ or error.__context__
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
