"""The checkpoint on every node: a shared folder as it is, a hub id downloaded once per node."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from artimuse.distributed.cluster import checkpoint_for_workers, resolve_on_node
from tests.helpers import TINY_A


def test_a_local_folder_is_sent_absolute_and_checked_here(tmp_path, monkeypatch):
    monkeypatch.chdir(TINY_A.parent)
    assert checkpoint_for_workers("tiny-a") == str(TINY_A.resolve())
    (tmp_path / "config.json").write_text((TINY_A / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="no weights in"):
        checkpoint_for_workers(str(tmp_path))  # here, not in every worker
    with pytest.raises(FileNotFoundError, match="checkpoint directory not found"):
        checkpoint_for_workers(str(tmp_path / "nowhere" / "ckpt"))
    assert checkpoint_for_workers("someone/ArtiMuse_AVA") == "someone/ArtiMuse_AVA"  # a hub id


def test_a_hub_id_is_downloaded_once_and_the_others_wait_for_it(tmp_path, monkeypatch):
    from artimuse.loading import hub

    downloads, first_started, go = [], threading.Event(), threading.Event()

    class FakeDownload:
        """Writes config.json first, as a real download leaves a half-done folder."""

        def __init__(self, repo, target):
            self.repo, self.target = repo, Path(target)

        def run(self) -> Path:
            downloads.append(self.repo)
            self.target.mkdir(parents=True)
            shutil.copy(TINY_A / "config.json", self.target)
            first_started.set()
            go.wait(30)
            for file in (f for f in TINY_A.iterdir() if f.is_file()):
                shutil.copy(file, self.target)
            return self.target

    monkeypatch.setattr(hub, "HubDownload", FakeDownload)
    root, found = tmp_path / "checkpoints", {}

    def actor(name: str) -> None:
        path = resolve_on_node("someone/ArtiMuse_X", str(root))
        found[name] = (path, (path / "model.safetensors").is_file())

    first = threading.Thread(target=actor, args=("first",))
    first.start()
    assert first_started.wait(30)
    second = threading.Thread(target=actor, args=("second",))
    second.start()
    second.join(1.0)  # without the lock it starts a second download now
    go.set()
    first.join(30), second.join(30)
    assert downloads == ["someone/ArtiMuse_X"]
    assert found["first"] == found["second"] == (root / "ArtiMuse_X", True)
