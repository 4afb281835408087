"""Admission: the global cap, the per-client cap, which refusal says what, bounded state."""

from __future__ import annotations

import threading

import pytest

from artimuse.errors import InputError
from artimuse.inference.admission import Admission, ClientBusy, QueueFull, Refused


def test_a_client_past_its_share_is_told_so_and_others_still_get_in():
    admission = Admission(capacity=4, per_client=2)
    held = [admission.admit("flood") for _ in range(2)]
    with pytest.raises(ClientBusy, match="you already have 2 jobs") as refused:
        admission.admit("flood")
    assert refused.value.status == 429 and refused.value.retry_after >= 1
    other = admission.admit("polite")
    assert (admission.pending, admission.held_by("flood"), admission.held_by("polite")) == (3, 2, 1)
    for ticket in [*held, other]:
        ticket.release()
    assert admission.pending == 0 and admission.stats().clients == 0


def test_the_global_cap_is_queue_full():
    admission = Admission(capacity=2, per_client=2)
    with admission.admit("a"), admission.admit("b"):
        with pytest.raises(QueueFull, match="queue is full") as refused:
            admission.admit("c")
        assert refused.value.status == 503 and isinstance(refused.value, Refused)
    with admission.admit("c"):  # released on leaving the block
        assert admission.pending == 1


def test_release_is_idempotent_and_statistics_are_counters():
    admission = Admission(capacity=1, per_client=1)
    ticket = admission.admit("a")
    ticket.release()
    ticket.release()  # a stream's end and its request's end may both release
    for _ in range(3):
        with pytest.raises(ClientBusy), admission.admit("a"):
            admission.admit("a")
    stats = admission.stats()
    assert (stats.pending, stats.admitted, stats.refused_client, stats.refused_full) == (0, 4, 3, 0)
    assert stats.clients == 0 and stats.mean_hold_s >= 0


def test_many_threads_never_pass_the_caps():
    admission, lock, peak = Admission(capacity=3, per_client=2), threading.Lock(), [0, 0]
    barrier = threading.Barrier(8)

    def work(client: str):
        barrier.wait()
        for _ in range(200):
            try:
                with admission.admit(client):
                    with lock:
                        peak[0] = max(peak[0], admission.pending)
                        peak[1] = max(peak[1], admission.held_by(client))
            except Refused:
                pass

    threads = [threading.Thread(target=work, args=(f"c{i % 3}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] <= 3 and peak[1] <= 2 and admission.pending == 0


def test_bad_caps_are_refused():
    with pytest.raises(InputError):
        Admission(capacity=0)
    assert Admission(capacity=2, per_client=5).per_client == 2  # never more than the whole
