"""Checkpoint resolution against the local hub stand-in, printed as JSON.

    python -m benchmarks.hub_resolve [--shards 8] [--repeats 5]

- `second_download`: requests and file-body bytes of a second `resolve` of a repo that is
  already in the hub cache (placed there by huggingface_hub's own `snapshot_download`, as
  `hf download` or a Space's `preload_from_hub` does).
- `cached_offline_s`: time to resolve that cached repo with HF_HUB_OFFLINE=1 (median).
- `parallel_s` / `serial_s`: a whole download with `max_workers=8` and `max_workers=1`
  (medians, interleaved). The stand-in is on 127.0.0.1: this shows what the client and the
  server cost on this CPU, not what parallel files buy on a real link (per-connection
  throughput limits and latency, which is where they help).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from huggingface_hub import constants, snapshot_download

    from artimuse.loading.hub_resolve import resolve
    from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint
    from artimuse.testing.hub_server import HubServer

    repo = "Thunderbolt215215/ArtiMuse"
    with tempfile.TemporaryDirectory() as root:
        spec = CheckpointSpec(shards=args.shards, llm_mlp=4096, llm_hidden=256, llm_heads=4,
                              llm_kv_heads=2)
        folder = make_checkpoint(Path(root) / "served", spec)
        size, files = sum(p.stat().st_size for p in folder.iterdir()), len(list(folder.iterdir()))
        with HubServer({repo: folder}) as hub:
            constants.HF_HUB_CACHE = str(Path(root) / "cache0")
            snapshot_download(repo, endpoint=hub.url)
            hub.requests.clear()
            resolve(repo, endpoint=hub.url)
            second = {"requests": len(hub.requests), "body_bytes": _body_bytes(hub, folder)}
            constants.HF_HUB_OFFLINE = True
            offline = [_timed(lambda: resolve(repo)) for _ in range(args.repeats)]
            constants.HF_HUB_OFFLINE = False
            parallel, serial = [], []
            for run in range(args.repeats):  # interleaved: the machine's load hits both
                for workers, times in ((8, parallel), (1, serial)):
                    constants.HF_HUB_CACHE = str(Path(root) / f"cache-{workers}-{run}")
                    times.append(_timed(partial(resolve, repo, endpoint=hub.url,
                                                max_workers=workers)))
    print(json.dumps({
        "repo_bytes": size, "files": files,
        "second_download": second,
        "cached_offline_s": statistics.median(offline),
        "parallel_s": statistics.median(parallel), "serial_s": statistics.median(serial),
        "loadavg": os.getloadavg(),
    }, indent=2))


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _body_bytes(hub, folder: Path) -> int:
    names = [r.path.rsplit("/", 1)[1] for r in hub.requests
             if r.method == "GET" and "/resolve/" in r.path]
    return sum((folder / n).stat().st_size for n in names)


if __name__ == "__main__":
    main()
