"""A real uvicorn serving an app on 127.0.0.1, on a socket bound before it starts (clients never
race its start-up), in a thread of the test process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from artimuse.config import ConnectionLimits
from artimuse.rest.connections import server_options

GUARD_S = 30  # a failure guard only: each test waits for an event that comes within seconds


@contextmanager
def serving(app, limits: ConnectionLimits | None = None) -> Iterator[tuple[str, int]]:
    """(host, port) of `app` served by uvicorn with the service's connection options."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    options = server_options(limits or ConnectionLimits())
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()
    finally:
        server.should_exit = True
        thread.join(GUARD_S)
        listener.close()
