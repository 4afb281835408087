"""The other side of the stranger's suite: a local user at the loopback address (no public
mode) keeps the operator's controls. Over HTTP only, against `demo_gradio.py` in folders of its
own: the checkpoint switcher swaps the model, and the first-run download fetches the checkpoint
from the hub (a local stand-in)."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")

from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint  # noqa: E402
from artimuse.testing.hub_server import HubServer  # noqa: E402
from artimuse.testing.stranger import (  # noqa: E402
    GradioPeer,
    WebAppProcess,
    components,
    files_under,
    legit_arguments,
    picture,
    ready_score,
    ui_dependencies,
    wait_for,
)
from tests.helpers import TINY_A  # noqa: E402

HUB_REPO = "Thunderbolt215215/ArtiMuse"
MISSING = "ArtiMuse_AVA"  # a released checkpoint the local user has not got yet


@pytest.fixture(scope="module")
def local(tmp_path_factory, hub_checkpoint):
    root = tmp_path_factory.mktemp("local-user")
    ckpt = root / "checkpoint" / "tiny-a"
    shutil.copytree(TINY_A, ckpt)
    repos = dict.fromkeys((HUB_REPO, f"Thunderbolt215215/{MISSING}"), hub_checkpoint)
    with HubServer(repos) as hub:
        env = {
            "ARTIMUSE_PUBLIC": None,
            "SPACE_ID": None,
            "ARTIMUSE_ADMIN_PASSWORD": None,
            "ARTIMUSE_CKPT": str(ckpt),
            "ARTIMUSE_DEVICE": "cpu",
            "ARTIMUSE_DTYPE": "float32",
            "ARTIMUSE_MAX_NEW_TOKENS": "8",
            "ARTIMUSE_AUTO_DOWNLOAD": "0",
            "HF_ENDPOINT": hub.url,
        }
        with WebAppProcess(root / "app", env) as app:
            app.hub, app.ckpt = hub, ckpt
            app.peer = GradioPeer(app.url)
            yield app
            app.peer.close()


def clicked(config: dict, elem_id: str) -> list[int]:
    """The click events that take the component `elem_id`."""
    return [
        i for i in ui_dependencies(config, elem_id)
        if any(target[1] == "click" for target in config["dependencies"][i]["targets"])
    ]


def with_value(config: dict, index: int, elem_id: str, value) -> list:
    """The page's own arguments for event `index`, with `value` for the component `elem_id`."""
    by_id = components(config)
    data = legit_arguments(config, index, [None])
    for n, i in enumerate(config["dependencies"][index]["inputs"]):
        if by_id[i]["props"].get("elem_id") == elem_id:
            data[n] = value
    return data


def test_the_local_user_switches_the_checkpoint(local, tmp_path):
    before = wait_for(lambda: ready_score(local, picture(42)), 120, local)
    other = make_checkpoint(tmp_path / "other", CheckpointSpec(seed=11))
    config = local.peer.config()
    events = clicked(config, "checkpoint")
    assert events, "no click event takes the checkpoint"
    outcome = local.peer.join(events[0], with_value(config, events[0], "checkpoint", str(other)))
    assert outcome.success, outcome.error
    after = wait_for(lambda: (s := ready_score(local, picture(42))) != before and s, 120, local)
    assert after["total_score"] != before["total_score"]  # another model answers now


def test_the_local_user_downloads_the_checkpoint(local, hub_checkpoint):
    config = local.peer.config()
    events = clicked(config, "download-choice")
    assert events, "no click event takes the download choice"
    choices = components(config)
    choice = next(
        c for c in choices.values() if c["props"].get("elem_id") == "download-choice"
    )["props"]["choices"]
    name = next(value for _, value in choice if value == MISSING)
    outcome = local.peer.join(events[0], with_value(config, events[0], "download-choice", name))
    assert outcome.success, outcome.error
    shards = {p.name for p in hub_checkpoint.glob("*.safetensors")}

    def downloaded() -> bool:  # anywhere the app may put it: its folders or the checkpoint's
        names = {path.rsplit("/", 1)[-1] for path in files_under(local.root.parent)}
        return shards <= names

    wait_for(downloaded, 120, local)
    assert any("/resolve/" in r.path for r in local.hub.requests)
