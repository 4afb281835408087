"""Connection limits against a real uvicorn on 127.0.0.1: late headers close the connection, a
stalled body gets 408, past the concurrency limit a request gets 503, floods of one log message
are cut short. Every wait is for an event (bytes or a close), with a generous guard."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import torch

from artimuse.config import ConnectionLimits, ServiceSettings
from artimuse.rest.app import create_app
from artimuse.rest.connections import LogRateLimit, limit_logging
from tests.rest import live

GUARD_S = live.GUARD_S


class NoModel:
    name, device, dtype, max_new_tokens = "none", torch.device("cpu"), torch.float32, 4
    path = Path("checkpoints/none")


def serving(limits: ConnectionLimits):
    return live.serving(create_app(NoModel(), ServiceSettings(connections=limits)), limits)


def connect(address) -> socket.socket:
    client = socket.create_connection(address, timeout=GUARD_S)
    return client


def read_all(client: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def read_response(client: socket.socket) -> bytes:
    """One response: the headers and a body of Content-Length bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += client.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = int(next(line.split(b":")[1] for line in lines if line.startswith(b"content-length")))
    while len(body) < length:
        body += client.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_connection_that_never_finishes_its_headers_is_closed():
    with serving(ConnectionLimits(header_timeout=1)) as address, connect(address) as client:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # no blank line: never ends
        assert read_all(client) == b""  # closed by the server, nothing answered


def test_headers_sent_in_time_are_answered_and_the_next_request_gets_the_same_time():
    with serving(ConnectionLimits(header_timeout=2, keep_alive=30)) as address:
        with connect(address) as client:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(client).startswith(b"HTTP/1.1 200")
            client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # a second, never ended
            assert read_all(client) == b""


def test_a_stalled_body_gets_408():
    request = (
        b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
    )
    with serving(ConnectionLimits(body_timeout=1)) as address, connect(address) as client:
        client.sendall(request)  # and then nothing more
        answer = read_all(client)
        assert answer.startswith(b"HTTP/1.1 408") and b"ARTIMUSE_BODY_TIMEOUT" in answer


def test_past_the_concurrency_limit_requests_get_503():
    # uvicorn's rule: a request that arrives while `max_connections` connections are open
    limits = ConnectionLimits(max_connections=3, keep_alive=30, header_timeout=30)
    with serving(limits) as address:
        held = [connect(address) for _ in range(2)]
        for client in held:  # answered: both are open and counted by the server now
            client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(client).startswith(b"HTTP/1.1 200")
        with connect(address) as third:
            third.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(third).startswith(b"HTTP/1.1 503")
        for client in held:
            client.close()


def test_a_flood_of_one_message_is_cut_to_a_few_lines(caplog):
    logger = logging.getLogger("artimuse.test.flood")
    limit = LogRateLimit(burst=3, window=3600)
    logger.addFilter(limit)
    try:
        with caplog.at_level(logging.ERROR, logger="artimuse.test.flood"):
            for _ in range(1000):
                logger.error("socket.accept() out of system resource: %s", "Too many open files")
            logger.error("another message")
    finally:
        logger.removeFilter(limit)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 4 and messages[-1] == "another message"


def test_the_count_left_out_is_reported_when_the_window_ends():
    limit = LogRateLimit(burst=2, window=3600)
    records = [logging.LogRecord("x", logging.ERROR, __file__, 1, "same", None, None)
               for _ in range(6)]
    assert [limit.filter(r) for r in records[:5]] == [True, True, False, False, False]
    limit.window = 0  # the window is over: the next copy passes and says how many were left
    assert limit.filter(records[5]) and records[5].getMessage() == "same [3 like it left out]"


def test_the_limit_sits_on_the_handlers_and_catches_what_children_propagate():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        shared = limit_logging()
        child = logging.getLogger("asyncio")  # where accept() failures are reported
        for _ in range(100):
            child.error("socket.accept() out of system resource")
        for _ in range(30):
            logging.getLogger("artimuse.rest.app").warning("upload %s", "x")
        verbose = logging.getLogger("artimuse.test.verbose")
        verbose.setLevel(logging.INFO)
        for _ in range(30):
            verbose.info("kept: below WARNING is never limited")
    finally:
        root.removeHandler(handler)
        for h in root.handlers + logging.getLogger("uvicorn").handlers:
            h.removeFilter(shared)
    assert len(records) == 10 + 10 + 30, [(r.name, r.getMessage()) for r in records]
