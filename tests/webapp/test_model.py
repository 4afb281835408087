"""The model holder (load, switch, keep the working model), the status line in words (names
for visitors, the failure and its fix for the operator), the per-session result cache and the
checkpoint list: no browser, no real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from artimuse.config import Settings
from artimuse.errors import CheckpointError
from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint
from tests.webapp.helpers import GRAY, FakeModel, local, plain, visitor

pytest.importorskip("gradio")

from artimuse.webapp.app import build_app  # noqa: E402
from artimuse.webapp.common import Shared  # noqa: E402
from artimuse.webapp.state import (  # noqa: E402
    FAILED,
    READY,
    ModelHolder,
    ModelStatus,
    ResultCache,
    check_checkpoint,
    download_hint,
    list_checkpoints,
)
from artimuse.webapp.views import status_markdown  # noqa: E402


def fake_holder(events: list, broken: set = frozenset(), check=None) -> ModelHolder:
    def loader(ckpt):
        events.append(f"load {ckpt}")
        if ckpt in broken:
            raise CheckpointError(f"{ckpt}/model.safetensors is corrupt")
        return FakeModel(Path(ckpt).name, events)

    return ModelHolder(Settings(ckpt="checkpoints/a"), loader=loader, check=check)


def test_switching_checkpoints_frees_the_old_model_first():
    events = []
    holder = fake_holder(events)
    holder.start_loading().join()
    assert holder.status.state == READY and holder.model.name == "a"
    assert holder.load("checkpoints/b").state == READY
    assert events == ["load checkpoints/a", "unload a", "load checkpoints/b"]


def test_a_typo_keeps_the_working_model_and_names_the_typed_path(tmp_path):
    events = []
    holder = fake_holder(events, check=check_checkpoint)
    holder._set_ready(FakeModel("a", events), "checkpoints/a")
    typed = str(tmp_path / "ArtiMsue")  # a typo: nothing there
    status = holder.load(typed)
    assert status.state == READY and holder.model.name == "a" and events == []  # not unloaded
    assert status.rejected.ckpt == typed and status.rejected.missing
    assert status.rejected.download == ""  # not a released name: no download into a typo
    pill = plain(status_markdown(status, operator=True))
    assert f"No checkpoint at {typed}" in pill and "Still using a" in pill
    assert "restart" not in pill and "checkpoints/" not in pill


def test_a_checkpoint_that_fails_to_load_brings_the_working_one_back(tmp_path):
    events = []
    holder = fake_holder(events, broken={"checkpoints/b"}, check=lambda ckpt: None)
    holder.start_loading().join()
    status = holder.load("checkpoints/b")
    assert events == ["load checkpoints/a", "unload a", "load checkpoints/b", "load checkpoints/a"]
    assert status.state == READY and status.ckpt == "a" and holder.model.name == "a"
    assert "corrupt" in status.rejected.detail
    assert "Could not load checkpoints/b" in plain(status_markdown(status, operator=True))
    assert "Still using a." in plain(status_markdown(status, operator=True))


def test_the_check_passes_a_real_checkpoint_and_names_what_is_missing(tmp_path):
    good = make_checkpoint(tmp_path / "good", CheckpointSpec())
    check_checkpoint(str(good))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        check_checkpoint(str(tmp_path / "empty"))


def test_missing_checkpoint_page_gives_the_download_command_for_the_typed_path(tmp_path):
    missing = str(tmp_path / "ArtiMuse_AVA")
    holder = ModelHolder(Settings(ckpt=missing))
    holder.start_loading().join()
    assert holder.status.state == FAILED and holder.status.missing
    command = (
        f"artimuse download ArtiMuse_AVA --dir {missing} "
        f"(or: hf download Thunderbolt215215/ArtiMuse_AVA --local-dir {missing})"
    )
    assert holder.status.download == command
    web = build_app(holder).artimuse  # the page still builds without a model
    assert command in web.status("en", local())  # the operator sees the path and the fix
    assert "没有模型权重" in web.status("zh-CN", local())
    shown = web.status("en", visitor())  # a visitor: the name, never the server's path
    assert "ArtiMuse\\_AVA" in shown and str(tmp_path) not in shown and "download" not in shown
    web.shared.upload_roots = (GRAY.parent,)
    *_, only = web.assess.run(str(GRAY), None, None, "en", visitor())
    assert "is not available right now" in only[0] and str(tmp_path) not in only[0]


def test_the_download_hint_puts_the_weights_where_they_are_looked_for():
    default = "artimuse download ArtiMuse (or: hf download Thunderbolt215215/ArtiMuse "
    assert download_hint("checkpoints/ArtiMuse") == default + "--local-dir checkpoints/ArtiMuse)"
    hub = download_hint("Thunderbolt215215/ArtiMuse_PARA")  # a hub id is kept in checkpoints/
    assert hub.endswith("--local-dir checkpoints/ArtiMuse_PARA)") and "--dir" not in hub
    assert download_hint("/data/ArtiMuse_TAD66K").startswith(
        "artimuse download ArtiMuse_TAD66K --dir /data/ArtiMuse_TAD66K"
    )
    assert download_hint("checkpoints/ArtiMsue") == ""  # a typo: nothing to download


def test_load_with_nothing_typed_says_so():
    web = build_app(ModelHolder.with_model(FakeModel("a", []))).artimuse
    [note] = list(web.operator.switch_checkpoint("  ", None, "en", local()))
    assert "Type or choose a checkpoint first" in note


def test_status_line_is_in_words():
    ready = ModelStatus(READY, "ArtiMuse", "cpu · bfloat16", device="cpu")
    line = status_markdown(ready)
    assert "Ready: **ArtiMuse**, on the CPU (comments are slow)" in line and "bfloat16" not in line
    assert "在显卡上运行" in status_markdown(ModelStatus(READY, "x", device="cuda"), "zh-CN")


def test_comment_lengths_on_offer_go_up_to_the_cap():
    assert Shared(ModelHolder(Settings(max_new_tokens=2048))).comment_lengths() == [200, 600, 2048]
    assert Shared(ModelHolder(Settings(max_new_tokens=12))).comment_lengths() == [12]


def test_cache_is_a_small_lru_of_sessions():
    cache = ResultCache(capacity=2)
    cache.put(("s1", "a"), 1)
    cache.put(("s1", "b"), 2)
    assert cache.get(("s1", "a")) == 1
    cache.put(("s2", "c"), 3)  # evicts b, the least recently used
    assert cache.get(("s1", "b")) is None and cache.get(("s1", "a")) == 1 and len(cache) == 2
    cache.drop_session("s1")  # the page closed
    assert len(cache) == 1 and cache.get(("s2", "c")) == 3


def test_checkpoint_list_names_them_and_keeps_the_paths(tmp_path):
    for name in ("ArtiMuse", "ArtiMuse_AVA"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    found = list_checkpoints("Thunderbolt215215/ArtiMuse", tmp_path)
    assert found == {
        "ArtiMuse": "Thunderbolt215215/ArtiMuse",
        "ArtiMuse_AVA": str(tmp_path / "ArtiMuse_AVA"),
    }
