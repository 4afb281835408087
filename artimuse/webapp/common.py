"""What the tabs and the named API share (`Shared`): the model and its calls, who may do what,
model jobs (`run`), the per-session result cache and export folders, and reading an upload
within the server's limits. Handlers are plain (generator) functions that gradio and the tests
call; `request` is gradio's `gr.Request` (None when called in-process).

The tabs' building blocks are here too: static texts are `ui("key")` (translated by `gr.I18n`),
the handlers build theirs in the language every event reads from the page (`LANG`); every event
is private (the named API is `endpoints`); model events start at once (`jobs` decides who
waits); Stop is `cancels=`."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder
from PIL import Image

from artimuse.config import DEFAULT_BATCH_SIZE, UploadLimits
from artimuse.errors import ImageError
from artimuse.images import open_image
from artimuse.results import Scores
from artimuse.webapp import zerogpu
from artimuse.webapp.export import ExportFolders
from artimuse.webapp.guards import Access, client_host
from artimuse.webapp.i18n import Message, image_problem, ui
from artimuse.webapp.jobs import Admission, Job, Refused
from artimuse.webapp.state import READY, ModelHolder, ResultCache

log = logging.getLogger(__name__)

MODEL_WAIT_S = 900.0  # a job arriving while the model loads waits this long for it
COMMENT_LENGTHS = (200, 600)  # tokens offered besides the server's cap, when shorter than it
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
LOGGED_CHARS = 120  # of an untrusted string in a log line
# The page's current language (gradio sets <html lang> from its locale) as the last input.
LANG = "(...args) => [...args.slice(0, -1), document.documentElement.lang || navigator.language]"
# Every event is private, and takes what the client sends as it is (`preprocess=False`): the
# handlers check every value themselves, and a hostile one never makes gradio's preprocessing
# print its traceback (with the value in it) into the server's log.
PRIVATE = dict(api_visibility="private", preprocess=False)
QUICK = dict(queue=False, show_progress="hidden", **PRIVATE)


def quoted(value: object) -> str:
    """An untrusted string for a log line: one line, bounded, visibly quoted."""
    text = str(value)
    return repr(text[:LOGGED_CHARS] + ("…" if len(text) > LOGGED_CHARS else ""))


class UploadRefused(ImageError):
    """An upload refused before decoding: `kind` "gone" (not a file of this page) or
    "too_large_file" (over ARTIMUSE_MAX_UPLOAD_MB: the REST service's 413, no image kind)."""

    def __init__(self, message: str, kind: str):
        Exception.__init__(self, message)
        self.kind, self.details = kind, {}


@dataclass
class Shared:
    holder: ModelHolder
    access: Access = field(default_factory=Access)
    admission: Admission = field(default_factory=lambda: Admission(16, 600))
    limits: UploadLimits = field(default_factory=UploadLimits)
    batch_size: int = DEFAULT_BATCH_SIZE
    cache: ResultCache = field(default_factory=ResultCache)
    exports: ExportFolders = field(default_factory=ExportFolders)
    upload_roots: tuple[Path, ...] = ()  # where an upload's path may point (besides examples)

    def __post_init__(self):
        # at start-up, before ZeroGPU forks a worker (which finds the holder by this key)
        self.gpu_key = zerogpu.serve(self.holder)

    @property
    def max_new_tokens(self) -> int:
        return self.holder.settings.max_new_tokens

    def comment_lengths(self) -> list[int]:
        """The comment lengths offered (tokens): the shorter presets and the server's cap."""
        return [*(n for n in COMMENT_LENGTHS if n < self.max_new_tokens), self.max_new_tokens]

    def comment_length(self, asked: Any) -> int:
        """`asked` if it is one of the offered lengths (default: the cap), else ValueError."""
        if asked is None or asked == "":
            return self.max_new_tokens
        if isinstance(asked, str) or (isinstance(asked, float) and asked.is_integer()):
            asked = int(asked)  # ValueError for anything but a whole number
        if type(asked) is not int or asked not in self.comment_lengths():
            raise ValueError("comment_length")
        return asked

    def run(self, request, kind: str, say: Callable, work: Callable[[Job], Iterator],
            wait: bool = True) -> Iterator:  # fmt: skip
        """A model job: admitted or refused, its place in line told (`say(message)` makes the
        update) while it waits (`wait` False: a cached answer takes no turn), then `work(job)`'s
        updates; a refusal (or no model: `ready`) is told instead."""
        try:
            with self.admission.admit(session_of(request), client_host(request), kind) as job:
                for ahead in job.wait_turn() if wait else ():
                    yield say(Message("progress.queued", {"n": ahead}))
                if not job.superseded:
                    yield from work(job)
        except Refused as error:
            yield say(error.message)

    def ready(self) -> None:
        """Wait for a load in progress; Refused if there is no model then."""
        if self.holder.wait(MODEL_WAIT_S).state != READY or self.holder.model is None:
            raise Refused(Message("model.unavailable", {"ckpt": self.holder.status.name}))

    def steps(self, image: Image.Image, aspects: Sequence[str], tokens: int) -> Iterator:
        """The model's events for `image` (on ZeroGPU: on a lent GPU, see `zerogpu`)."""
        return zerogpu.model_steps(self.gpu_key, image, list(aspects), tokens)

    def scores(self, images: list[Image.Image]) -> list[Scores]:
        return zerogpu.model_scores(self.gpu_key, images)

    def cache_key(self, request, digest: str, *settings: Any) -> tuple:
        """Per session: one visitor's cache never answers (or times) another's picture."""
        return (session_of(request), digest, self.holder.status.ckpt, *settings)

    def export_folder(self, request, tab: str) -> Path:
        return self.exports.fresh(session_of(request), tab)

    def forget(self, request: gr.Request) -> None:
        """`demo.unload`: the session's cached results and export files go."""
        self.cache.drop_session(session_of(request))
        self.exports.remove(session_of(request))

    def read(self, upload: Any) -> tuple[Image.Image | None, str]:
        """What gradio or a client sends for a file (a path, a FileData dict, None) -> (RGB
        image, file name). Only files gradio stored (or the examples) are read, never a path a
        client made up; size and pixel limits apply (ImageError)."""
        path, name = upload_path(upload), upload_name(upload)
        if path is None:
            return None, ""
        if not self._allowed(path):
            log.warning("refused an upload outside the upload folder: %s", quoted(path))
            raise UploadRefused(f"{name} is not an upload of this page", "gone")
        try:
            size = path.stat().st_size
        except OSError:
            raise UploadRefused(f"no such image file: {name}", "gone") from None
        if size > self.limits.max_bytes:
            raise UploadRefused(self.limits.too_large(), "too_large_file")
        return open_image(path, name=name), name

    def read_many(self, uploads: Sequence[Any]) -> tuple[list[tuple], list[tuple[str, Message]]]:
        """-> ([(unique name, image)], [(name, what is wrong)])."""
        pictures, problems = [], []
        for upload in uploads:
            try:
                image, name = self.read(upload)
            except ImageError as error:
                problems.append((upload_name(upload), image_problem(error, upload_name(upload))))
                continue
            if image is not None:
                taken, unique, n = [p[0] for p in pictures], name, 2
                while unique in taken:
                    unique, n = f"{name} ({n})", n + 1
                pictures.append((unique, image))
        return pictures, problems

    def _allowed(self, path: Path) -> bool:
        roots = (Path(get_upload_folder()), EXAMPLES_DIR, *self.upload_roots)
        return any(path.resolve().is_relative_to(root.resolve()) for root in roots)


@dataclass
class Tab:
    """A tab's handlers and components (or the API's handlers), around what they share."""

    shared: Shared

    def events(self, triggers: list, stop: gr.Button, inputs: list, outputs: list, total: int,
               progress: gr.Component, **options) -> None:  # fmt: skip
        """Each trigger starts `self.run` as a model job, Stop cancels them. Model jobs start at
        once, up to the admission cap (`total`): the handler itself admits or refuses."""
        job = dict(fn=self.run, inputs=inputs, outputs=outputs, js=LANG, concurrency_id="model",
                   concurrency_limit=total, show_progress_on=[progress])  # fmt: skip
        stop.click(nothing, cancels=[on(**job, **options, **PRIVATE) for on in triggers], **QUICK)


def nothing() -> None:
    """Stop's backend (its work is `cancels=`): a bare event called by `fn_index` makes gradio
    print a traceback."""


def run_stop(key: str, elem_id: str) -> tuple[gr.Button, gr.Button]:
    with gr.Row():
        run = gr.Button(ui(key), variant="primary", elem_id=elem_id)
        return run, gr.Button(ui("assess.stop"), variant="stop", elem_id=f"{elem_id[:-4]}-stop")


def plot(figure, key: str, elem_id: str) -> gr.Plot:
    return gr.Plot(figure, label=ui(key), elem_classes="am-plot", elem_id=elem_id)


def downloads(*buttons: tuple[str, str]) -> list[gr.DownloadButton]:
    """(text key, element id) each: disabled until a run has written its file."""
    with gr.Row():
        return [gr.DownloadButton(ui(key), interactive=False, size="sm", elem_id=elem_id)
                for key, elem_id in buttons]  # fmt: skip


def download(path: str | None) -> dict:
    """A DownloadButton's file, usable once a run has written it."""
    return gr.update(value=path, interactive=path is not None)


def files_box(key: str, elem_id: str, **options) -> gr.File:
    return gr.File(file_count="multiple", label=ui(key), height=200, elem_id=elem_id, **options)


def upload_path(upload: Any) -> Path | None:
    upload = upload.get("path") if isinstance(upload, dict) else getattr(upload, "path", upload)
    return Path(upload) if isinstance(upload, (str, Path)) and str(upload) else None


def upload_name(upload: Any) -> str:
    """The file's own name (as the visitor's computer called it), printable and bounded."""
    name = upload.get("orig_name") if isinstance(upload, dict) else None
    path = upload_path(upload)
    name = str(name or (path.name if path else "image"))
    return re.sub(r"[\x00-\x1f\x7f]", "", Path(name).name)[:120] or "image"


def session_of(request) -> str | None:
    return getattr(request, "session_hash", None)
