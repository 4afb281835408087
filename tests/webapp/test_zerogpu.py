"""The web app's model calls as ZeroGPU makes them: `spaces.GPU` pickles a GPU function's
arguments into a worker forked from the server (a holder's lock or a model cannot go) and
pickles what it returns or yields back. A stand-in `spaces.GPU` does the same pickling; every
tab and both API endpoints run through it."""

from __future__ import annotations

import inspect
import pickle
import threading

import pytest

from tests.webapp.helpers import GRADIENT, GRAY, SHAPES, TOKENS, visitor

pytest.importorskip("gradio")

from artimuse.webapp import zerogpu  # noqa: E402
from artimuse.webapp.assess import Assess  # noqa: E402
from artimuse.webapp.batch import Batch  # noqa: E402
from artimuse.webapp.compare import Compare  # noqa: E402
from artimuse.webapp.endpoints import Endpoints  # noqa: E402
from tests.webapp.test_assess import PROGRESS, make_shared  # noqa: E402


def across(value):
    """What arrives on the other side of ZeroGPU's process boundary."""
    return pickle.loads(pickle.dumps(value))


class PicklingSpaces:
    """`spaces` on ZeroGPU, as far as the arguments and results go; `seconds` records what
    each call asked for."""

    def __init__(self):
        self.seconds: list[int] = []

    def GPU(self, duration):  # noqa: N802 - spaces' own name
        def decorate(task):
            def call(*args):
                self.seconds.append(duration(*args))
                return task(*across(args))

            def stream(*args):
                self.seconds.append(duration(*args))
                for value in task(*across(args)):
                    yield across(value)

            return stream if inspect.isgeneratorfunction(task) else lambda *a: across(call(*a))

        return decorate


@pytest.fixture()
def spaces(monkeypatch):
    fake = PicklingSpaces()
    monkeypatch.setattr(zerogpu, "spaces_module", lambda: fake)
    steps, scores = zerogpu.gpu_functions()
    monkeypatch.setattr(zerogpu, "model_steps", steps)
    monkeypatch.setattr(zerogpu, "model_scores", scores)
    return fake


def test_every_tab_and_endpoint_runs_through_a_pickling_gpu_call(spaces, tiny_model):
    shared = make_shared(tiny_model)
    *_, assessed = Assess(shared).run(str(GRADIENT), None, None, "en", visitor())
    assert assessed[PROGRESS].startswith("Done in")
    *_, compared = Compare(shared).run([str(GRAY), str(SHAPES)], True, None, "en", visitor())
    assert compared[4].count("### ") == 2  # each picture's Comprehensive Evaluation
    *_, batch = Batch(shared).run([str(GRAY), str(SHAPES)], True, None, "en", visitor())
    assert len(batch[0]["data"]) == 2 and batch[2]["value"] is not None
    api = Endpoints(shared)
    answer = api.assess({"path": str(GRAY)}, ["Overall Gestalt"], None, visitor())
    assert answer == api.assess({"path": str(GRAY)}, ["Overall Gestalt"], None, None)  # in-process
    assert api.score({"path": str(GRAY)}, visitor())["total_score"] == pytest.approx(
        tiny_model.score(GRAY).total, abs=1e-3
    )
    comments = zerogpu.comment_seconds(shared.max_new_tokens)
    assert set(spaces.seconds) == {comments, zerogpu.GPU_SCORES_S}  # asked per call


def test_a_forked_worker_never_waits_on_the_servers_lock(spaces, tiny_model, monkeypatch):
    """The worker's copy of the lock may be held by a server thread that was not forked."""
    shared = make_shared(tiny_model)
    monkeypatch.setattr(zerogpu, "_HOME", -1)  # as in a worker: another process
    held, release = threading.Event(), threading.Event()

    def hold():
        with shared.holder.lock:
            held.set()
            release.wait(60)

    holder_thread = threading.Thread(target=hold, daemon=True)
    holder_thread.start()
    held.wait(10)
    try:
        events = list(shared.steps(GRAY, ["Overall Gestalt"], TOKENS))
        (scores,) = shared.scores([GRAY])
    finally:
        release.set()
        holder_thread.join(10)
    assert events[-1].assessment.scores.total == pytest.approx(scores.total, abs=1e-4)


def test_gpu_seconds_follow_the_comment_length_within_zerogpus_limit():
    assert zerogpu.GPU_START_S < zerogpu.comment_seconds(64) < zerogpu.comment_seconds(1024)
    assert zerogpu.comment_seconds(100_000) == zerogpu.GPU_MAX_S
    assert zerogpu.comment_seconds(None) == zerogpu.comment_seconds(zerogpu.DEFAULT_MAX_NEW_TOKENS)


def test_the_holder_is_not_what_crosses(tiny_model):
    """Why the GPU functions take a key: the holder itself cannot be pickled."""
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(make_shared(tiny_model).holder)
