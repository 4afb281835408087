"""Checkpoints from ModelScope (modelscope.cn), for users the Hugging Face hub does not reach.

Through the `modelscope` package's own `snapshot_download` (an optional extra:
`pip install 'artimuse[modelscope]'`), into its cache (MODELSCOPE_CACHE) or `local_dir`; the
endpoint is MODELSCOPE_ENDPOINT (read by the client) or `endpoint=`. The same progress record,
cancel and disk check as the Hugging Face path. The client resumes a cut file itself, also
across runs (it keeps `<file>.incomplete` and asks for the rest with `Range`).
"""

from __future__ import annotations

from pathlib import Path

from artimuse.loading.hub import KNOWN_CHECKPOINTS, HubSpec
from artimuse.loading.hub_checks import DownloadCancelled, DownloadError, check_disk
from artimuse.loading.hub_errors import describe_ms_failure
from artimuse.loading.hub_progress import DOWNLOADING, Meter, Stopped, modelscope_callback

KNOWN_NAMES = ", ".join(k.name for k in KNOWN_CHECKPOINTS)
DEFAULT_ENDPOINT = "https://modelscope.cn"  # the client's own default, for messages


def _client():
    try:
        from modelscope.hub.snapshot_download import snapshot_download
    except ImportError:
        raise DownloadError(
            "downloading from ModelScope needs the modelscope package: "
            "pip install 'artimuse[modelscope]' (or: pip install modelscope)", "not_installed"
        ) from None
    return snapshot_download


def cached(hub: HubSpec, local_dir: str | Path | None = None) -> Path | None:
    """The client's cached snapshot (or `local_dir`), found without a request, or None."""
    try:
        snapshot_download = _client()
    except DownloadError:
        return None  # not installed: nothing can be cached by it either
    try:
        folder = snapshot_download(hub.repo, revision=hub.revision, local_dir=local_dir,
                                   local_files_only=True)
    except Exception:  # noqa: BLE001 - the client's "not cached" errors differ by version
        return None
    return Path(folder)


def download(
    hub: HubSpec, local_dir: str | Path | None, meter: Meter, endpoint: str | None, workers: int
) -> Path:
    """snapshot_download from ModelScope, with the disk check and progress first."""
    snapshot_download = _client()
    where = Path(local_dir) if local_dir else _cache_root()
    meter.set(target=str(where))
    url = endpoint or _endpoint()
    try:
        meter.check()
        files = _listing(hub, endpoint)
        have = _present(files, Path(local_dir)) if local_dir else 0
        total = sum(size for _, size in files)
        check_disk(hub.label, total - have, where)
        meter.set(state=DOWNLOADING, total_bytes=total - have, files_total=len(files))
        folder = snapshot_download(
            hub.repo, revision=hub.revision, local_dir=local_dir, endpoint=endpoint,
            max_workers=workers, progress_callbacks=[modelscope_callback(meter)])
    except Stopped:
        raise DownloadCancelled(
            f"download of {hub.label} cancelled; the files finished so far (and the part of "
            f"the current ones) are kept in {where} and the next download goes on from there",
            repo=hub.label, target=str(where)) from None
    except KeyboardInterrupt:
        meter.cancel.set()
        raise
    except DownloadError:
        raise
    except Exception as error:  # noqa: BLE001 - the client's many errors: one message
        raise describe_ms_failure(error, hub.label, url, KNOWN_NAMES) from error
    return Path(folder)


def _listing(hub: HubSpec, endpoint: str | None) -> list[tuple[str, int]]:
    """(path, size) of every file of the repo, from ModelScope's own listing."""
    from modelscope.hub.api import HubApi

    api = HubApi(endpoint=endpoint) if endpoint else HubApi()
    entries = api.get_model_files(hub.repo, revision=hub.revision or "master", recursive=True)
    return [(e.get("Path") or e.get("Name"), int(e.get("Size") or 0))
            for e in entries if (e.get("Type") or "blob") != "tree"]


def _present(files: list[tuple[str, int]], folder: Path) -> int:
    return sum(size for path, size in files
               if (folder / path).is_file() and (folder / path).stat().st_size == size)


def _cache_root() -> Path:
    from modelscope_hub.config import get_default_config  # the client's, read once

    return Path(get_default_config().cache_dir)


def _endpoint() -> str:
    from modelscope_hub.config import get_default_config

    return get_default_config().endpoint or DEFAULT_ENDPOINT
