"""One model, one job at a time, a bounded line of waiting requests (REST service).

The model is not thread-safe, so every piece of model work runs on a single worker thread.
A request takes a slot when it is admitted and gives it back when its job ends; when all
`capacity` slots are taken the request is refused at once (`QueueFull`, HTTP 503) instead of
waiting without bound. Streams hold their slot until the last event has been produced.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from artimuse.errors import InputError

log = logging.getLogger(__name__)
T = TypeVar("T")
_END = object()  # marks the end of a stream in the hand-over queue


class QueueFull(RuntimeError):
    """Every slot is taken; `retry_after` is a guess, in whole seconds, of when one frees."""

    def __init__(self, capacity: int, retry_after: int):
        super().__init__(f"the server is busy ({capacity} requests admitted); retry later")
        self.retry_after = retry_after


class WorkQueue:
    def __init__(self, capacity: int):
        if capacity < 1:
            raise InputError(f"the queue size must be >= 1, got {capacity}")
        self.capacity = capacity
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="artimuse-model")
        self._slots = threading.BoundedSemaphore(capacity)
        self._pending = 0
        self._lock = threading.Lock()
        self._mean_seconds = 1.0  # running mean of job durations, for Retry-After

    @property
    def pending(self) -> int:
        """Jobs admitted and not finished (running + waiting)."""
        return self._pending

    def retry_after(self) -> int:
        """Seconds until a slot is likely to free: about one job, between 1 s and 1 min."""
        return min(60, max(1, math.ceil(self._mean_seconds)))

    async def run(self, job: Callable[[], T]) -> T:
        """Run `job()` on the model thread and return its result (or raise its exception).

        If the caller goes away while the job still waits its turn, the job is dropped.
        """
        future = self._submit(job)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    async def stream(self, events: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """Iterate `events()` on the model thread and hand each item over as it comes.

        Closing the returned iterator (a client that hung up) stops the producer at its next
        item and closes its generator, which stops the model's work.
        """
        loop = asyncio.get_running_loop()
        handover: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def put(item) -> None:
            loop.call_soon_threadsafe(handover.put_nowait, item)

        def produce() -> None:
            iterator = None
            try:
                iterator = events()
                for item in iterator:
                    if stop.is_set():
                        break
                    put(item)
            except BaseException as error:  # handed to the consumer, raised there
                put(error)
            finally:
                getattr(iterator, "close", lambda: None)()
                put(_END)

        future = self._submit(produce)
        try:
            while (item := await handover.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            future.cancel()  # only succeeds while it still waits its turn

    def _submit(self, job: Callable[[], T]) -> Future:
        if not self._slots.acquire(blocking=False):
            raise QueueFull(self.capacity, self.retry_after())
        with self._lock:
            self._pending += 1
        try:
            future = self._executor.submit(self._timed, job)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        return future

    def _timed(self, job: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return job()
        finally:
            elapsed = time.perf_counter() - started
            self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * elapsed

    def _release(self, _future: Future | None) -> None:
        with self._lock:
            self._pending -= 1
        self._slots.release()

    def shutdown(self) -> None:
        """Drop waiting jobs, let the running one finish in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)
