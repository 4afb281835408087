"""One sentence for each way fetching a checkpoint can fail, and what to do about it.

Each failure is a `DownloadError` with a `kind` and the values its text names; `MESSAGES_ZH`
holds the same sentences in Chinese (the web app's catalogue imports it and formats
`MESSAGES_ZH[error.kind]` with `error.details`). When the Hugging Face hub cannot be reached,
both texts name both ways out: a mirror through `HF_ENDPOINT`, or ModelScope.
"""

from __future__ import annotations

import errno

from artimuse.loading.hub_checks import DownloadError

WAYS_OUT = (
    "set HF_ENDPOINT to a mirror (e.g. HF_ENDPOINT=https://hf-mirror.com), or download from "
    "ModelScope: --source modelscope (ARTIMUSE_SOURCE=modelscope)"
)

MESSAGES_ZH = {
    "offline": "无法下载 {repo}：离线模式已开启（HF_HUB_OFFLINE=1），且本地缓存中没有它。"
               "请取消该设置，或从已有该模型的机器复制检查点。",
    "unreachable": "无法连接 Hugging Face Hub（{hub}），{repo} 下载失败。可以设置 HF_ENDPOINT "
                   "使用镜像（例如 HF_ENDPOINT=https://hf-mirror.com），或改从魔搭 ModelScope "
                   "下载：--source modelscope（ARTIMUSE_SOURCE=modelscope）。",
    "ms_unreachable": "无法连接魔搭 ModelScope（{hub}），{repo} 下载失败。请检查网络，或改从 "
                      "Hugging Face 下载：--source hf（也可用 HF_ENDPOINT 指定镜像）。",
    "repo_not_found": "在 {hub} 上找不到 {repo}。已知的检查点：{known}",
    "revision_not_found": "{repo} 在 {hub} 上没有版本 {revision}。",
    "disk": "磁盘空间不足，无法下载 {repo}：还需要 {need}，{where} 只剩 {free}。"
            "请清理空间或换一个目录（artimuse download --dir 目录，或设置 HF_HOME）。",
    "incomplete": "下载的文件夹 {target} 无法加载：文件不完整。请重新下载。",
    "cancelled": "{repo} 的下载已取消；已完成的文件会保留，下次下载从这里继续。",
    "not_installed": "从 ModelScope 下载需要 modelscope 包：pip install 'artimuse[modelscope]'",
    "failed": "无法下载 {repo}（{hub}）：{error}",
}


def describe_hf_failure(error: BaseException, label: str, hub: str, known: str) -> DownloadError:
    """The DownloadError for anything huggingface_hub raised while listing or fetching."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    names = dict(repo=label, hub=hub)
    if _find(error, OfflineModeIsEnabled):
        return DownloadError(
            f"cannot download {label}: offline mode is on (HF_HUB_OFFLINE=1) and it is not in "
            "the hub cache. Unset it, or copy the checkpoint here from a machine that has it",
            "offline", **names)
    if _find(error, RevisionNotFoundError):
        revision = label.rpartition("@")[2]
        return DownloadError(f"{label}: the hub ({hub}) has no revision {revision!r}",
                             "revision_not_found", revision=revision, **names)
    if _find(error, RepositoryNotFoundError):
        return DownloadError(f"{label} was not found on the hub ({hub}); the known "
                             f"checkpoints are: {known}", "repo_not_found", known=known, **names)
    if _find(error, EntryNotFoundError):
        return DownloadError(f"{label} on the hub ({hub}) does not have the files listed: "
                             f"{error}", "failed", error=str(error), **names)
    if _network(error):
        return DownloadError(
            f"cannot reach the Hugging Face hub ({hub}) to download {label}: "
            f"{_first_line(error)}. Check the network, or {WAYS_OUT}", "unreachable", **names)
    return _disk_or_other(error, label, hub)


def describe_ms_failure(error: BaseException, label: str, hub: str, known: str) -> DownloadError:
    """The DownloadError for anything the modelscope client raised."""
    import requests

    names = dict(repo=label, hub=hub)
    status = getattr(getattr(_find(error, requests.HTTPError), "response", None),
                     "status_code", None)
    text = str(error)
    if status == 404 or "not exist" in text.lower() or "not found" in text.lower():
        return DownloadError(f"{label} was not found on ModelScope ({hub}); the known "
                             f"checkpoints are: {known}", "repo_not_found", known=known, **names)
    if _network(error):
        return DownloadError(
            f"cannot reach ModelScope ({hub}) to download {label}: {_first_line(error)}. Check "
            "the network, or download from the Hugging Face hub: --source hf (HF_ENDPOINT for "
            "a mirror)", "ms_unreachable", **names)
    return _disk_or_other(error, label, hub)


def _disk_or_other(error: BaseException, label: str, hub: str) -> DownloadError:
    disk = _find(error, OSError)
    if disk is not None and disk.errno == errno.ENOSPC:
        return DownloadError(f"the disk is full while downloading {label}: free some space "
                             "and run the same command again (finished files are kept)",
                             "disk", repo=label, need="?", where="", free="0 B")
    message = f"{type(error).__name__}: {_first_line(error)}"
    return DownloadError(f"could not download {label} from {hub} ({message})", "failed",
                         repo=label, hub=hub, error=message)


def _find(error: BaseException | None, kind: type) -> BaseException | None:
    """`error` or the first of its causes that is a `kind`."""
    seen = 0
    while error is not None and seen < 20:
        if isinstance(error, kind):
            return error
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


NETWORK_ERRORS = {"TransportError", "ConnectError", "TimeoutException", "ConnectionError",
                  "Timeout", "TimeoutError"}  # httpx(2)'s and requests' names alike


def _network(error: BaseException | None) -> bool:
    """A connection that failed or timed out, in whichever HTTP library the client uses."""
    seen = 0
    while error is not None and seen < 20:
        if any(c.__name__ in NETWORK_ERRORS for c in type(error).__mro__):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
