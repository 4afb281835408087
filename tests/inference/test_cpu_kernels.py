"""The CPU kernels chosen for bf16 weights give the plain kernels' numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

import artimuse
from artimuse.inference import cpu_kernels as cpu_compute
from artimuse.inference import cpu_layers
from artimuse.inference.cpu_attention import FLOAT32_SDPA
from artimuse.inference.cpu_kernels import (
    CpuLinear,
    Fp16Linear,
    KernelChoice,
    PackedLinear,
    UpcastConv2d,
    apply_cpu_kernels,
    choose_cpu_kernels,
    decide,
)
from artimuse.loading.weights import mapped_weight_files, read_tensors, release_file_pages
from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint

CPU = torch.device("cpu")


def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 32, 2, 2), nn.Flatten(2), nn.Linear(16, 32)).bfloat16()


# Timings recorded by `probe` (ms) on a 2-vCPU Zen 4 (bf16 instructions), the same limited to
# AVX2 (ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 FBGEMM_ENABLE_INSTRUCTIONS=AVX2), and
# made-up ones for a build without fbgemm (ARM) and for a CPU where nothing beats plain bf16.
NATIVE = {"decode": {"bf16": 2.354, "packed": 1.515, "fp16": 2.037},
          "prefill": {"bf16": 3.04, "packed": 2.695, "fp16": 5.948, "float32": 10.758}}
AVX2 = {"decode": {"bf16": 6.305, "fp16": 2.157},
        "prefill": {"bf16": 25.294, "fp16": 5.454, "float32": 9.834}}
NO_FBGEMM = {"decode": {"bf16": 6.305}, "prefill": {"bf16": 25.294, "float32": 9.834}}
NEAR = {"decode": {"bf16": 1.0, "fp16": 1.1}, "prefill": {"bf16": 1.0, "fp16": 1.5, "float32": 3.0}}
needs_fbgemm = pytest.mark.skipif(not cpu_compute.fp16_possible(), reason="no fbgemm in this torch")


def test_cpu_flags_are_read(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t: fpu sse avx2 fma\n")
    assert not cpu_compute.cpu_has_native_bf16(cpuinfo)
    cpuinfo.write_text("flags\t: fpu avx2 avx512f avx512_bf16\n")
    assert cpu_compute.cpu_has_native_bf16(cpuinfo)


def test_the_probes_timings_decide():
    def way(timings):
        choice = decide(timings)
        return choice.prefill, choice.decode, choice.dense_dtype

    assert way(NATIVE) == ("packed", "packed", torch.bfloat16)
    assert way(AVX2) == ("fp16", "fp16", torch.float32)
    assert way(NO_FBGEMM) == ("float32", "bf16", torch.float32)
    assert way(NEAR) == ("bf16", "bf16", torch.bfloat16)  # exact bits win a near tie
    assert "fp16: 5.454 ms at 128 rows" in decide(AVX2).reason


def test_the_probe_times_every_candidate():
    timings = cpu_compute.probe()
    assert {"bf16", "float32"} <= set(timings["prefill"]) and "bf16" in timings["decode"]
    assert all(ms > 0 for part in timings.values() for ms in part.values())
    for part in timings.values():
        assert ("packed" in part) == cpu_compute.pack_possible()
        assert ("fp16" in part) == cpu_compute.fp16_possible()


def test_the_float32_way_upcasts_big_inputs_only():
    model = small_model()
    x = torch.randn(1, 3, 8, 8, dtype=torch.bfloat16)
    want = model(x)
    pointers = [p.data_ptr() for p in model.parameters()]
    apply_cpu_kernels(model, decide(NO_FBGEMM))
    assert isinstance(model[0], UpcastConv2d) and isinstance(model[2], CpuLinear)
    assert [p.data_ptr() for p in model.parameters()] == pointers  # bf16 weights untouched
    got = model(x)
    assert got.dtype == torch.bfloat16
    # both accumulate exact bf16 products in float32: at most a rounding step apart
    assert torch.allclose(got.float(), want.float(), rtol=1e-2, atol=1e-2)
    few_rows = torch.randn(2, 16, dtype=torch.bfloat16)  # decode-sized: plain bf16
    head = model[2]
    assert torch.equal(head(few_rows), nn.functional.linear(few_rows, head.weight, head.bias))


@needs_fbgemm
@pytest.mark.parametrize("rows", [1, 8, 300])
def test_the_fp16_way_gives_float32_products_of_the_bf16_weights(rows):
    torch.manual_seed(rows)
    model = nn.Sequential(nn.Linear(64, 96), nn.GELU(), nn.Linear(96, 40, bias=False)).bfloat16()
    x = torch.randn(3, rows, 64, dtype=torch.bfloat16)
    weights = [(m.weight.float(), None if m.bias is None else m.bias.float())
               for m in (model[0], model[2])]
    apply_cpu_kernels(model, decide(AVX2))
    assert isinstance(model[0], Fp16Linear) and isinstance(model[2], Fp16Linear)
    assert not hasattr(model[0], "weight")  # the fp16 form replaces the bf16 weight
    hidden = nn.functional.gelu(nn.functional.linear(x.float(), *weights[0]).bfloat16().float())
    want = nn.functional.linear(hidden, *weights[1])
    got = model(x)
    assert got.dtype == torch.bfloat16 and got.shape == (3, rows, 40)
    assert torch.allclose(got.float(), want, rtol=1e-2, atol=1e-2)


@needs_fbgemm
def test_a_weight_packed_in_pieces_gives_the_whole_product(monkeypatch):
    monkeypatch.setattr(cpu_layers, "FP16_PIECE", 40 * 16)  # 40 output channels a piece
    layer = nn.Linear(16, 100).bfloat16()
    x = torch.randn(5, 16, dtype=torch.bfloat16)
    want = nn.functional.linear(x.float(), layer.weight.float(), layer.bias.float())
    model = nn.Sequential(layer)
    apply_cpu_kernels(model, decide(AVX2))
    assert len(model[0].fp16_weight) == 3
    assert torch.allclose(model(x).float(), want, rtol=1e-2, atol=1e-2)


@needs_fbgemm
def test_a_weight_beyond_fp16s_range_keeps_the_float32_way():
    layer = nn.Linear(32, 16).bfloat16()
    with torch.no_grad():
        layer.weight[3, 5] = 70000.0
    x = torch.randn(20, 32, dtype=torch.bfloat16)
    want = nn.functional.linear(x.float(), layer.weight.float(), layer.bias.float())
    model = nn.Sequential(layer)
    apply_cpu_kernels(model, decide(AVX2))
    assert type(model[0]) is CpuLinear
    assert torch.isfinite(model(x)).all()
    assert torch.allclose(model(x).float(), want, rtol=1e-2, atol=1)


@pytest.mark.skipif(not cpu_compute.pack_possible(), reason="oneDNN has no bf16 on this CPU")
@pytest.mark.parametrize("rows", [1, 8, 37])
def test_packed_linear_is_bit_identical(rows):
    torch.manual_seed(rows)
    model = nn.Sequential(nn.Linear(64, 96), nn.GELU(), nn.Linear(96, 40, bias=False)).bfloat16()
    x = torch.randn(3, rows, 64, dtype=torch.bfloat16)
    want = model(x)
    assert apply_cpu_kernels(model, decide(NATIVE))["prefill"] == "packed"
    assert isinstance(model[0], PackedLinear) and isinstance(model[2], PackedLinear)
    assert not hasattr(model[0], "weight")  # no dense copy kept beside the packed one
    assert torch.equal(model(x), want)


def tied_model() -> nn.ModuleList:
    embed, head = nn.Embedding(10, 8), nn.Linear(8, 10, bias=False)
    head.weight = embed.weight  # an LM with tie_word_embeddings
    return nn.ModuleList([embed, head]).bfloat16()


def test_tied_weights_are_not_packed(monkeypatch):
    monkeypatch.setattr(cpu_compute, "pack_possible", lambda: True)
    embed, head = model = tied_model()
    apply_cpu_kernels(model, KernelChoice("packed", "packed"))
    assert type(head) is nn.Linear and head.weight is embed.weight


@needs_fbgemm
def test_a_tied_head_gets_an_fp16_copy_and_the_table_stays():
    embed, head = model = tied_model()
    table = embed.weight.detach().clone()
    x = torch.randn(3, 8, dtype=torch.bfloat16)
    apply_cpu_kernels(model, KernelChoice("fp16", "fp16"))
    assert type(head) is Fp16Linear and torch.equal(embed.weight, table)
    assert torch.equal(embed(torch.tensor([4])), table[4:5])
    want = nn.functional.linear(x.float(), table.float())
    assert torch.allclose(head(x).float(), want, rtol=1e-2, atol=1e-2)


def test_other_devices_and_dtypes_keep_the_plain_kernels(monkeypatch):
    monkeypatch.setattr(cpu_compute, "probe", lambda: AVX2)
    layer = nn.Linear(4, 4)
    for device, dtype in ((CPU, torch.float32), (torch.device("meta"), torch.bfloat16)):
        choice = choose_cpu_kernels(device, dtype)
        assert (choice.prefill, choice.decode) == ("default", "default")
        apply_cpu_kernels(layer, choice)
        assert type(layer) is nn.Linear


def test_released_file_pages_still_read_the_files_bytes(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"w": torch.randn(512, 1024, dtype=torch.bfloat16)}, str(path))
    [mapped] = read_tensors([path], torch.bfloat16, CPU).values()
    before = mapped.clone()
    files = mapped_weight_files()
    assert release_file_pages(mapped, files) >= mapped.nbytes - 2 * 4096  # whole inner pages
    assert torch.equal(mapped, before)  # reread from the file
    assert release_file_pages(before, files) == 0  # ordinary memory is never touched


@pytest.mark.parametrize(("timings", "way"), [(NATIVE, ("packed", "packed")),
                                              (AVX2, ("fp16", "fp16")),
                                              (NO_FBGEMM, ("float32", "bf16"))],
                         ids=["native", "avx2", "no-fbgemm"])
def test_the_chosen_kernels_give_the_plain_models_scores(tmp_path, monkeypatch, timings, way):
    if way[0] == "packed" and not cpu_compute.pack_possible():
        pytest.skip("oneDNN has no bf16 on this CPU")
    if way[0] == "fp16" and not cpu_compute.fp16_possible():
        pytest.skip("no fbgemm in this torch")
    path = make_checkpoint(tmp_path / "bf16", CheckpointSpec(dtype="bfloat16", seed=9))
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (80, 120, 3), np.uint8))
    monkeypatch.setattr(cpu_compute, "probe", lambda: timings)
    chosen = artimuse.load(str(path), device="cpu", dtype="bfloat16", max_new_tokens=8)
    monkeypatch.setattr(cpu_compute, "probe", lambda: NEAR)
    plain = artimuse.load(str(path), device="cpu", dtype="bfloat16", max_new_tokens=8)
    monkeypatch.setattr(cpu_compute, "pack_possible", lambda: False)
    kernels = chosen.kernels["cpu"]
    assert (kernels["prefill"], kernels["decode"]) == way
    assert kernels["lm_attention"] == ("as loaded" if way[0] == "packed" else "float32")
    lm_config = chosen.engine.model.language_model.config
    assert lm_config._attn_implementation == ("sdpa" if way[0] == "packed" else FLOAT32_SDPA)
    assert kernels["probe_ms"] == timings and kernels["why"]
    assert plain.kernels["cpu"]["decode"] == "bf16"
    # Packed: bit-identical when run alone; after other oneDNN work in the same process the
    # packed matmuls differ by a bf16 rounding step in about 1 run of 5 (cause not found).
    # fp16, float32: the same sums within a rounding step. Each moves a score by < 0.5.
    a, b = chosen.score(image), plain.score(image)
    assert abs(a.total - b.total) < 0.5
    assert all(abs(a.aspects[k] - b.aspects[k]) < 0.5 for k in a.aspects)
    assert len(chosen.comment(image, ["Overall Gestalt"])) == 1


@needs_fbgemm
def test_the_fp16_way_is_as_near_the_float32_model_as_plain_bf16(tmp_path, monkeypatch):
    path = make_checkpoint(tmp_path / "bf16", CheckpointSpec(dtype="bfloat16", seed=9))
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (80, 120, 3), np.uint8)) for _ in range(3)]
    reference = artimuse.load(str(path), device="cpu", dtype="float32")
    errors = {}
    for name, timings in (("bf16", NEAR), ("fp16", AVX2)):
        monkeypatch.setattr(cpu_compute, "probe", lambda timings=timings: timings)
        model = artimuse.load(str(path), device="cpu", dtype="bfloat16")
        assert model.kernels["cpu"]["decode"] == name
        errors[name] = max(abs(model.score(x).total - reference.score(x).total) for x in images)
    # each a few tenths at most (bf16 rounding); a wrong product would be many points off
    assert errors["bf16"] < 0.5 and errors["fp16"] < 0.5


def test_two_engines_over_one_checkpoint_give_the_same_scores(tmp_path):
    """Building an engine changes nothing: the kernel choice was made once, when loading."""
    from artimuse.devices import resolve_device
    from artimuse.inference.engine import Engine
    from artimuse.loading.checkpoint import load_checkpoint

    path = make_checkpoint(tmp_path / "bf16", CheckpointSpec(dtype="bfloat16", seed=4))
    checkpoint = load_checkpoint(path, resolve_device("cpu"), torch.bfloat16)
    classes = [type(m) for m in checkpoint.model.modules()]
    first, second = Engine(checkpoint), Engine(checkpoint)
    assert [type(m) for m in checkpoint.model.modules()] == classes
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8))
    a = artimuse.ArtiMuse(first, path, max_new_tokens=4).score(image)
    b = artimuse.ArtiMuse(second, path, max_new_tokens=4).score(image)
    assert a == b
