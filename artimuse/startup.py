"""What every server checks at start-up, before its model loads (its variables first, with
`config.check_variables`): that it can listen where it was told to, and how it reports what
it found (one line each, exit status 2, instead of a traceback after minutes of loading)."""

from __future__ import annotations

import errno
import socket
import sys

from artimuse.errors import InputError


def check_listen(host: str, port: int) -> None:
    """Bind (host, port) once and let go: "port 7860 is in use: pass --port or set PORT".

    A probe, not a reservation: the server binds again a moment later. SO_REUSEADDR as uvicorn
    and gradio bind, so a closed connection's TIME_WAIT is not taken for a server."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        message = f"cannot listen on {host!r}: {error.strerror}: pass --host or set HOST"
        raise InputError(message) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise InputError(f"port {port} is in use: pass --port or set PORT") from None
            raise InputError(
                f"cannot listen on {host}:{port}: {error.strerror}: pass --host and --port, "
                "or set HOST and PORT"
            ) from None


def exit_with(prog: str, error: Exception) -> int:
    """Print `error` as `prog: error: ...`, one line per problem, on stderr; the exit status 2
    (argparse's for a usage error)."""
    for line in str(error).splitlines() or [""]:
        print(f"{prog}: error: {line}", file=sys.stderr)
    return 2
