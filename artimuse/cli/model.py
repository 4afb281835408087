"""The model a command runs: which checkpoint (a hub id is downloaded on first use, with a
progress bar), what its results are named by; and `artimuse download`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from artimuse.config import settings_from_args


def model_name_of(args: argparse.Namespace) -> str:
    """What results files are named by, known before loading: `--model_name` exactly as given
    (as the original does, symlink or not), else the checkpoint folder's own name."""
    if args.model_name and not args.ckpt:
        return args.model_name
    return Path(settings_from_args(args).ckpt).expanduser().absolute().name


def load_model(args: argparse.Namespace):
    from artimuse.api import load

    settings = settings_from_args(args)
    ckpt = _downloaded(settings.ckpt)
    return load(ckpt, progress=_load_bar(), **settings.load_options())


def _load_bar():
    """A tqdm bar of the weights read while loading (loading.preread), on a terminal only."""
    from tqdm import tqdm

    bar = tqdm(desc="reading weights", unit="B", unit_scale=True, unit_divisor=1000,
               disable=None, file=sys.stderr, total=0, leave=False)

    def observe(progress) -> None:
        bar.total = progress.total_bytes
        bar.update(progress.done_bytes - bar.n)
        if progress.done_bytes >= progress.total_bytes:
            bar.close()

    return observe


def _downloaded(ckpt: str) -> str:
    """A hub id as --ckpt / ARTIMUSE_CKPT: downloaded on first use as `artimuse download` does
    (with its progress bar) into checkpoints/<name>; anything else as given."""
    from artimuse.loading.hub import HubDownload, default_target, hub_repo
    from artimuse.loading.hub_checks import loads

    repo = hub_repo(ckpt)
    if repo is None or loads(default_target(repo)):
        return str(default_target(repo)) if repo else ckpt
    print(f"downloading {repo} into {default_target(repo)} (first use)", file=sys.stderr)
    job = HubDownload(repo)
    job.observers.append(_download_bar(job))
    return str(job.run())


def run_download(args: argparse.Namespace) -> int:
    from artimuse.loading.hub import HubDownload, human_bytes, repo_to_download

    repo = repo_to_download(args.name)
    job = HubDownload(repo, args.dir, endpoint=args.endpoint)
    job.observers.append(_download_bar(job))
    try:
        folder = job.run()
    except KeyboardInterrupt:
        job.cancel()
        print(f"\ninterrupted: finished files are kept in {job.target}; run the same command "
              "to go on", file=sys.stderr)
        return 130
    size = human_bytes(job.progress.total_bytes)
    print(f"{repo} ({size}) is in {folder} and loads. Use it with:")
    print(f"  artimuse ui --ckpt {folder}      # the web app (python demo_gradio.py --ckpt ...)")
    print(f"  artimuse score --ckpt {folder} photo.jpg")
    print(f"  ARTIMUSE_CKPT={folder} python demo_api.py")
    return 0


def _download_bar(job):
    """A tqdm bar (bytes, speed, ETA) on a terminal, nothing in logs and pipes."""
    from tqdm import tqdm

    bar = tqdm(desc=job.repo.split("/")[-1], unit="B", unit_scale=True, unit_divisor=1000,
               disable=None, file=sys.stderr, total=0)

    def observe(progress) -> None:
        if bar.total != progress.total_bytes:
            bar.total = progress.total_bytes
        bar.update(progress.done_bytes - bar.n)
        if not progress.active:
            bar.close()

    return observe
