"""Admission of the web app's model jobs, checked on the server whatever the client sends.

Gradio's own queue is one line for everyone: a visitor who opens twenty throwaway sessions
fills it and the next visitor is refused. So model events start at once (their concurrency
limit is the admission cap) and each handler first asks `Admission.admit`, which refuses at
once when the server is full ("queue full") or when this session or this client address
already has its share ("you already have N jobs"): the project's one admission path
(`inference.admission`), keyed once by the Gradio session hash and once by the address, since
throwaway sessions cost nothing. Admitted jobs then take the model one at a time, in the order
they arrived (`Job.wait_turn` yields the number ahead, for the page's progress line), and each
may hold the model for at most `time_limit` seconds.

A newer Assess of the same session supersedes its older one (`Job.superseded`): a new picture
must not wait behind the model writing about the last one.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from artimuse.config import DEFAULT_CLIENT_JOBS, WEBAPP_SESSION_JOBS
from artimuse.inference import admission

TURN_POLL_S = 0.5  # how often a waiting job re-checks its place (and tells the page)


class Refused(Exception):
    """Not admitted: `kind` "full" (the server's cap) or "yours" (`count` jobs of this session
    or client already)."""

    def __init__(self, kind: str, count: int = 0):
        super().__init__(kind)
        self.kind, self.count = kind, count

    @classmethod
    def of(cls, refusal: admission.Refused, held: int) -> Refused:
        return cls("full") if isinstance(refusal, admission.QueueFull) else cls("yours", held)


@dataclass(eq=False)
class Job:
    admission: Admission
    number: int
    session: str
    client: str
    kind: str
    started: float | None = None  # when it got the model
    superseded: bool = False
    deadline: float = field(default=float("inf"))

    def wait_turn(self) -> Iterator[int]:
        """Yields how many jobs are ahead, until this one may use the model."""
        while True:
            ahead = self.admission.ahead_of(self)
            if ahead == 0 or self.superseded:
                break
            yield ahead
            with self.admission.changed:
                self.admission.changed.wait(TURN_POLL_S)
        self.started = time.monotonic()
        self.deadline = self.started + self.admission.time_limit

    @property
    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    @property
    def wanted(self) -> bool:
        """False once stopped by a newer job of its session or by the time limit."""
        return not self.superseded and not self.expired


class Admission:
    def __init__(
        self,
        total: int,
        time_limit: float,
        per_session: int = WEBAPP_SESSION_JOBS,
        per_client: int = DEFAULT_CLIENT_JOBS,
    ):
        self.total, self.time_limit = total, time_limit
        self.per_session, self.per_client = per_session, per_client
        self._by_session = admission.Admission(total, per_session)
        self._by_client = admission.Admission(total, per_client)
        self._jobs: list[Job] = []  # in arrival order; the first one has the model
        self._numbers = itertools.count(1)
        self.changed = threading.Condition()

    @contextmanager
    def admit(self, session: str | None, client: str, kind: str = "job") -> Iterator[Job]:
        """A place in line for the duration of the `with` block, or Refused."""
        session = session or f"anonymous-{client}"
        with ExitStack() as passes:
            for caps, key in ((self._by_session, session), (self._by_client, client)):
                try:
                    passes.enter_context(caps.admit(key))
                except admission.Refused as refusal:
                    raise Refused.of(refusal, caps.held_by(key)) from None
            with self.changed:
                if kind == "assess":  # a new picture: the session's older one stops
                    for older in self._jobs:
                        if older.session == session and older.kind == kind:
                            older.superseded = True
                job = Job(self, next(self._numbers), session, client, kind)
                self._jobs.append(job)
                self.changed.notify_all()
            yield from self._held(job)

    def _held(self, job: Job) -> Iterator[Job]:
        try:
            yield job
        finally:
            with self.changed:
                self._jobs.remove(job)
                self.changed.notify_all()

    def ahead_of(self, job: Job) -> int:
        with self.changed:
            return self._jobs.index(job)

    def __len__(self) -> int:
        return len(self._jobs)
