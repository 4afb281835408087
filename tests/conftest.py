"""Shared fixtures: the conformance checkpoint `tiny-a` and a model loaded from it once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import TINY_A


@pytest.fixture(scope="session")
def tiny_a() -> Path:
    return TINY_A


@pytest.fixture(scope="session")
def tiny_model():
    """tiny-a in float32 on the CPU, comments capped at 12 tokens (as the fixtures were made)."""
    import artimuse

    return artimuse.load(str(TINY_A), device="cpu", dtype="float32", max_new_tokens=12)


# --- a local stand-in for the model hub (artimuse/testing/hub_server.py) ----------------------

HUB_REPO = "Thunderbolt215215/ArtiMuse"


@pytest.fixture(scope="session")
def hub_checkpoint(tmp_path_factory) -> Path:
    """A tiny random checkpoint in two shards: what the stand-in serves as ArtiMuse."""
    from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint

    return make_checkpoint(tmp_path_factory.mktemp("hub") / "ArtiMuse", CheckpointSpec(shards=2))


@pytest.fixture()
def hub(hub_checkpoint):
    """The stand-in, serving `hub_checkpoint` as Thunderbolt215215/ArtiMuse on 127.0.0.1."""
    from artimuse.testing.hub_server import HubServer

    with HubServer({HUB_REPO: hub_checkpoint}) as server:
        yield server


@pytest.fixture(autouse=True)
def hub_caches(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets empty hub caches of its own (Hugging Face and ModelScope), also for the
    subprocesses it starts: no test reads or fills the user's ~/.cache."""
    root = tmp_path_factory.mktemp("caches")
    monkeypatch.setenv("HF_HUB_CACHE", str(root / "hf"))
    monkeypatch.setenv("MODELSCOPE_CACHE", str(root / "modelscope"))
    modules = __import__("sys").modules
    if "huggingface_hub" in modules:  # read once, at its import
        from huggingface_hub import constants

        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(root / "hf"))
    if "modelscope_hub.config" in modules:  # read once, at the client's first call
        monkeypatch.setattr(modules["modelscope_hub.config"], "_default_config", None)
    return root
