"""Resume across runs for the large files of a Hugging Face download into the hub cache.

Why this exists beside `snapshot_download`: huggingface_hub (2.x) resumes a connection that
drops mid-file within the same run (a `Range` request), but when a download stops (Cancel,
Ctrl-C, a crash, a Space restart) it deletes the stopped file's partial bytes, so the next run
fetches that file again from its first byte. A released checkpoint is a few ~4 GB shards
fetched in parallel: a cancel at 90% would throw most of 16 GB away. So before handing over to
`snapshot_download`, the large files not yet in the cache are fetched here, appending to
`blobs/<etag>.artimuse-part` from where it ends (huggingface_hub's own `http_get`, with a
`Range` request) and moved to `blobs/<etag>` when complete; `snapshot_download` then finds
the blob and only links it into the snapshot (the cache layout is huggingface_hub's documented
one: blobs/, snapshots/, refs/). Files stored with Xet on the real hub are left to
`snapshot_download` (hf_xet has its own transfer engine); `--dir` downloads too.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from artimuse.loading.hub import HubSpec

# Below one read chunk of huggingface_hub (10 MiB) a cut loses less than a chunk: not worth it.
RESUME_MIN_BYTES = 10 * 2**20
PART_SUFFIX = ".artimuse-part"


def prefetch_large_files(hub: HubSpec, plan: list, endpoint: str | None, bar: type,
                         workers: int) -> None:
    """Fetch the large files of `plan` (a snapshot_download dry run) that are not cached into
    the cache's blobs, resumably. Raises what the transfers raise (Stopped on cancel)."""
    large = [f for f in plan if f.will_download and (f.file_size or 0) >= RESUME_MIN_BYTES]
    if not large:
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="artimuse-resume") as pool:
        for _ in pool.map(lambda f: _fetch_blob(hub, f, endpoint, bar), large):
            pass


def _blobs(hub: HubSpec) -> Path:
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    return Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=hub.repo, repo_type="model") \
        / "blobs"


def _fetch_blob(hub: HubSpec, file, endpoint: str | None, bar: type) -> None:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    url = hf_hub_url(hub.repo, file.filename, revision=file.commit_hash, endpoint=endpoint)
    meta = get_hf_file_metadata(url, endpoint=endpoint)
    if meta.xet_file_data is not None or not meta.etag or meta.size is None:
        return  # Xet-stored (or no ETag): snapshot_download's own transfer
    blob = _blobs(hub) / meta.etag
    if blob.exists():
        return
    part = blob.with_name(blob.name + PART_SUFFIX)
    part.parent.mkdir(parents=True, exist_ok=True)
    if part.exists() and part.stat().st_size > meta.size:
        part.unlink()  # not this file's beginning: start over
    have = part.stat().st_size if part.exists() else 0
    with part.open("ab") as out:
        if have < meta.size:
            http_get(meta.location, out, resume_size=have, headers=build_hf_headers(),
                     expected_size=meta.size, tqdm_class=bar)
    if part.stat().st_size == meta.size:
        os.replace(part, blob)
