"""Connection exhaustion: hold N half-open connections against a real `artimuse api` on
127.0.0.1 and time `/health` meanwhile. Prints one JSON object.

    python -m benchmarks.connections [--connections 2000] [--timeout 5]

Half the held connections send part of a request's headers, the other half whole headers and
part of a body (a slow upload): the two slowloris shapes. The server runs with its defaults
except the header and body timeouts (`--timeout`, so the run ends in seconds); the run reports
/health latency before, while and after, how many held connections the server closed by
itself and when, the server's RSS and open files, and how much it logged. Both processes need
about N open files: the fd limit (`ulimit -n`) is reported and the soft one raised if needed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint

SPEC = CheckpointSpec(image_size=56, vision_layers=1, llm_layers=1, dtype="float32")
READY_DEADLINE_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health_ms(port: int, timeout: float = 10.0) -> float | None:
    """Milliseconds for one GET /health on a fresh connection; None when it failed."""
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
    except OSError:
        return None
    if not answer.startswith(b"HTTP/1.1 200"):
        return None
    return (time.perf_counter() - started) * 1000


def probe(port: int, count: int) -> dict:
    times = [health_ms(port) for _ in range(count)]
    good = [t for t in times if t is not None]
    return {
        "requests": count,
        "failed": count - len(good),
        "median_ms": round(statistics.median(good), 2) if good else None,
        "max_ms": round(max(good), 2) if good else None,
    }


def hold(port: int, count: int) -> list[socket.socket]:
    """`count` connections, each stopped in the middle of a request."""
    held = []
    for index in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        if index % 2:
            client.sendall(b"POST /score HTTP/1.1\r\nHost: bench\r\n")  # headers never end
        else:
            client.sendall(
                b"POST /score HTTP/1.1\r\nHost: bench\r\nContent-Length: 1000000\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
            )  # a body that stops
        client.setblocking(False)
        held.append(client)
    return held


def closed_by_server(held: list[socket.socket], deadline_s: float) -> list[float]:
    """Seconds after which each held connection was closed (or answered) by the server."""
    selector = selectors.DefaultSelector()
    for client in held:
        selector.register(client, selectors.EVENT_READ)
    started, closed = time.perf_counter(), []
    while len(closed) < len(held) and time.perf_counter() - started < deadline_s:
        for key, _ in selector.select(timeout=0.5):
            try:
                key.fileobj.recv(65536)  # b"" (closed) or a 408 answer: either way it is over
            except OSError:
                pass
            selector.unregister(key.fileobj)
            closed.append(time.perf_counter() - started)
    return closed


def wait_accepted(pid: int, count: int, deadline_s: float = 30) -> float:
    """When the server holds `count` sockets (its open files, seen in /proc)."""
    started = time.perf_counter()
    while len(os.listdir(f"/proc/{pid}/fd")) < count and time.perf_counter() - started < deadline_s:
        time.sleep(0.01)
    return time.perf_counter()


def server_stats(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return {"rss_mb": round(rss_kb / 1024, 1), "open_files": len(os.listdir(f"/proc/{pid}/fd"))}


def raise_fd_limit(wanted: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--timeout", type=int, default=5, help="header and body timeouts, s")
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument(
        "--server-fd-limit", type=int, help="run the server with this open-file limit (below "
        "--connections: the 'Too many open files' case, to see the log stay small)"
    )
    args = parser.parse_args(argv)
    before_limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    limits = raise_fd_limit(args.connections + 256)
    work = Path(tempfile.mkdtemp(prefix="artimuse-connections-"))
    ckpt = make_checkpoint(work / "fast", SPEC)
    port = free_port()
    env = {
        **os.environ,
        "ARTIMUSE_HEADER_TIMEOUT": str(args.timeout),
        "ARTIMUSE_BODY_TIMEOUT": str(args.timeout),
    }
    command = [sys.executable, "-c", "from artimuse.rest.app import main; main()", "--ckpt",
               str(ckpt), "--device", "cpu", "--dtype", "float32", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]
    log_path = work / "server.log"
    with log_path.open("wb") as log:
        fd_limit = args.server_fd_limit
        limit_fds = None if fd_limit is None else (
            lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))
        )
        server = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit_fds
        )
        try:
            result = run_attack(server, port, args)
        finally:
            server.terminate()
            server.wait(30)
    result.update(
        server_fd_limit=args.server_fd_limit,
        fd_limit_soft_hard_before=list(before_limits),
        fd_limit_soft_hard=list(limits),
        server_log_bytes=log_path.stat().st_size,
        server_log_lines=len(log_path.read_bytes().splitlines()),
    )
    print(json.dumps(result, indent=2))


def run_attack(server: subprocess.Popen, port: int, args) -> dict:
    started = time.perf_counter()
    while health_ms(port, timeout=2) is None:
        if server.poll() is not None or time.perf_counter() - started > READY_DEADLINE_S:
            raise SystemExit("the server did not start; see its log")
        time.sleep(0.2)
    idle, idle_stats = probe(port, args.probes), server_stats(server.pid)
    opened = time.perf_counter()
    held = hold(port, args.connections)
    open_s = time.perf_counter() - opened
    first = health_ms(port)  # queued behind the burst the server is still accepting
    wanted = min(args.connections, (args.server_fd_limit or args.connections + 64) - 64)
    accepted_s = wait_accepted(server.pid, wanted) - opened
    during = probe(port, args.probes)
    stats = server_stats(server.pid)
    closed = closed_by_server(held, deadline_s=args.timeout * 4 + 10)
    after = probe(port, args.probes)
    for client in held:
        client.close()
    return {
        "connections_held": args.connections,
        "seconds_to_open_them": round(open_s, 2),
        "header_and_body_timeout_s": args.timeout,
        "health_idle": idle,
        "server_idle": idle_stats,
        "health_first_right_after_the_burst_ms": round(first, 2) if first else None,
        "seconds_until_the_server_held_them_all": round(accepted_s, 2),
        "health_while_held": during,
        "health_after_timeouts": after,
        "server_while_held": stats,
        "closed_by_server": len(closed),
        "closed_within_s": round(max(closed), 2) if closed else None,
    }


if __name__ == "__main__":
    main()
