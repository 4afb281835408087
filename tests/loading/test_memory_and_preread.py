"""Before loading: will the weights fit (loading/memory.py). While loading: the weights read,
with progress (loading/preread.py)."""

from __future__ import annotations

from functools import partial

import pytest
import torch

import artimuse
from artimuse import api
from artimuse.errors import CheckpointError, InputError
from artimuse.loading.memory import GB, MemoryFit, needed_bytes, too_large_message
from artimuse.testing.checkpoints import PRESETS, CheckpointSpec, make_checkpoint, weight_shapes
from tests.helpers import TINY_A

CPU = torch.device("cpu")


def test_the_8b_estimates_match_the_released_shape_and_the_quant_goals():
    """The quantization step's own answer (api.stored_as) on the 8b preset's tensors."""
    tensors = [(k, ("BF16", s)) for k, s in weight_shapes(PRESETS["8b"]).items()]
    stored_as = partial(api.stored_as, device=CPU)
    bf16, int8, int4 = (
        needed_bytes(tensors, torch.bfloat16, q, stored_as) for q in ("none", "int8", "int4")
    )
    assert 16.5 * GB < bf16 < 17.5 * GB  # 15.9 GB of weights + the runtime's share
    assert 9.0 * GB < int8 < 10.5 * GB and 5.5 * GB < int4 < 6.5 * GB  # the modes' goals
    gpu = partial(api.stored_as, device=torch.device("cuda"))  # bitsandbytes: the decoder only
    assert int8 < needed_bytes(tensors, torch.bfloat16, "int8", gpu) < bf16


def test_the_message_gives_the_numbers_and_the_modes_that_fit():
    fit = MemoryFit(17.4 * GB, 12.2 * GB, "MemAvailable",
                    {"none": 17.4 * GB, "int8": 9.6 * GB, "int4": 5.9 * GB})
    text = too_large_message(fit, "none", CPU)
    assert "need ~17 GB, 12 GB of memory available (MemAvailable)" in text
    assert "use --quant int8 (9.6 GB) or int4 (5.9 GB)" in text
    tight = MemoryFit(17.4 * GB, 7.0 * GB, "MemAvailable", fit.by_mode)
    assert "use --quant int4 (5.9 GB)" in too_large_message(tight, "none", CPU)
    none_fits = too_large_message(MemoryFit(9.6 * GB, 4 * GB, "x", fit.by_mode), "int8", CPU)
    assert "no smaller mode fits either (int4 ~5.9 GB)" in none_fits


def test_load_refuses_before_reading_when_the_budget_is_too_small(monkeypatch):
    monkeypatch.setenv("ARTIMUSE_MEMORY_GB", "0.2")
    with pytest.raises(CheckpointError, match=r"need ~0.5 GB, 0.2 GB of memory available "
                                              r"\(ARTIMUSE_MEMORY_GB\)"):
        artimuse.load(str(TINY_A), device="cpu", dtype="float32")
    monkeypatch.setenv("ARTIMUSE_MEMORY_GB", "off")
    assert artimuse.load(str(TINY_A), device="cpu", dtype="float32").score is not None


@pytest.mark.parametrize("value", ["abc", "-1", "inf", "nan"])
def test_a_bad_memory_figure_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("ARTIMUSE_MEMORY_GB", value)
    with pytest.raises(InputError, match="ARTIMUSE_MEMORY_GB"):
        artimuse.load(str(TINY_A), device="cpu", dtype="float32")


def test_mapped_weights_are_read_while_loading_with_progress(tmp_path):
    """float32 weights loaded as float32 stay in the mapped file: all but the embeddings are
    read, and the progress records climb to their total."""
    ckpt = make_checkpoint(tmp_path / "f32", CheckpointSpec(dtype="float32", shards=2))
    records = []
    model = artimuse.load(str(ckpt), device="cpu", dtype="float32", progress=records.append)
    net = model.engine.model
    embedding = net.language_model.get_input_embeddings().weight.nbytes
    weights = sum(p.nbytes for p in net.parameters())
    total = records[-1].total_bytes
    assert weights - embedding <= total <= weights - embedding + 4096 * len(records) * 2
    assert [r.done_bytes for r in records] == sorted(r.done_bytes for r in records)
    assert records[-1].done_bytes == total and records[-1].fraction == 1.0
    assert "reading weights: 100% of" in records[-1].describe()


def test_no_reading_when_switched_off(tmp_path, monkeypatch):
    ckpt = make_checkpoint(tmp_path / "f32", CheckpointSpec(dtype="float32"))
    records = []
    artimuse.load(str(ckpt), device="cpu", dtype="float32", progress=records.append,
                  preread=False)
    monkeypatch.setenv("ARTIMUSE_PREREAD", "0")
    artimuse.load(str(ckpt), device="cpu", dtype="float32", progress=records.append)
    assert records == []


def test_the_rest_service_says_ready_once_the_weights_are_read(caplog):
    from fastapi.testclient import TestClient

    from artimuse.config import ServiceSettings, Settings
    from artimuse.rest.app import create_app

    model = Settings(ckpt=str(TINY_A), device="cpu", dtype="float32")
    caplog.set_level("INFO")
    with TestClient(create_app(None, ServiceSettings(model=model))) as client:
        assert client.get("/health").status_code == 200
    lines = [r.getMessage() for r in caplog.records]
    read = next(i for i, line in enumerate(lines) if line.startswith("weights read"))
    ready = next(i for i, line in enumerate(lines) if line.startswith("ready: "))
    assert read < ready


def test_the_rest_service_refuses_to_start_in_one_line_when_the_weights_cannot_fit(
    monkeypatch, capsys
):
    import socket

    from artimuse.rest.app import main

    with socket.socket() as s:  # a free port, so that only the memory check can refuse
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ARTIMUSE_MEMORY_GB", "0.1")
    with pytest.raises(SystemExit) as stopped:
        main(["--ckpt", str(TINY_A), "--device", "cpu", "--host", "127.0.0.1",
              "--port", str(port)])
    assert stopped.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("artimuse api: error: the weights do not fit: they need")
