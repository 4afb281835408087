"""A local stand-in for the model hub: a real HTTP server on 127.0.0.1 that answers what
huggingface_hub's downloads ask (point `HF_ENDPOINT`, or `endpoint=`, at `HubServer.url`).

    with HubServer({"Thunderbolt215215/ArtiMuse": folder}) as hub:
        HubDownload("Thunderbolt215215/ArtiMuse", dest, endpoint=hub.url).run()

A repo maps to a folder (its `main`), or to {revision: folder} for a repo with tags or branches
besides `main` (each revision's commit sha is derived from its files).

Endpoints: `GET /api/models/{repo}[/revision/{rev}]` (with `?blobs=true` the sizes),
`GET /api/models/{repo}/tree/{rev}`, `HEAD`/`GET /{repo}/resolve/{rev}/{path}` (with `Range`:
206), 404 with `X-Error-Code` for an unknown repo, revision or file. No xet headers, so the
client speaks plain HTTP. For tests of failures: `cut_once` sends half of a file then drops the
connection (once per file); `hold` sends half of a file, then waits for `release()`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

REVISION = "main"
LAST_MODIFIED = "2025-08-01T00:00:00.000Z"


@dataclass
class Served:
    """One request as the server saw it (tests check resumes through `range`)."""

    method: str
    path: str
    range: str | None


@dataclass(kw_only=True)
class LocalFileServer:
    """What both stand-ins (this hub, and testing/modelscope_server) share: a threaded server on
    127.0.0.1 for `with`, the requests it saw, and the two faults a file can have."""

    cut_once: set[str] = field(default_factory=set)  # file names to cut mid-way, once each
    hold: set[str] = field(default_factory=set)  # file names to pause mid-way until release()
    requests: list[Served] = field(default_factory=list)

    def __post_init__(self):
        self._released = threading.Event()
        self._cut_done: set[tuple[str, str]] = set()
        self.halfway = threading.Event()  # set when a held file has sent its first half
        self._server: ThreadingHTTPServer | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class, bound to this server's state."""
        raise NotImplementedError

    def __enter__(self):
        self._server = _QuietServer(("127.0.0.1", 0), self.handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def release(self) -> None:
        self._released.set()

    def send_body(self, out: BaseHTTPRequestHandler, repo: str, name: str, data: bytes) -> None:
        """Write a file's `data` to `out`, with the fault its name is given, if any."""
        base = Path(name).name
        half = len(data) // 2
        if base in self.cut_once and (repo, name) not in self._cut_done:
            self._cut_done.add((repo, name))
            out.wfile.write(data[:half])
            out.wfile.flush()
            out.close_connection = True  # the client sees the body end early
            return
        if base in self.hold:
            out.wfile.write(data[:half])
            out.wfile.flush()
            self.halfway.set()
            self._released.wait()
            data = data[half:]
        out.wfile.write(data)


@dataclass
class HubServer(LocalFileServer):
    repos: dict[str, Path | dict[str, Path]]  # repo id -> folder (or {revision: folder})

    def __post_init__(self):
        super().__post_init__()
        self._shas: dict[tuple[str, str], str] = {}

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"hub": self})

    # ---- what a repo holds -----------------------------------------------------------------
    def revisions(self, repo: str) -> dict[str, Path]:
        served = self.repos[repo]
        return dict(served) if isinstance(served, dict) else {REVISION: served}

    def folder(self, repo: str, rev: str = REVISION) -> Path | None:
        """The folder of `rev` (a branch, a tag or a commit sha), None when there is none."""
        for name, folder in self.revisions(repo).items():
            if rev in (name, self.sha(repo, name)):
                return folder
        return None

    def sha(self, repo: str, rev: str = REVISION) -> str:
        """The commit sha of a revision, from its files (computed once: files do not change
        while a test serves them)."""
        folder = self.revisions(repo)[rev]
        key = (repo, str(folder))
        if key not in self._shas:
            self._shas[key] = self._commit(repo, folder)
        return self._shas[key]

    def _commit(self, repo: str, folder: Path) -> str:
        digest = hashlib.sha1(repo.encode())
        for path in _files(folder):
            digest.update(path.encode() + _blob_id(folder / path).encode())
        return digest.hexdigest()

    def files(self, repo: str, rev: str = REVISION) -> list[str]:
        return _files(self.folder(repo, rev))

    def blob_id(self, repo: str, path: str, rev: str = REVISION) -> str:
        return _blob_id(self.folder(repo, rev) / path)


def _files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith(".cache/")
    )


@functools.lru_cache(maxsize=256)
def _blob_id_of(file: Path, size: int, mtime: int) -> str:
    data = file.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _blob_id(file: Path) -> str:
    """The git blob sha1 of a file (cached by size and mtime: a 26 MB file is hashed once)."""
    stat = file.stat()
    return _blob_id_of(file, stat.st_size, stat.st_mtime_ns)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that hangs up (a cancelled download) is normal here, not a traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/(?P<kind>revision|tree)/(?P<rev>[^/]+))?")
RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")


class _Handler(BaseHTTPRequestHandler):
    hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: pytest shows failures, not traffic
        pass

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        self.hub.requests.append(Served(self.command, path, self.headers.get("Range")))
        if match := API.match(path):
            return self._api(match, blobs="blobs=true" in url.query)
        if match := RESOLVE.match(path):
            return self._resolve(match, body)
        self._error(404, "EntryNotFound", f"no route {path}")

    # ---- /api/models -----------------------------------------------------------------------
    def _api(self, match: re.Match, blobs: bool) -> None:
        repo, kind, rev = match["repo"], match["kind"], match["rev"] or REVISION
        if not self._known(repo, rev):
            return
        hub, folder = self.hub, self.hub.folder(repo, rev)
        if kind == "tree":
            entries = [
                {"type": "file", "path": p, "size": (folder / p).stat().st_size,
                 "oid": _blob_id(folder / p)}
                for p in _files(folder)
            ]
            return self._json(entries)
        siblings = [
            {"rfilename": p, **({"size": (folder / p).stat().st_size} if blobs else {})}
            for p in _files(folder)
        ]
        self._json(
            {"id": repo, "modelId": repo, "sha": hub.sha(repo, _name(hub, repo, rev)),
             "lastModified": LAST_MODIFIED, "private": False, "siblings": siblings}
        )

    # ---- /{repo}/resolve -------------------------------------------------------------------
    def _resolve(self, match: re.Match, body: bool) -> None:
        repo, rev, name = match["repo"], match["rev"], match["path"]
        if not self._known(repo, rev):
            return
        folder = self.hub.folder(repo, rev)
        if name not in _files(folder):
            return self._error(404, "EntryNotFound", f"{name} not in {repo}")
        data = (folder / name).read_bytes()
        start = _range_start(self.headers.get("Range"))
        self.send_response(206 if start else 200)
        self.send_header("X-Repo-Commit", self.hub.sha(repo, _name(self.hub, repo, rev)))
        self.send_header("ETag", f'"{_blob_id(folder / name)}"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if body:
            self.hub.send_body(self, repo, name, data[start:])

    # ---- helpers ---------------------------------------------------------------------------
    def _known(self, repo: str, rev: str) -> bool:
        if repo not in self.hub.repos:
            self._error(404, "RepoNotFound", f"Repository {repo} not found")
            return False
        if self.hub.folder(repo, rev) is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return False
        return True

    def _json(self, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        data = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _name(hub: HubServer, repo: str, rev: str) -> str:
    """The revision name of `rev` (itself, or the name whose commit sha it is)."""
    return next(n for n in hub.revisions(repo) if rev in (n, hub.sha(repo, n)))


def _range_start(header: str | None) -> int:
    match = re.match(r"bytes=(\d+)-", header or "")
    return int(match[1]) if match else 0
