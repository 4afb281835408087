"""One model, one job at a time, from asyncio code (the REST service, a Serve replica).

The model is not thread-safe, so every piece of model work runs on a single worker thread, in
the order it was submitted. How many jobs may wait is not decided here: every job is admitted
first (`inference.admission`, which bounds them globally and per client), so this line never
holds more than the admission's capacity.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from artimuse.config import MODEL_FAILED_AFTER
from artimuse.errors import ArtiMuseError

T = TypeVar("T")
_END = object()  # marks the end of a stream in the hand-over queue


class WorkQueue:
    def __init__(self, failed_after: int = MODEL_FAILED_AFTER):
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="artimuse-model")
        self.failed_after = failed_after
        self._failures_in_a_row, self._last_failure = 0, ""

    @property
    def failure(self) -> str | None:
        """Why the model looks broken (`failed_after` jobs in a row failed with an internal
        error, e.g. a CUDA error that sticks), else None; a job that succeeds clears it."""
        if self._failures_in_a_row < self.failed_after:
            return None
        count = self._failures_in_a_row
        return f"{count} model jobs in a row failed; the last: {self._last_failure}"

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
        return self._executor.submit(self._timed, job)

    def _timed(self, job: Callable[[], T]) -> T:
        """`job()`; the one place every model job passes (benchmarks time it here)."""
        try:
            result = job()
        except ArtiMuseError:  # the input's fault (a bad image): says nothing about the model
            raise
        except Exception as error:
            self._failures_in_a_row += 1
            self._last_failure = f"{type(error).__name__}: {error}"[:300]
            raise
        self._failures_in_a_row = 0
        return result

    def shutdown(self) -> None:
        """Drop waiting jobs, let the running one finish in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)
