"""Batching across requests: the score passes of requests that wait at the same time run as one
engine call (one vision pass and one prefix prefill over the batch, then the score rows).

A request `submit`s its prepared image (cheap, any thread) and later asks for its `result`.
Whoever asks first becomes the leader: it takes the model lock, waits at most `max_wait` seconds
for more requests to arrive (never when `max_batch` are already waiting), runs the oldest
`max_batch` as one batch and hands every request its own result. Requests whose result another
leader computed return at once. The REST service asks on its one model thread, the web app from
gradio's worker threads, a Serve replica as the REST service (in place of `@serve.batch`, so
one batcher with one set of constants, `config.SCORE_BATCH_MAX` / `SCORE_BATCH_WAIT_S`, serves
every front end, and `/score/batch`'s files join the same batches as `/score` requests).

Batched scores equal single ones to float rounding (~1e-5 in float32): the batch's matmuls add
up the same products in another order, nothing else differs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from artimuse.config import SCORE_BATCH_MAX, SCORE_BATCH_WAIT_S
from artimuse.errors import InputError

if TYPE_CHECKING:  # for the type hints only
    from artimuse.images import PreparedImage
    from artimuse.results import Scores

RECENT_BATCHES = 256  # sizes of the last batches kept, for benchmarks and tests
RunBatch = Callable[[Sequence["PreparedImage"]], list["Scores | Exception"]]


class Ticket:
    """One request's place in the batcher: its image, then its scores or its error."""

    __slots__ = ("image", "done", "scores", "error")

    def __init__(self, image: PreparedImage):
        self.image = image
        self.done = threading.Event()
        self.scores: Scores | None = None
        self.error: BaseException | None = None


@dataclass(frozen=True)
class BatchStats:
    batches: int  # run since start
    requests: int  # scored in them
    largest: int


class ScoreBatcher:
    """Thread-safe: `submit` from anywhere, `result` from any thread allowed to use the model.

    `run_batch(prepared images) -> their Scores (or an error in an image's place)` is the one
    engine call (`ArtiMuse.score_prepared`);
    `lock` guards the model (the web app shares its holder's lock with its comment streams).
    """

    def __init__(
        self,
        run_batch: RunBatch,
        max_batch: int = SCORE_BATCH_MAX,
        max_wait: float = SCORE_BATCH_WAIT_S,
        lock: AbstractContextManager | None = None,
    ):
        if max_batch < 1 or not 0 <= max_wait <= 0.020:
            raise InputError("a score batch holds >= 1 request and waits 0..20 ms")
        self.run_batch, self.max_batch, self.max_wait = run_batch, max_batch, max_wait
        self._lock = lock if lock is not None else threading.Lock()
        self._pending: deque[Ticket] = deque()
        self._arrived = threading.Condition()
        self.recent_sizes: deque[int] = deque(maxlen=RECENT_BATCHES)  # bounded
        self._batches = self._requests = self._largest = 0

    def submit(self, image: PreparedImage) -> Ticket:
        ticket = Ticket(image)
        with self._arrived:
            self._pending.append(ticket)
            self._arrived.notify_all()
        return ticket

    def submit_many(self, images: Sequence[PreparedImage]) -> list[Ticket]:
        """Several images at once, in order (a batch request): they join the same batches."""
        tickets = [Ticket(image) for image in images]
        with self._arrived:
            self._pending.extend(tickets)
            self._arrived.notify_all()
        return tickets

    def outcome(self, ticket: Ticket) -> Scores | Exception:
        """`result`, with an image's own failure returned in place of its scores."""
        try:
            return self.result(ticket)
        except Exception as error:
            return error

    def stats(self) -> BatchStats:
        with self._arrived:
            return BatchStats(self._batches, self._requests, self._largest)

    def discard(self, ticket: Ticket) -> None:
        """Forget a ticket whose requester went away (a no-op once it ran)."""
        with self._arrived:
            if ticket in self._pending:
                self._pending.remove(ticket)

    def result(self, ticket: Ticket) -> Scores:
        """The ticket's scores, running batches (its own among them) until it has them."""
        while not ticket.done.is_set():
            with self._lock:
                if ticket.done.is_set():
                    break
                batch = self._take_batch()
                if not batch:  # only a discarded ticket is neither done nor waiting
                    raise RuntimeError("this ticket was discarded")
                self._run(batch)
        if ticket.error is not None:
            raise ticket.error
        return ticket.scores

    def score(self, image: PreparedImage) -> Scores:
        """`submit` + `result`: the scores of one image, batched with whoever waits with it."""
        return self.result(self.submit(image))

    def _take_batch(self) -> list[Ticket]:
        deadline = time.monotonic() + self.max_wait
        with self._arrived:
            while len(self._pending) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0 or not self._arrived.wait(left):
                    break
            count = min(self.max_batch, len(self._pending))
            return [self._pending.popleft() for _ in range(count)]

    def _run(self, batch: list[Ticket]) -> None:
        with self._arrived:
            self.recent_sizes.append(len(batch))
            self._batches, self._requests = self._batches + 1, self._requests + len(batch)
            self._largest = max(self._largest, len(batch))
        try:
            results = self.run_batch([t.image for t in batch])
        except Exception as error:  # every request of the batch gets it, raised in its thread
            for ticket in batch:
                ticket.error = error
                ticket.done.set()
            return
        for ticket, scores in zip(batch, results, strict=True):
            if isinstance(scores, Exception):  # this image failed alone (ImageError, ItemFailed)
                ticket.error = scores
            else:
                ticket.scores = scores
            ticket.done.set()
