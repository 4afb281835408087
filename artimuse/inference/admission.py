"""Who may start model work now: one admission path for the REST service, the web app and Serve.

Every job (an upload being decoded, a score, an assessment, a stream until its last event, a
batch request) holds one `Pass` from admission to its end. Two caps, checked together under one
lock when a pass is asked for:

* the global cap (`capacity`, ARTIMUSE_QUEUE_SIZE): jobs running + waiting in this process.
  Past it: `QueueFull` ("the server is busy"), HTTP 503 + Retry-After.
* the per-client cap (`per_client`, ARTIMUSE_CLIENT_JOBS): what one client may hold of those.
  Past it: `ClientBusy` ("you already have N jobs"), HTTP 429 + Retry-After, so that one client
  flooding the service cannot take every slot from the others.

A client is a key string chosen by the front end: the REST service uses the API key when one is
sent, else the client's address; the web app uses the Gradio session hash.

    admission = Admission(capacity=16, per_client=4)
    with admission.admit("203.0.113.7"):     # raises QueueFull / ClientBusy
        ...model work...

Statistics are bounded: counters and a running mean, nothing that grows with traffic; the
per-client table holds only clients with a job in flight.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from artimuse.config import DEFAULT_CLIENT_JOBS, DEFAULT_QUEUE_SIZE
from artimuse.errors import InputError

MAX_RETRY_AFTER_S = 60


class Refused(RuntimeError):
    """A job was not admitted; `retry_after` is a guess, in whole seconds, of when to retry,
    `status` the HTTP status a web front end answers with."""

    status = 503

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class QueueFull(Refused):
    """Every slot of the service is taken (HTTP 503)."""

    status = 503


class ClientBusy(Refused):
    """This client already holds its share of the slots (HTTP 429)."""

    status = 429


@dataclass(frozen=True)
class AdmissionStats:
    """A snapshot: what is held now and what happened since start (counters only)."""

    capacity: int
    per_client: int
    pending: int  # jobs admitted and not finished (running + waiting)
    clients: int  # clients with at least one job pending
    admitted: int
    refused_full: int
    refused_client: int
    mean_hold_s: float  # running mean of how long a job held its pass (waiting + running)


class Pass:
    """One admitted job; `release()` (or leaving the `with` block) gives the slot back. Releasing
    twice is harmless, so a stream's end and its request's end may both release it."""

    __slots__ = ("_admission", "client", "_started", "_released")

    def __init__(self, admission: Admission, client: str):
        self._admission, self.client = admission, client
        self._started, self._released = time.monotonic(), False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._admission._release(self.client, time.monotonic() - self._started)

    def __enter__(self) -> Pass:
        return self

    def __exit__(self, *_exc) -> None:
        self.release()


class Admission:
    """Thread-safe: `admit` from any thread or event loop (it never blocks on model work)."""

    def __init__(self, capacity: int = DEFAULT_QUEUE_SIZE, per_client: int = DEFAULT_CLIENT_JOBS):
        if capacity < 1 or per_client < 1:
            raise InputError(
                f"admission needs capacity >= 1 and per_client >= 1, got {capacity}, {per_client}"
            )
        self.capacity, self.per_client = capacity, min(per_client, capacity)
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}  # client -> jobs pending; only clients with jobs
        self._pending = 0
        self._admitted = self._refused_full = self._refused_client = 0
        self._mean_hold_s = 1.0

    @property
    def pending(self) -> int:
        return self._pending

    def held_by(self, client: str) -> int:
        """Jobs `client` has pending now."""
        return self._held.get(client, 0)

    def admit(self, client: str) -> Pass:
        """A pass for one job of `client`, or `ClientBusy` / `QueueFull` at once (never waits).
        The client's own cap is checked first: a flooding client hears that it is the cause."""
        with self._lock:
            held = self._held.get(client, 0)
            if held >= self.per_client:
                self._refused_client += 1
                raise ClientBusy(
                    f"you already have {held} jobs running or waiting (at most {self.per_client} "
                    "per client): wait for one to finish",
                    self._retry_after(),
                )
            if self._pending >= self.capacity:
                self._refused_full += 1
                raise QueueFull(
                    f"the server is busy: the queue is full ({self.capacity} jobs running or "
                    "waiting); retry later",
                    self._retry_after(),
                )
            self._held[client] = held + 1
            self._pending += 1
            self._admitted += 1
        return Pass(self, client)

    def retry_after(self) -> int:
        with self._lock:
            return self._retry_after()

    def stats(self) -> AdmissionStats:
        with self._lock:
            return AdmissionStats(
                self.capacity, self.per_client, self._pending, len(self._held), self._admitted,
                self._refused_full, self._refused_client, round(self._mean_hold_s, 3),
            )

    def _retry_after(self) -> int:
        # Jobs run one after another, so a pass is held for about `pending` jobs' time: one slot
        # frees every mean_hold / pending seconds. Between 1 s and a minute.
        per_job = self._mean_hold_s / max(1, self._pending)
        return min(MAX_RETRY_AFTER_S, max(1, math.ceil(per_job)))

    def _release(self, client: str, held_s: float) -> None:
        with self._lock:
            self._pending -= 1
            left = self._held[client] - 1
            if left:
                self._held[client] = left
            else:
                del self._held[client]  # bounded: only clients with work in flight stay
            self._mean_hold_s = 0.8 * self._mean_hold_s + 0.2 * held_s
