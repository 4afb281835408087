"""A local stand-in for ModelScope: a real HTTP server on 127.0.0.1 that answers what the
`modelscope` client's `snapshot_download` asks (point `MODELSCOPE_ENDPOINT`, or `endpoint=`,
at `ModelScopeServer.url`).

    with ModelScopeServer({"thunderbolt/ArtiMuse": folder}) as ms:
        resolve("ms:thunderbolt/ArtiMuse", endpoint=ms.url)

The client (modelscope 1.40 on modelscope-hub 0.5) speaks ModelScope's v1 API, every JSON
answer wrapped as `{"Code": 200, "Data": ..., "Success": true}`:
`GET /api/v1/models/{owner}/{name}` (repo info), `GET /api/v1/models/{owner}/{name}/revisions`,
`GET /api/v1/models/{owner}/{name}/repo/files?Revision=&Recursive=` (the listing, with `Size`
and `Sha256` of each file) and `GET /api/v1/models/{owner}/{name}/repo?Revision=&FilePath=`
(a file, `Range` answered with 206). An unknown repo or file is a 404 with `Code` 10010205.
`cut_once` sends half of a file then drops the connection (once per file); `hold` sends half,
then waits for `release()`: as the hub stand-in does.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from artimuse.testing.hub_server import LocalFileServer, Served, _range_start

REVISION = "master"
REPO = re.compile(r"^/api/v1/models/(?P<repo>[^/]+/[^/]+?)(?P<rest>/[^?]*)?$")


@dataclass
class ModelScopeServer(LocalFileServer):
    repos: dict[str, Path]  # repo id -> folder whose files it serves

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"ms": self})

    def files(self, repo: str) -> list[str]:
        root = self.repos[repo]
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def listing(self, repo: str) -> list[dict]:
        root = self.repos[repo]
        return [
            {"Name": Path(p).name, "Path": p, "Type": "blob", "Size": (root / p).stat().st_size,
             "Sha256": hashlib.sha256((root / p).read_bytes()).hexdigest(), "Revision": REVISION}
            for p in self.files(repo)
        ]


class _Handler(BaseHTTPRequestHandler):
    ms: ModelScopeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.ms.requests.append(Served(self.command, self.path, self.headers.get("Range")))
        match = REPO.match(url.path)
        if match is None:
            return self._error(404, f"no route {url.path}")
        repo, rest = match["repo"], match["rest"] or ""
        if repo not in self.ms.repos:
            return self._error(404, f"model {repo} not exist")
        if query.get("Revision", REVISION) != REVISION:
            return self._error(404, f"revision {query['Revision']} not exist")
        if rest == "":
            return self._json({"Id": 1, "Name": repo.split("/")[1], "Path": repo.split("/")[0]})
        if rest == "/revisions":
            branch = {"Revision": REVISION, "CreatedAt": 1754006400}
            return self._json({"RevisionMap": {"Branches": [branch], "Tags": []}})
        if rest == "/repo/files":
            return self._json({"Files": self.ms.listing(repo)})
        if rest == "/repo":
            return self._file(repo, query.get("FilePath", ""), body)
        self._error(404, f"no route {url.path}")

    def _file(self, repo: str, name: str, body: bool) -> None:
        if name not in self.ms.files(repo):
            return self._error(404, f"file {name} not exist in {repo}")
        data = (self.ms.repos[repo] / name).read_bytes()
        start = _range_start(self.headers.get("Range"))
        self.send_response(206 if start else 200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if not body:
            return
        self.ms.send_body(self, repo, name, data[start:])

    def _json(self, data: object) -> None:
        payload = json.dumps({"Code": 200, "Data": data, "Message": "success",
                              "Success": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, message: str) -> None:
        payload = json.dumps({"Code": 10010205, "Data": None, "Message": message,
                              "Success": False}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
