"""The model a command runs: which checkpoint (a hub id or released name is found in the hub
cache or downloaded on first use, with a progress bar), what its results are named by; and
`artimuse download`."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from artimuse.cli.quantize import quantized_copy
from artimuse.config import SOURCES, settings_from_args


def model_name_of(args: argparse.Namespace) -> str:
    """What results files are named by, known before loading: `--model_name` exactly as given
    (as the original does, symlink or not), else the checkpoint folder's own name."""
    if args.model_name and not args.ckpt:
        return args.model_name
    return Path(settings_from_args(args).ckpt).expanduser().absolute().name


def load_model(args: argparse.Namespace):
    from artimuse.api import load

    settings = settings_from_args(args)
    ckpt = _resolved(settings.ckpt)
    return load(str(ckpt), progress=_load_bar(), **settings.load_options())


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


def _resolved(ckpt: str) -> Path:
    """--ckpt / ARTIMUSE_CKPT through the resolver, with the download command's bar when it
    has to download (first use of a hub id)."""
    from artimuse.loading.hub_resolve import resolve

    bar = DownloadBar(first_use=True)
    return bar.run(lambda cancel: resolve(ckpt, progress=bar.show, cancel=cancel))


def add_download_command(commands) -> None:
    download = commands.add_parser(
        "download", help="get a checkpoint from the Hugging Face hub or ModelScope",
        description="Fetch a checkpoint into the shared hub cache (HF_HOME; ModelScope: "
        "MODELSCOPE_CACHE), or into --dir. Files already there are not fetched again.")
    download.add_argument("name", nargs="?", default="ArtiMuse", metavar="NAME_OR_REPO",
                          help="ArtiMuse (default), ArtiMuse_AVA, ArtiMuse_FLICKR-AES, "
                          "ArtiMuse_PARA, ArtiMuse_TAD66K, or a repo id: org/name, "
                          "hf-hub:org/name[@revision], ms:org/name")
    download.add_argument("--dir", help="put the files in this folder instead of the hub cache")
    download.add_argument("--revision", help="a branch, tag or commit to pin (default: main; "
                          "ModelScope: master)")
    download.add_argument("--source", choices=SOURCES, help="where names and bare ids come "
                          "from (ARTIMUSE_SOURCE, default hf; modelscope from mainland China)")
    download.add_argument("--endpoint", help="the hub's address, e.g. a mirror (default: "
                          "HF_ENDPOINT, else https://huggingface.co; MODELSCOPE_ENDPOINT)")
    download.add_argument("--quant", choices=("int8", "int4"), help="also write a quantized "
                          "copy for the CPU, shard by shard (artimuse quantize)")
    download.set_defaults(run=run_download)


def run_download(args: argparse.Namespace) -> int:
    from artimuse.loading.hub import human_bytes, parse_spec, unknown_name
    from artimuse.loading.hub_resolve import resolve

    if parse_spec(args.name, args.source) is None and not Path(args.name).is_dir():
        raise unknown_name(args.name)
    bar = DownloadBar()
    folder = bar.run(lambda cancel: resolve(
        args.name, source=args.source, revision=args.revision, local_dir=args.dir,
        progress=bar.show, cancel=cancel, endpoint=args.endpoint))
    if folder is None:
        return 130
    done = bar.last
    fetched = f"{human_bytes(done.done_bytes)} fetched" if done else "already here, nothing fetched"
    spec = None if args.dir else parse_spec(args.name, args.source, args.revision)
    use = spec.label if spec else args.dir or args.name  # what finds it again, offline
    folder = Path(args.dir) if args.dir else folder
    if args.quant:
        use = quantized_copy(folder, Path(use).name, args.quant)
    print(f"{args.name} is in {folder} ({fetched}) and loads. Use it with:")
    print(f"  artimuse ui --ckpt {use}      # the web app (python demo_gradio.py --ckpt ...)")
    print(f"  artimuse score --ckpt {use} photo.jpg")
    print(f"  ARTIMUSE_CKPT={use} python demo_api.py")
    return 0


class DownloadBar:
    """A tqdm bar (bytes, speed, ETA) on a terminal, nothing in logs and pipes; Ctrl-C
    cancels the download cleanly (finished files kept) instead of killing its threads."""

    def __init__(self, first_use: bool = False):
        self.first_use = first_use
        self.last = None
        self._bar = None

    def run(self, work):
        """`work(cancel)` in a thread, so that Ctrl-C here sets `cancel` and waits for the
        download to stop at its next chunk. None when interrupted."""
        cancel, outcome = threading.Event(), {}

        def target():
            try:
                outcome["value"] = work(cancel)
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                outcome["error"] = error

        thread = threading.Thread(target=target, name="artimuse-download")
        thread.start()
        try:
            while thread.is_alive():
                thread.join(0.2)
        except KeyboardInterrupt:
            cancel.set()
            print("\nstopping the download (at its next chunk)...", file=sys.stderr, flush=True)
            thread.join()
            self._close()
            where = self.last.target if self.last else "the hub cache"
            print(f"interrupted: finished files are kept in {where}; run the same command "
                  "to go on", file=sys.stderr)
            return None
        self._close()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def show(self, progress) -> None:
        from tqdm import tqdm

        if progress.state == "downloading" and self._bar is None:
            if self.first_use:
                print(f"downloading {progress.repo} into {progress.target} (first use)",
                      file=sys.stderr)
            self._bar = tqdm(desc=progress.repo.split("/")[-1], unit="B", unit_scale=True,
                             unit_divisor=1000, disable=None, file=sys.stderr, total=0)
        self.last = progress
        bar = self._bar
        if bar is None:
            return
        if bar.total != progress.total_bytes:
            bar.total = progress.total_bytes
        bar.update(progress.done_bytes - bar.n)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
