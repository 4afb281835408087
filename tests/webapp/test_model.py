"""The model holder (load, switch, keep the working model), the status pill in words, the
result cache, run tickets and the checkpoint list: no browser, no real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from artimuse.config import Settings
from artimuse.errors import CheckpointError
from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint
from tests.webapp.helpers import GRAY, FakeModel, plain

pytest.importorskip("gradio")

from artimuse.webapp.app import WebApp, build_app, comment_lengths  # noqa: E402
from artimuse.webapp.common import Shared  # noqa: E402
from artimuse.webapp.state import (  # noqa: E402
    FAILED,
    READY,
    ModelHolder,
    ModelStatus,
    ResultCache,
    RunTickets,
    check_checkpoint,
    download_hint,
    list_checkpoints,
)
from artimuse.webapp.views import status_html  # noqa: E402


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
    pill = plain(status_html(status))
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
    assert "Could not load checkpoints/b" in plain(status_html(status))
    assert "Still using a." in plain(status_html(status))


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
    web = WebApp(Shared(holder))
    status, timer = web.model_status()
    assert command in plain(status) and timer.active is False
    assert "no restart needed" in status and "Press Download below" in status
    [(card, *_)] = [out for out in web.assess.run(str(GRAY)) if "am-status" in str(out[0])]
    assert command in plain(card)
    chinese, _ = web.model_status("zh-CN")
    assert "没有模型权重" in chinese and command in plain(chinese)
    build_app(holder)  # the page still builds without a model


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
    holder = ModelHolder.with_model(FakeModel("a", []))
    [(note, _)] = list(WebApp(Shared(holder)).switch_checkpoint("  "))
    assert "Type or choose a checkpoint first" in note


def test_status_pill_is_in_words():
    ready = ModelStatus(READY, "ArtiMuse", "cpu · bfloat16", device="cpu")
    pill = plain(status_html(ready))
    assert "Ready: ArtiMuse, on the processor" in pill and "bfloat16" not in pill
    assert "在显卡上运行" in status_html(ModelStatus(READY, "x", device="cuda"), "zh-CN")


def test_comment_length_is_offered_in_words_up_to_the_cap():
    assert [tokens for _, tokens in comment_lengths(2048)] == [200, 600, 2048]
    assert [tokens for _, tokens in comment_lengths(12)] == [12]  # only "Full" below 200
    assert [label.key for label, _ in comment_lengths(2048)] == [
        "length.short",
        "length.medium",
        "length.full",
    ]


def test_cache_is_a_small_lru():
    cache = ResultCache(capacity=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("a") == 1 and len(cache) == 2


def test_tickets_are_per_session():
    tickets = RunTickets()
    assert tickets.issue("x") == 1 and tickets.issue("x") == 2 and tickets.issue("y") == 1
    assert tickets.current("x") == 2 and tickets.current(None) == 0


def test_checkpoint_list_has_the_current_one_first(tmp_path):
    for name in ("ArtiMuse", "ArtiMuse_AVA"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    found = list_checkpoints("Thunderbolt215215/ArtiMuse", tmp_path)
    assert found == ["Thunderbolt215215/ArtiMuse"] + [
        str(tmp_path / n) for n in ("ArtiMuse", "ArtiMuse_AVA")
    ]
