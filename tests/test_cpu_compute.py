"""bf16 weights with float32 arithmetic: same numbers as bf16 kernels, no extra memory."""

from __future__ import annotations

import torch
from torch import nn

from artimuse import cpu_compute
from artimuse.cpu_compute import UpcastConv2d, UpcastLinear, upcast_big_matmuls


def test_cpu_flags_decide(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t: fpu sse avx2 fma\n")
    assert not cpu_compute.cpu_has_native_bf16(cpuinfo)
    cpuinfo.write_text("flags\t: fpu avx2 avx512f avx512_bf16\n")
    assert cpu_compute.cpu_has_native_bf16(cpuinfo)
    assert cpu_compute.cpu_has_native_bf16(tmp_path / "missing")


def test_upcast_layers_match_bf16_kernels(monkeypatch):
    monkeypatch.setattr(cpu_compute, "cpu_has_native_bf16", lambda: False)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 32, 2, 2), nn.Flatten(2), nn.Linear(16, 32)).bfloat16()
    x = torch.randn(1, 3, 8, 8, dtype=torch.bfloat16)
    want = model(x)
    pointers = [p.data_ptr() for p in model.parameters()]
    assert upcast_big_matmuls(model, torch.device("cpu"), torch.bfloat16)
    assert isinstance(model[0], UpcastConv2d) and isinstance(model[2], UpcastLinear)
    assert [p.data_ptr() for p in model.parameters()] == pointers  # weights untouched
    got = model(x)
    assert got.dtype == torch.bfloat16
    # both accumulate exact bf16 products in float32: at most a rounding step apart
    assert torch.allclose(got.float(), want.float(), rtol=1e-2, atol=1e-2)
    few_rows = torch.randn(2, 16, dtype=torch.bfloat16)  # decode-sized: the bf16 kernel runs
    assert torch.equal(
        model[2](few_rows), nn.functional.linear(few_rows, model[2].weight, model[2].bias)
    )


def test_only_cpu_bf16_without_native_support(monkeypatch):
    monkeypatch.setattr(cpu_compute, "cpu_has_native_bf16", lambda: False)
    layer = nn.Linear(4, 4)
    assert not upcast_big_matmuls(layer, torch.device("cpu"), torch.float32)
    assert type(layer) is nn.Linear
    monkeypatch.setattr(cpu_compute, "cpu_has_native_bf16", lambda: True)
    assert not upcast_big_matmuls(layer.bfloat16(), torch.device("cpu"), torch.bfloat16)
