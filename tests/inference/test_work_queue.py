"""The model thread: jobs in order, and when internal failures in a row mark the model failed
(what a Serve replica's health check reports)."""

from __future__ import annotations

import asyncio

import pytest

from artimuse.errors import ImageError
from artimuse.inference.work_queue import WorkQueue


def test_failures_in_a_row_mark_the_model_failed_and_a_success_clears_it():
    async def scenario():
        queue = WorkQueue(failed_after=2)

        def broken():
            raise RuntimeError("CUDA error: an illegal memory access was encountered")

        def bad_image():
            raise ImageError("the upload is truncated", kind="corrupt")

        for _ in range(3):  # the client's fault: never the model's
            with pytest.raises(ImageError):
                await queue.run(bad_image)
        assert queue.failure is None
        with pytest.raises(RuntimeError):
            await queue.run(broken)
        assert queue.failure is None  # one failure is one bad job
        with pytest.raises(RuntimeError):
            await queue.run(broken)
        assert "2 model jobs in a row failed" in queue.failure and "CUDA error" in queue.failure
        assert await queue.run(lambda: "fine") == "fine"
        assert queue.failure is None
        queue.shutdown()

    asyncio.run(scenario())
