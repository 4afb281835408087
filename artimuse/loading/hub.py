"""The released checkpoints and what a checkpoint argument names: a folder, or a repo on a hub.

`KNOWN_CHECKPOINTS` is the one table of what exists, with its Hugging Face and ModelScope ids.
`parse_spec` decides what a text names: `hf-hub:org/name[@revision]`, `ms:org/name[@revision]`,
a bare `org/name[@revision]` that cannot be a local path, or one of the five names; anything
else is a local path (None). The resolver (`hub_resolve.resolve`) acts on the answer.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from artimuse.config import CHECKPOINTS_DIR, HF, MODELSCOPE, SOURCES, download_source
from artimuse.errors import CheckpointNotFound, InputError
from artimuse.loading.hub_progress import (  # noqa: F401 - where the web app imports them from
    CANCELLED,
    DONE,
    FAILED,
    Progress,
)

HUB_PREFIX = "hf-hub:"  # explicit form, as open_clip spells it: hf-hub:org/name
MS_PREFIX = "ms:"  # the same for ModelScope: ms:org/name
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class KnownCheckpoint:
    name: str
    repo: str  # on the Hugging Face hub
    ms_repo: str  # on ModelScope (the same files)
    size_gb: float  # bf16 weights, approximate: the exact size comes from the hub's file list
    tuned_on: str

    def repo_on(self, source: str) -> str:
        return self.ms_repo if source == MODELSCOPE else self.repo


KNOWN_CHECKPOINTS = (
    KnownCheckpoint("ArtiMuse", "Thunderbolt215215/ArtiMuse", "thunderbolt/ArtiMuse", 16,
                    "ArtiMuse-10K (the general model)"),
    KnownCheckpoint("ArtiMuse_AVA", "Thunderbolt215215/ArtiMuse_AVA",
                    "thunderbolt/ArtiMuse_AVA", 16, "AVA (photo-contest votes)"),
    KnownCheckpoint("ArtiMuse_FLICKR-AES", "Thunderbolt215215/ArtiMuse_FLICKR-AES",
                    "thunderbolt/ArtiMuse_FLICKR-AES", 16,
                    "FLICKR-AES (crowd-rated Flickr photos)"),
    KnownCheckpoint("ArtiMuse_PARA", "Thunderbolt215215/ArtiMuse_PARA",
                    "thunderbolt/ArtiMuse_PARA", 16, "PARA (personalised aesthetics)"),
    KnownCheckpoint("ArtiMuse_TAD66K", "Thunderbolt215215/ArtiMuse_TAD66K",
                    "thunderbolt/ArtiMuse_TAD66K", 16, "TAD66K (theme-aware aesthetics)"),
)
DEFAULT_CHECKPOINT = KNOWN_CHECKPOINTS[0]


@dataclass(frozen=True)
class HubSpec:
    """A repo on a hub: where (`source`: hf or modelscope), which, at which revision."""

    source: str
    repo: str
    revision: str | None = None
    known: KnownCheckpoint | None = None

    @property
    def label(self) -> str:
        """How messages name it: `org/name`, `org/name@rev`, with `ms:` on ModelScope."""
        at = f"@{self.revision}" if self.revision else ""
        return f"{MS_PREFIX if self.source == MODELSCOPE else ''}{self.repo}{at}"

    @property
    def explicit(self) -> str:
        """The spelling that names this repo wherever it is read (`hf-hub:` or `ms:`)."""
        at = f"@{self.revision}" if self.revision else ""
        return f"{MS_PREFIX if self.source == MODELSCOPE else HUB_PREFIX}{self.repo}{at}"


def checkpoints_table() -> str:
    """The README's table of the released checkpoints, generated from KNOWN_CHECKPOINTS."""
    rows = [f"| `{k.name}` | `{k.repo}` | `{k.ms_repo}` | ~{k.size_gb:g} GB | {k.tuned_on} |"
            for k in KNOWN_CHECKPOINTS]
    head = "| name | Hugging Face repo | ModelScope repo | size | tuned on |"
    return "\n".join([head, "|---|---|---|---|---|", *rows])


def known_checkpoint(name_or_repo: str) -> KnownCheckpoint | None:
    """The table's row for a name or a repo id of either hub (case as typed, or any case)."""
    text = str(name_or_repo).removeprefix(HUB_PREFIX).removeprefix(MS_PREFIX).split("@")[0]
    for exact in (True, False):
        for known in KNOWN_CHECKPOINTS:
            names = (known.name, known.repo, known.ms_repo)
            if text in names if exact else text.lower() in (n.lower() for n in names):
                return known
    return None


def parse_spec(
    text: str | Path, source: str | None = None, revision: str | None = None
) -> HubSpec | None:
    """The hub repo `text` names, or None when it is (or can only be) a local path.

    `hf-hub:` and `ms:` always name a repo; a bare `org/name` does unless it exists, its first
    part is a folder here, or its first part is `checkpoints` (`checkpoints/ArtiMuse` without
    ./checkpoints is a missing folder, never a network call); a known name does unless a
    folder of that name is here. `source` (default ARTIMUSE_SOURCE) is the hub of bare ids and
    names; `revision` pins a branch, tag or commit (or `@rev` at the end of the id)."""
    text = str(text).strip()
    explicit = next((s for p, s in ((HUB_PREFIX, HF), (MS_PREFIX, MODELSCOPE))
                     if text.startswith(p)), None)
    if explicit is None and Path(text).expanduser().exists():
        return None
    body = text.removeprefix(HUB_PREFIX).removeprefix(MS_PREFIX)
    repo, _, pinned = body.partition("@")
    known = known_checkpoint(repo)
    if explicit is None and not _bare_repo(repo) and not (known and _same(repo, known.name)):
        return None
    if not REPO_ID.match(repo) and not known:
        raise CheckpointNotFound(f"{text!r} is not a hub repo id: write org/name (or "
                                 f"{HUB_PREFIX}org/name, {MS_PREFIX}org/name)")
    where = explicit or check_source(source or download_source())
    if revision and pinned and revision != pinned:
        raise InputError(f"two revisions for {repo}: @{pinned} and --revision {revision}")
    repo = known.repo_on(where) if known else repo
    return HubSpec(where, repo, revision or pinned or None, known)


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _bare_repo(text: str) -> bool:
    first = text.split("/")[0]
    return bool(REPO_ID.match(text)) and first != CHECKPOINTS_DIR.name and not Path(first).is_dir()


def unknown_name(text: str) -> InputError:
    """`artimuse download ArtiMuse_Typo`: neither a released name nor a repo id."""
    names = [k.name for k in KNOWN_CHECKPOINTS]
    near = difflib.get_close_matches(text, names, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]}?" if near else ""
    return InputError(f"{text!r} is neither a known checkpoint ({', '.join(names)}) nor a hub "
                      f"repo id (org/name, {HUB_PREFIX}org/name, {MS_PREFIX}org/name){hint}")


def check_source(source: str) -> str:
    value = str(source).strip().lower()
    value = {"ms": MODELSCOPE, "huggingface": HF, "hf-hub": HF}.get(value, value)
    if value not in SOURCES:
        raise InputError(f"the download source must be one of {', '.join(SOURCES)}, "
                         f"got {source!r} (--source / ARTIMUSE_SOURCE)")
    return value


def hub_repo(text: str) -> str | None:
    """The Hugging Face repo id `text` spells explicitly (`hf-hub:org/name` or a bare
    `org/name` that is no path), else None; known names and `ms:` ids are not ids here."""
    text = str(text).strip()
    if text.startswith(MS_PREFIX) or not (text.startswith(HUB_PREFIX) or _bare_repo(text)):
        return None
    if Path(text).expanduser().exists() and not text.startswith(HUB_PREFIX):
        return None
    repo = text.removeprefix(HUB_PREFIX).split("@")[0]
    return repo if REPO_ID.match(repo) else None


def default_target(repo: str) -> Path:
    """checkpoints/<name>: where earlier versions downloaded a repo (and where the web app's
    panel still does); the resolver uses a complete folder there before the hub cache."""
    return CHECKPOINTS_DIR / repo.split("/")[-1]


def download_hint(name_or_path: str | Path) -> str:
    """The commands that fetch the checkpoint a missing folder was meant to hold: into the hub
    cache for `checkpoints/<name>` (the resolver looks there for it), else into the folder."""
    path = Path(str(name_or_path))
    known = known_checkpoint(path.name) or DEFAULT_CHECKPOINT
    into = "" if path in (Path(known.name), CHECKPOINTS_DIR / known.name) else f" --dir {path}"
    local = f" --local-dir {path}" if into else ""
    return (
        f"artimuse download {known.name}{into} (or: hf download {known.repo}{local}; from "
        f"mainland China: artimuse download {known.name}{into} --source modelscope)"
    )


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"
