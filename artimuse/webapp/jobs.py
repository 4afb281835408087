"""Admission of the web app's model jobs, on the server whatever the client sends.

Gradio's queue is one line for everyone (twenty throwaway sessions fill it), so model events
start at once and each asks `Admission.admit`, which refuses when the server is full or this
session or client address (sessions cost nothing) has its share: `inference.admission`, the
project's one admission path. Admitted jobs take the model in arrival order, each for at most
`time_limit` seconds; a newer Assess of a session supersedes its older one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from artimuse.config import DEFAULT_CLIENT_JOBS, WEBAPP_SESSION_JOBS
from artimuse.inference import admission
from artimuse.webapp.i18n import Message

TURN_POLL_S = 0.5  # how often a waiting job re-checks its place (and tells the page)


class Refused(Exception):
    """A model job that cannot run; `message` says why (the server is full, this visitor has N
    jobs, no model)."""

    def __init__(self, message: Message):
        super().__init__(message.key)
        self.message = message


@dataclass(eq=False)
class Job:
    admission: Admission
    session: str
    kind: str
    superseded: bool = False
    deadline: float = float("inf")  # set when it gets the model

    def wait_turn(self) -> Iterator[int]:
        """Yields how many jobs are ahead, until this one may use the model."""
        while (ahead := self.admission.ahead_of(self)) and not self.superseded:
            yield ahead
            with self.admission.changed:
                self.admission.changed.wait(TURN_POLL_S)
        self.deadline = time.monotonic() + self.admission.time_limit

    @property
    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    @property
    def wanted(self) -> bool:
        """False once stopped by a newer job of its session or by the time limit."""
        return not self.superseded and not self.expired


class Admission:
    def __init__(self, total: int, time_limit: float, per_session: int = WEBAPP_SESSION_JOBS,
                 per_client: int = DEFAULT_CLIENT_JOBS):  # fmt: skip
        self.total, self.time_limit, self.per_session = total, time_limit, per_session
        self._caps = [admission.Admission(total, n) for n in (per_session, per_client)]
        self._jobs: list[Job] = []  # in arrival order; the first one has the model
        self.changed = threading.Condition()

    @contextmanager
    def admit(self, session: str | None, client: str, kind: str = "job") -> Iterator[Job]:
        """A place in line for the duration of the `with` block, or Refused."""
        session = session or f"anonymous-{client}"
        with ExitStack() as passes:
            for caps, key in zip(self._caps, (session, client), strict=True):
                try:
                    passes.enter_context(caps.admit(key))
                except admission.QueueFull:
                    raise Refused(Message("jobs.full")) from None
                except admission.Refused:
                    raise Refused(Message("jobs.yours", {"n": caps.held_by(key)})) from None
            with self.changed:
                for older in self._jobs if kind == "assess" else ():  # a new picture
                    older.superseded |= older.session == session and older.kind == kind
                job = Job(self, session, kind)
                self._jobs.append(job)
                self.changed.notify_all()
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
