"""Batching across requests: one engine call for the score passes that wait together, each
request getting exactly its own result."""

from __future__ import annotations

import threading

import pytest
import torch

from artimuse.inference.batcher import ScoreBatcher
from tests.helpers import CONFORMANCE_IMAGES


def test_batched_scores_equal_single_ones(tiny_model):
    """float32: a batch of three images gives each the scores `score` gives it alone."""
    images = list(CONFORMANCE_IMAGES.values())
    batcher = ScoreBatcher(tiny_model.score_prepared, max_batch=3, max_wait=0.02)
    tickets = [batcher.submit(tiny_model.prepare(image)) for image in images]
    batched = [batcher.result(t) for t in reversed(tickets)][::-1]
    assert list(batcher.recent_sizes) == [3]  # the first `result` ran all three at once
    for image, scores in zip(images, batched):
        alone = tiny_model.score(image)
        assert scores.total == pytest.approx(alone.total, abs=1e-4)
        assert scores.aspects.keys() == alone.aspects.keys()
        for aspect, value in alone.aspects.items():
            assert scores.aspects[aspect] == pytest.approx(value, abs=1e-4)
        assert torch.allclose(
            torch.tensor(scores.distribution), torch.tensor(alone.distribution), atol=1e-6
        )
    assert len({s.total for s in batched}) == 3  # three different images, three answers


def tagging_batch(sizes: list[int]):
    """A stand-in engine call: each request's result is its own input (a number)."""

    def run(images):
        sizes.append(len(images))
        return [f"scores of {p}" for p in images]

    return run


def test_concurrent_requests_run_as_one_batch_each_getting_its_own():
    sizes: list[int] = []
    model_lock = threading.Lock()
    batcher = ScoreBatcher(tagging_batch(sizes), max_batch=6, max_wait=0.02, lock=model_lock)
    submitted = threading.Semaphore(0)
    answers: dict[int, str] = {}

    def client(n: int) -> None:
        ticket = batcher.submit(n)
        submitted.release()
        answers[n] = batcher.result(ticket)

    with model_lock:  # the model is busy: every request arrives while it works
        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for _ in threads:
            submitted.acquire(timeout=10)
    for thread in threads:
        thread.join(10)
    assert sizes == [6]
    assert answers == {n: f"scores of {n}" for n in range(6)}


def test_a_batch_never_exceeds_max_batch_and_keeps_arrival_order():
    sizes: list[int] = []
    batcher = ScoreBatcher(tagging_batch(sizes), max_batch=2, max_wait=0.0)
    tickets = [batcher.submit(n) for n in range(5)]
    assert batcher.result(tickets[4]) == "scores of 4"
    assert sizes == [2, 2, 1]
    assert [batcher.result(t) for t in tickets] == [f"scores of {n}" for n in range(5)]


def test_a_failed_batch_fails_its_requests_only_and_an_item_error_its_own():
    calls = []

    def flaky(images):
        calls.append(list(images))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return [ValueError("a bad image") if p == 3 else f"ok {p}" for p in images]

    batcher = ScoreBatcher(flaky, max_batch=2, max_wait=0.0)
    first, second, third, fourth = (batcher.submit(n) for n in range(4))
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.result(first)
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.result(second)  # it was in the failed batch
    with pytest.raises(ValueError, match="a bad image"):
        batcher.result(fourth)  # an error in its place fails that request only
    assert batcher.result(third) == "ok 2"


def test_a_discarded_request_is_not_scored():
    sizes: list[int] = []
    batcher = ScoreBatcher(tagging_batch(sizes), max_batch=4, max_wait=0.0)
    gone, kept = batcher.submit("gone"), batcher.submit("kept")
    batcher.discard(gone)
    assert batcher.result(kept) == "scores of kept" and sizes == [1]


def test_the_wait_is_bounded():
    with pytest.raises(ValueError, match="0..20 ms"):
        ScoreBatcher(tagging_batch([]), max_wait=0.05)
