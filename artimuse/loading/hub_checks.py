"""What a checkpoint lookup checks and says before and after a download: the free disk space,
whether a folder loads, and a mistyped path answered as a mistake (with the folders it most
likely meant), never with a download."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

from artimuse.errors import CheckpointNotFound

DISK_MARGIN_BYTES = 64 * 2**20  # room left beside the checkpoint (metadata, locks, logs)


class DownloadError(CheckpointNotFound):
    """The checkpoint is not here and could not be fetched: offline, unknown repo, disk full.

    `kind` is a short code a front end translates (`hub_errors.MESSAGES_ZH`), `details` the
    values its text names."""

    def __init__(self, message: str, kind: str = "failed", **details: str):
        super().__init__(message)
        self.kind = kind
        self.details = details


class DownloadCancelled(DownloadError):
    """Someone pressed Cancel (or Ctrl-C): finished files are kept for the next run."""

    def __init__(self, message: str, **details: str):
        super().__init__(message, "cancelled", **details)


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def check_disk(label: str, missing_bytes: int, where: Path) -> None:
    """Raise before anything is fetched when `missing_bytes` do not fit under `where`."""
    from artimuse.loading.hub import human_bytes

    place = existing_parent(where)
    free = free_bytes(place)
    if missing_bytes + DISK_MARGIN_BYTES > free:
        need, have = human_bytes(missing_bytes), human_bytes(free)
        raise DownloadError(
            f"not enough disk space for {label}: it needs {need} more and {place} has {have} "
            "free. Free some space or choose another folder (artimuse download --dir DIR, or "
            "HF_HOME for the hub cache)",
            "disk", repo=label, need=need, where=str(place), free=have,
        )


def verify_folder(target: Path) -> None:
    """The folder loads: config.json readable and every weight file there. Raises
    DownloadError naming what is missing."""
    from artimuse.errors import CheckpointError
    from artimuse.loading.checkpoint import read_config
    from artimuse.loading.weights import weight_files

    try:
        read_config(target)
        weight_files(target)
    except CheckpointError as error:
        raise DownloadError(f"the downloaded folder {target} does not load: {error}",
                            "incomplete", target=str(target)) from error


def loads(target: Path) -> bool:
    """Whether `target` is a complete checkpoint folder (see verify_folder)."""
    try:
        verify_folder(Path(target))
    except DownloadError:
        return False
    return True


def not_a_folder(path: Path) -> CheckpointNotFound:
    """`--ckpt README.md`: a file where a checkpoint folder is expected."""
    hint = f"; did you mean its folder {path.parent}?" if path.name == "config.json" else ""
    return CheckpointNotFound(
        f"{path} is a file, not a checkpoint folder (a folder holding config.json and the "
        f"weights){hint}"
    )


def nearest_folders(path: Path, count: int = 3) -> list[Path]:
    """The existing folders `path` most likely meant: its first missing part compared with
    the folders beside it (difflib), the rest of the path kept where that exists."""
    parts = path.parts
    for index in range(len(parts)):
        head = Path(*parts[: index + 1])
        if head.exists():
            continue
        parent = Path(*parts[:index]) if index else Path(".")
        if not parent.is_dir():
            return []
        names = [p.name for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")]
        close = difflib.get_close_matches(parts[index], names, n=count, cutoff=0.6)
        rest = parts[index + 1:]
        found = [parent / name / Path(*rest) if rest else parent / name for name in close]
        return [f for f in found if f.is_dir()] or [parent / name for name in close]
    return []


def missing_folder(path: Path, download_hint: str = "") -> CheckpointNotFound:
    """A path that does not exist: 'not found', then the near folders if any, else the
    download command when the name is a released checkpoint's (`download_hint`)."""
    near = nearest_folders(path)
    message = f"checkpoint directory not found: {path}"
    if near:
        message += f" (did you mean {' or '.join(str(p) for p in near)}?)"
    if download_hint:
        message += f". Download the weights with: {download_hint}"
    return CheckpointNotFound(message)
