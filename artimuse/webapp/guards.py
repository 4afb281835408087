"""Two guards around gradio itself, for a server that strangers can reach.

* `UploadQuota`: gradio's `/gradio_api/upload` stores any file it is sent, with no session and
  no queue slot (`max_file_size` bounds one file, `delete_cache` their age, nothing their
  number). This ASGI middleware gives each client address a budget of upload requests and
  bytes per window; past it, 429. A visitor uploading pictures never comes near it.
* `SafeStream`: gradio prints the traceback of a value it cannot take (a hostile `fn_index`
  call fails in its preprocessing, before any handler of ours) to stderr, the value's text
  included, newlines and megabytes. Wrapped around stderr, every write stays one line (inner
  line breaks shown as `\\n`) and the bytes per window are bounded, with a count of what was
  left out.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque

UPLOAD_WINDOW_S = 600.0
UPLOAD_REQUESTS = 64  # per address per window: four full batches, and more
STDERR_WINDOW_S = 60.0
STDERR_BYTES = 64 * 1024  # per window
TRACKED = 4096  # client addresses remembered (bounded)


class UploadQuota:
    def __init__(self, app, max_bytes: int, requests: int = UPLOAD_REQUESTS):
        self.app, self.requests = app, requests
        self.max_bytes = max_bytes * requests // 4  # a quarter of the requests at full size
        self._seen: OrderedDict[str, deque] = OrderedDict()  # address -> (time, bytes)
        self._lock = threading.Lock()

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
        address = (scope.get("client") or ("",))[0]
        size = next((int(v) for k, v in scope["headers"] if k == b"content-length"), 0)
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(address, deque())
            self._seen.move_to_end(address)
            while len(self._seen) > TRACKED:
                self._seen.popitem(last=False)
            while seen and now - seen[0][0] > UPLOAD_WINDOW_S:
                seen.popleft()
            spent = sum(n for _, n in seen)
            if len(seen) >= self.requests or spent + size > self.max_bytes:
                return False
            seen.append((now, size))
            return True


class SafeStream:
    """A text stream (stderr) whose writes stay on their line and within a byte budget."""

    def __init__(self, stream, budget: int = STDERR_BYTES, window: float = STDERR_WINDOW_S):
        self._stream, self._budget, self._window = stream, budget, window
        self._start, self._spent, self._dropped = time.monotonic(), 0, 0
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        ends = text.endswith("\n")
        body = text[:-1] if ends else text
        line = body.replace("\r", "\\r").replace("\n", "\\n") + ("\n" if ends else "")
        with self._lock:
            now = time.monotonic()
            if now - self._start > self._window:
                if self._dropped:
                    self._stream.write(f"[{self._dropped:,} bytes of output left out]\n")
                self._start, self._spent, self._dropped = now, 0, 0
            if self._spent + len(line) > self._budget:
                self._dropped += len(line)
                return len(text)
            self._spent += len(line)
            self._stream.write(line)
        return len(text)

    def __getattr__(self, name):  # flush, fileno, isatty, encoding ...: the stream's own
        return getattr(self._stream, name)
