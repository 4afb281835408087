"""Connection limits of the REST service: what a slow or greedy client can hold.

uvicorn gives a concurrency limit (`limit_concurrency`: past it a request gets 503) and the
keep-alive timeout; it has no timeout for a request's headers or body, which is what a
"slowloris" client exploits, so those two are here:

* `HeaderTimeoutProtocol` (uvicorn's h11 protocol): a connection that has not finished sending a
  request's headers within `header_timeout` seconds of opening (or of its last response) is
  closed. A half-sent request never reaches the app, so it costs a socket, not a task.
* `BodyTimeout` (ASGI middleware): a request body that stalls for `body_timeout` seconds
  between two reads is answered 408.
* `LogRateLimit`: at most a few copies of one message a minute (a flood of "Too many open files"
  tracebacks must not fill the disk), then a count of what was left out.

Values come from `config.ConnectionLimits` (ARTIMUSE_MAX_CONNECTIONS, ARTIMUSE_HEADER_TIMEOUT,
ARTIMUSE_BODY_TIMEOUT, ARTIMUSE_KEEP_ALIVE). For public hosting put a reverse proxy (nginx,
Caddy, a cloud load balancer) in front: these limits keep one process alive, a proxy shields it.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time

from fastapi import HTTPException
from uvicorn.protocols.http.h11_impl import H11Protocol

from artimuse.config import ConnectionLimits

log = logging.getLogger(__name__)
LOG_BURST = 10  # copies of one warning or error let through per window
LOG_WINDOW_S = 60.0
# Whose handlers get the limit: the root's (asyncio, artimuse.* and the rest propagate there)
# and uvicorn's own ("uvicorn.error" logs through it). Not the access log: one line a request.
RATE_LIMITED_HANDLERS_OF = ("", "uvicorn")


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers are late."""

    header_timeout: float = 10.0

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = None
        self._arm_header_timer()

    def handle_events(self) -> None:
        super().handle_events()
        if self._header_timer is not None and self.cycle is not self._waiting_since:
            self._header_timer.cancel()  # the headers of a new request are in
            self._header_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()  # the next request on this connection gets the same time

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._waiting_since = self.cycle
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.cycle is self._waiting_since and not self.transport.is_closing():
            self.transport.close()


def protocol_class(limits: ConnectionLimits) -> type[H11Protocol]:
    """`HeaderTimeoutProtocol` with the configured header timeout (uvicorn builds it itself)."""
    return type("ArtiMuseH11", (HeaderTimeoutProtocol,), {"header_timeout": limits.header_timeout})


class BodyTimeout:
    """ASGI middleware: 408 when a request body stalls for `seconds` between two reads.

    Only while the body is still coming: afterwards `receive()` waits for the client to hang
    up (streamed answers listen for that), which may rightly take as long as it likes.
    """

    def __init__(self, app, seconds: float):
        self.app, self.seconds = app, seconds

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body_done = False

        async def timed_receive():
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.seconds)
            except TimeoutError:
                raise HTTPException(
                    408,
                    f"the request body stalled for {self.seconds:g} s (ARTIMUSE_BODY_TIMEOUT)",
                    headers={"Connection": "close"},
                ) from None
            body_done = message["type"] != "http.request" or not message.get("more_body")
            return message

        await self.app(scope, timed_receive, send)


class LogRateLimit(logging.Filter):
    """Lets `burst` warnings or errors of one message template through per `window` seconds;
    records below WARNING always pass."""

    def __init__(self, burst: int = LOG_BURST, window: float = LOG_WINDOW_S):
        super().__init__()
        self.burst, self.window = burst, window
        self._seen: dict[tuple[str, str], list] = {}  # key -> [window start, count]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        decided = getattr(record, "_rate_limit_passes", None)
        if decided is None:  # once per record, however many handlers it reaches
            decided = record._rate_limit_passes = self._passes(record)
        return decided

    def _passes(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        start, count = self._seen.get(key, (now, 0))
        if now - start > self.window:
            if count > self.burst:
                record.msg = f"{record.msg} [{count - self.burst} like it left out]"
            start, count = now, 0
        self._seen[key] = [start, count + 1]
        if len(self._seen) > 1000:  # bounded itself: forget the oldest templates
            self._seen.pop(next(iter(self._seen)))
        return count < self.burst


def limit_logging() -> LogRateLimit:
    """Rate-limit what a flood writes: a filter on the handlers (a logger's own filters would
    miss the records its children propagate to it)."""
    shared = LogRateLimit()
    for name in RATE_LIMITED_HANDLERS_OF:
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(shared)
    return shared


def server_options(limits: ConnectionLimits) -> dict:
    """The uvicorn.Config arguments of these limits."""
    return {
        "http": protocol_class(limits),
        "limit_concurrency": limits.max_connections,
        "timeout_keep_alive": limits.keep_alive,
    }


def raise_open_file_limit(wanted: int) -> None:
    """Lift the soft limit of open files towards `wanted` (as far as the hard limit allows):
    each connection is a file, and the usual soft limit (1024) is below the connection limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        log.info("open-file limit raised from %d to %d", soft, target)
