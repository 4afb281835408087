"""The checkpoint on every node: a shared folder as it is, a hub id fetched once per node."""

from __future__ import annotations

import threading
import time

import pytest

from artimuse.distributed.cluster import checkpoint_for_workers, resolve_on_node
from tests.conftest import HUB_REPO
from tests.helpers import TINY_A


def test_a_local_folder_is_sent_absolute_and_checked_here(tmp_path, monkeypatch):
    monkeypatch.chdir(TINY_A.parent)
    assert checkpoint_for_workers("tiny-a") == str(TINY_A.resolve())
    (tmp_path / "config.json").write_text((TINY_A / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="no weights in"):
        checkpoint_for_workers(str(tmp_path))  # here, not in every worker
    with pytest.raises(FileNotFoundError, match="checkpoint directory not found"):
        checkpoint_for_workers(str(tmp_path / "nowhere" / "ckpt"))
    assert checkpoint_for_workers("someone/ArtiMuse_AVA") == "hf-hub:someone/ArtiMuse_AVA"


def test_actors_that_ask_at_once_fetch_each_file_once(hub, hub_checkpoint, monkeypatch):
    """Two actors of a node resolve the same hub id at once: huggingface_hub's own file locks
    make the second wait for the files the first is fetching, and no body is sent twice."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", hub.url)  # what HF_ENDPOINT sets at import
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    held = "model-00002-of-00002.safetensors"
    hub.hold.add(held)
    found = {}

    def actor(name: str) -> None:
        found[name] = resolve_on_node(f"hf-hub:{HUB_REPO}")

    first = threading.Thread(target=actor, args=("first",))
    first.start()
    assert hub.halfway.wait(60)
    second = threading.Thread(target=actor, args=("second",))
    second.start()
    deadline = time.monotonic() + 60  # the second has asked for the held file's headers
    while _heads(hub, held) < 4 and time.monotonic() < deadline:
        second.join(0.05)
    hub.release()
    first.join(60), second.join(60)
    assert found["first"] == found["second"] and (found["first"] / held).is_file()
    bodies = [r.path for r in hub.requests if r.method == "GET" and "/resolve/" in r.path]
    assert sorted(bodies) == sorted(set(bodies))  # each file's body once
    assert len(bodies) == len([p for p in hub_checkpoint.iterdir() if p.is_file()])


def _heads(hub, name: str) -> int:
    return sum(1 for r in list(hub.requests) if r.method == "HEAD" and r.path.endswith(name))
