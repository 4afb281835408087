"""The guards of a server that strangers can reach: who is the operator (`Access`), how much a
client address may upload (`UploadQuota`), and a stderr that hostile values cannot flood
(`SafeStream`)."""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections import OrderedDict, deque

from artimuse.config import WebSettings

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
SIGN_IN_TRIES, SIGN_IN_WINDOW_S = 5, 60.0  # failed sign-ins per client address per window
UPLOAD_REQUESTS, UPLOAD_WINDOW_S = 64, 600.0  # per address: four full batches, and more
STDERR_BYTES, STDERR_WINDOW_S = 64 * 1024, 60.0
TRACKED = 4096  # client addresses remembered (bounded)


def client_host(request) -> str:
    return str(getattr(getattr(request, "client", None), "host", "") or "")


class Recent:
    """Per client address, the (time, amount) of what it did in the last `window` seconds."""

    def __init__(self, window: float):
        self.window, self._seen = window, OrderedDict()

    def of(self, address: str) -> deque:
        seen = self._seen.setdefault(address, deque())
        self._seen.move_to_end(address)
        while len(self._seen) > TRACKED:
            self._seen.popitem(last=False)
        while seen and time.monotonic() - seen[0][0] > self.window:
            seen.popleft()
        return seen


class Access:
    """Who may change what every visitor sees (the checkpoint, downloads). Every event of a
    gradio page is an endpoint callable by `fn_index`, button or not, so each operator handler
    asks `is_operator` itself. Local mode: a loopback client is the operator; public mode
    (ARTIMUSE_PUBLIC, `--public`, a Space; behind a proxy every client looks local): only the
    password, typed on the page (`/?operator=1`; gradio's `auth=` would lock visitors out), sent
    with every operator action, failed tries limited per address."""

    def __init__(self, settings: WebSettings | None = None):
        settings = settings or WebSettings()
        self.public, self._password = settings.public, settings.admin_password
        self.sign_in_offered = bool(self._password)
        self._failures = Recent(SIGN_IN_WINDOW_S)

    def is_operator(self, request, password: str | None = None) -> bool:
        """`request` None: called in-process (a test, an embedding program), not over HTTP."""
        address = client_host(request)
        if request is None or (not self.public and address in LOOPBACK):
            return True
        if not (self._password and isinstance(password, str) and password):
            return False
        failures = self._failures.of(address)
        if len(failures) >= SIGN_IN_TRIES:
            return False  # locked out for the rest of the window, even with the right one
        if hmac.compare_digest(password.encode(), self._password.encode()):
            return True
        failures.append((time.monotonic(), 1))
        return False


class UploadQuota:
    """ASGI middleware: `/gradio_api/upload` stores any file, with no session or queue slot
    (`max_file_size` bounds one, `delete_cache` their age, nothing their number); at most
    `requests` uploads per address and window, a quarter of them at full size in bytes."""

    def __init__(self, app, max_bytes: int, requests: int = UPLOAD_REQUESTS):
        self.app, self.requests, self.max_bytes = app, requests, max_bytes * requests // 4
        self._recent, self._lock = Recent(UPLOAD_WINDOW_S), threading.Lock()

    async def __call__(self, scope, receive, send):
        is_upload = scope["type"] == "http" and scope["path"].endswith("/gradio_api/upload")
        if is_upload and not self._allowed(scope):
            body = json.dumps({"detail": "too many uploads from this address; retry later"})
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body.encode()})
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope) -> bool:
        size = next((int(v) for k, v in scope["headers"] if k == b"content-length"), 0)
        with self._lock:
            seen = self._recent.of((scope.get("client") or ("",))[0])
            if len(seen) >= self.requests or sum(n for _, n in seen) + size > self.max_bytes:
                return False
            seen.append((time.monotonic(), size))
            return True


class SafeStream:
    """Around stderr, where gradio prints the traceback of a value it cannot take, the value in
    it: every write stays on its line, and the bytes per window are bounded."""

    def __init__(self, stream, budget: int = STDERR_BYTES, window: float = STDERR_WINDOW_S):
        self._stream, self._budget, self._window = stream, budget, window
        self._start, self._spent, self._dropped = time.monotonic(), 0, 0
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        body, ends = (text[:-1], "\n") if text.endswith("\n") else (text, "")
        line = body.replace("\r", "\\r").replace("\n", "\\n") + ends
        with self._lock:
            if time.monotonic() - self._start > self._window:
                if self._dropped:
                    self._stream.write(f"[{self._dropped:,} bytes of output left out]\n")
                self._start, self._spent, self._dropped = time.monotonic(), 0, 0
            if self._spent + len(line) > self._budget:
                self._dropped += len(line)
            else:
                self._spent += len(line)
                self._stream.write(line)
        return len(text)

    def __getattr__(self, name):  # flush, fileno, isatty, encoding ...: the stream's own
        return getattr(self._stream, name)
