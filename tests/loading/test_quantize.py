"""ARTIMUSE_QUANT on the CPU: the language model's weights in int8 / int4 run by torch's own
kernels, everything else as loaded; scores stay close to the unquantized model's."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

import artimuse
from artimuse.errors import CheckpointError
from artimuse.inference.cpu_kernels import cpu_flags
from artimuse.inference.quant import torch_cpu
from artimuse.inference.quant.modes import DECODER_LINEAR, NO_W8A8, check_quant_support, kernels
from artimuse.inference.quant.torch_cpu import (
    Int4Linear,
    Int8Embedding,
    Int8Linear,
    quantize_int4,
    quantize_int8,
    unpack_int4,
)
from tests.helpers import CONFORMANCE_IMAGES, TINY_A

IMAGES = list(CONFORMANCE_IMAGES.values())
# On random tiny weights int8 moves a score by < 1 point, int4 by a few.
MAX_SCORE_SHIFT = {"int8": 2.0, "int4": 8.0, "w8a8": 3.0}
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.fixture(scope="module")
def plain():
    return artimuse.load(str(TINY_A), device="cpu", dtype="bfloat16", max_new_tokens=8)


NO_ONEDNN = pytest.mark.skipif(
    not torch_cpu.onednn_int8_exact(),
    reason="this CPU's int8 products saturate (no VNNI or AMX): oneDNN's int8 matmul unused",
)


@pytest.fixture(scope="module", params=[
    "int8", pytest.param("int8-onednn", marks=NO_ONEDNN), "int4",
    pytest.param("w8a8", marks=NO_ONEDNN),
])
def quantized(request):
    """(mode, model, whether every int8 layer takes oneDNN); "int8-onednn": int8 with the
    size threshold at 0 (tiny's layers are all small)."""
    quant, _, onednn = request.param.partition("-")
    with pytest.MonkeyPatch.context() as patch:
        if onednn:
            patch.setattr(torch_cpu, "ONEDNN_MIN_WEIGHTS", 0)
        model = artimuse.load(
            str(TINY_A), device="cpu", dtype="bfloat16", max_new_tokens=8, quant=quant
        )
    return quant, model, bool(onednn) or quant == "w8a8"


def test_the_language_model_is_quantized(quantized, plain):
    quant, model, onednn = quantized
    modules = dict(model.engine.model.named_modules())
    decoder = {name: m for name, m in modules.items() if DECODER_LINEAR.match(name)}
    assert len(decoder) == 2 * 7  # tiny-a: 2 decoder layers, q k v o gate up down
    for name, layer in decoder.items():
        # int4's layout needs the input size a multiple of 32: tiny's down_proj (176) is int8
        want = Int4Linear if quant == "int4" and not name.endswith("down_proj") else Int8Linear
        assert type(layer) is want, name
        assert getattr(layer, "int8_activations", False) is (quant == "w8a8"), name
        if want is Int8Linear:  # w8a8, and int8 with the threshold at 0, take oneDNN
            assert layer.onednn is onednn, name
    lm = model.engine.model.language_model
    assert type(lm.lm_head) is Int8Linear and type(lm.get_input_embeddings()) is Int8Embedding
    kept = [m for m in modules.values() if isinstance(m, nn.Linear)]
    assert len(kept) > 8  # vision and mlp1 keep their bf16 weights and the CPU's kernels
    assert torch.equal(model.engine.score_rows, plain.engine.score_rows)  # exact 101 rows
    record = model.kernels["quantization"]
    kernel = kernels(CPU)[quant]  # (int8-onednn's names its threshold, 0)
    assert record["quant"] == quant and record["kernel"].split(" (")[0] == kernel.split(" (")[0]


def test_quantized_weights_take_less_memory(quantized, plain):
    quant, model, _ = quantized
    lm, reference = model.engine.model.language_model, plain.engine.model.language_model
    stored = sum(t.nbytes for t in lm.state_dict().values())
    dense = sum(t.nbytes for t in (*reference.parameters(), *reference.buffers()))  # packed too
    assert stored < (0.45 if quant == "int4" else 0.6) * dense


def test_quantized_scores_and_comments_stay_close(quantized, plain):
    quant, model, _ = quantized
    for image in IMAGES:
        ours, reference = model.score(image), plain.score(image)
        assert abs(ours.total - reference.total) < MAX_SCORE_SHIFT[quant]
        assert ours.total != reference.total  # the quantized weights are really used
        assert sum(ours.distribution) == pytest.approx(1.0, abs=1e-4)
        for aspect, value in reference.aspects.items():
            assert abs(ours.aspects[aspect] - value) < MAX_SCORE_SHIFT[quant]
    comments = model.comment(IMAGES[0], ["Overall Gestalt"])
    assert set(comments) == {"Overall Gestalt"} and comments["Overall Gestalt"]


ONEDNN_OR_NOT = [False, pytest.param(True, marks=NO_ONEDNN)]


@pytest.mark.parametrize("onednn", ONEDNN_OR_NOT)
@pytest.mark.parametrize("rows", [1, 3, 40])  # torch's int8/int4 kernels, and the dense path
def test_the_layers_compute_their_dequantized_weights_product(rows, onednn):
    torch.manual_seed(rows)
    weight, bias = torch.randn(48, 128), torch.randn(48)
    x = torch.randn(2, rows, 128).bfloat16()
    q, scales = quantize_int8(weight)
    dense = q.float() * scales[:, None]
    assert (dense - weight).abs().max() <= scales.max() / 2 + 1e-6  # rounding, nothing more
    int8 = Int8Linear(q, scales, bias, torch.bfloat16, torch.float32, onednn=onednn)
    want = nn.functional.linear(x.float(), dense, bias)
    before = x.clone()
    assert torch.allclose(int8(x).float(), want, rtol=3e-2, atol=3e-1)
    if onednn:  # the two-part activations, in float32: within 1.6e-5 of the row's largest
        int8_32 = Int8Linear(q, scales, bias, torch.float32, torch.float32, onednn=True)
        tight = 1e-4 * want.abs().max()
        assert (int8_32(x.float()) - want).abs().max() < tight
        w8a8 = Int8Linear(q, scales, bias, torch.float32, torch.float32, True, onednn=True)
        assert torch.allclose(w8a8(x.float()), want, rtol=5e-2, atol=5e-1)  # + x's rounding
        assert (w8a8(x.float()) - want).abs().max() > tight
    assert torch.equal(x, before)
    packed, pairs = quantize_int4(weight, 32)
    values = unpack_int4(packed).float().reshape(48, 4, 32)
    scale, zero = pairs[..., 0].T[..., None], pairs[..., 1].T[..., None]
    dense4 = ((values - 8) * scale + zero).reshape(48, 128)
    assert (dense4 - weight).abs().max() <= pairs[..., 0].max() / 2 + 1e-5
    int4 = Int4Linear(packed, pairs, bias, 32, torch.bfloat16)
    want4 = nn.functional.linear(x.float(), dense4, bias)
    assert torch.allclose(int4(x).float(), want4, rtol=3e-2, atol=3e-1)


def test_quantizing_in_blocks_leaves_the_weight_alone_and_matches_one_block(monkeypatch):
    """Weights are quantized and converted a block of rows at a time (the 8b preset's layers
    span many blocks); the result must not depend on the block size, nor change the input."""
    torch.manual_seed(0)
    weight, x = torch.randn(80, 64), torch.randn(20, 64)  # 20 rows: the dense path
    original = weight.clone()
    whole8, whole4 = quantize_int8(weight), quantize_int4(weight, 32)
    layer = Int8Linear(*whole8, None, torch.float32, torch.float32)
    expected = layer(x)
    monkeypatch.setattr(torch_cpu, "BLOCK_ELEMENTS", 16 * 64)  # blocks of 16 rows: 5 of them
    assert len(torch_cpu.row_blocks(80, 64)) == 5
    for a, b in zip(quantize_int8(weight) + quantize_int4(weight, 32), whole8 + whole4):
        assert torch.equal(a, b)
    assert torch.equal(weight, original)
    assert torch.allclose(layer(x), expected, atol=1e-5)


@NO_ONEDNN
@pytest.mark.parametrize("int8_activations", [False, True])
def test_onednn_row_blocks_give_what_one_block_gives(monkeypatch, int8_activations):
    """Big inputs go to oneDNN 128 rows at a time; products sum in int32, so exactly."""
    torch.manual_seed(1)
    q, scales = quantize_int8(torch.randn(32, 64))
    layer = Int8Linear(q, scales, torch.randn(32), torch.float32, torch.float32,
                       int8_activations, onednn=True)
    x = torch.randn(300, 64)
    blocked = layer(x)
    monkeypatch.setattr(torch_cpu, "ONEDNN_ROWS", 1024)
    assert torch.equal(layer(x), blocked)


@NO_ONEDNN
def test_onednn_int8_layers_compile():
    """The compiled decode step (ARTIMUSE_COMPILE=1) traces these layers: inductor itself
    lowers oneDNN's int8 linear only for weights it packed, so ours is an opaque op."""
    torch.manual_seed(2)
    q, scales = quantize_int8(torch.randn(32, 64))
    layer = Int8Linear(q, scales, None, torch.float32, torch.float32, onednn=True)
    x = torch.randn(3, 64)
    assert torch.allclose(torch.compile(layer)(x), layer(x), rtol=1e-5, atol=1e-5)


def test_the_int8_embedding_looks_up_scaled_rows():
    table = torch.randn(10, 8)
    q, scales = quantize_int8(table)
    embed = Int8Embedding(q, scales, torch.float32)
    ids = torch.tensor([[3, 0, 9]])
    assert torch.allclose(embed(ids), table[ids], atol=float(scales.max()))


def test_unsupported_places_say_which_modes_run_there(monkeypatch):
    with pytest.raises(CheckpointError, match="nf4 does not run on cpu; there use none or int8 "
                       "or int4"):
        check_quant_support("nf4", CPU)
    with pytest.raises(CheckpointError, match="int4 does not run on cuda; there use none or "
                       "int8 or nf4"):
        check_quant_support("int4", CUDA)
    with pytest.raises(CheckpointError, match="does not run on mps; there use none "):
        check_quant_support("int8", torch.device("mps"))
    assert check_quant_support("none", torch.device("mps")) is None
    assert "bitsandbytes" in check_quant_support("nf4", CUDA)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bitsandbytes" else real_find_spec(name, *a),
    )
    with pytest.raises(CheckpointError, match=r"pip install 'artimuse\[quant\]'"):
        check_quant_support("int8", CUDA)
    assert check_quant_support("int8", CPU) == kernels(CPU)["int8"]  # no bitsandbytes needed


def test_int8_products_are_checked_before_w8a8_is_offered():
    """oneDNN's int8 matmul saturates without VNNI or AMX (limited to AVX2 here, as most
    laptops are): w8a8 is refused there and int8 runs torch's kernel; natively the check agrees
    with the CPU's flags."""
    script = ("from artimuse.inference.quant import modes, torch_cpu; import torch\n"
              "print(torch_cpu.onednn_int8_exact(), modes.runnable_modes(torch.device('cpu')))\n"
              "modes.check_quant_support('w8a8', torch.device('cpu'))")
    env = os.environ | {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.stdout.split("\n")[0] == "False ['none', 'int8', 'int4']", run.stderr
    assert run.returncode == 1 and NO_W8A8 in run.stderr
    flags = cpu_flags()  # what the benchmarks record: /proc/cpuinfo's list
    exact = torch_cpu.onednn_int8_exact()
    assert ("w8a8" in kernels(CPU)) is exact
    if "avx512_vnni" in flags or "amx_int8" in flags:
        assert exact
    elif "avx_vnni" not in flags:  # (AVX-VNNI alone: whichever oneDNN makes of it)
        assert not exact


def test_none_loads_the_plain_model():
    model = artimuse.load(str(TINY_A), device="cpu", dtype="float32", quant="none")
    assert model.kernels["quantization"] == {"quant": "none"}
    assert not any("quant" in type(m).__module__ for m in model.engine.model.modules())


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError,
                       match="quant must be one of none, int8, int4, nf4, w8a8, got .int2."):
        artimuse.load(str(TINY_A), device="cpu", quant="int2")


# --- pre-quantized checkpoints (`artimuse quantize`) ----------------------------------------


@pytest.fixture(scope="module", params=["int8", "int4"])
def written(request, tmp_path_factory):
    """tiny-a quantized by the CLI, in two shards (the shard-by-shard path)."""
    from artimuse.cli import main
    from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint

    folder = tmp_path_factory.mktemp(f"written-{request.param}")
    src = make_checkpoint(folder / "src", CheckpointSpec(shards=2, seed=5))
    assert main(["quantize", str(src), str(folder / "dst"), "--quant", request.param]) == 0
    return request.param, src, folder / "dst"


def test_a_written_checkpoint_loads_as_quantizing_while_loading_does(written):
    import json

    from artimuse.loading.weights import INDEX_FILE

    quant, src, dst = written
    record = json.loads((dst / "config.json").read_text())["quantization"]
    assert record["mode"] == quant and len(record["modules"]) == 2 * 7 + 2
    assert (dst / INDEX_FILE).is_file() and len(list(dst.glob("*.safetensors"))) == 2
    size = sum(f.stat().st_size for f in dst.glob("*.safetensors"))
    assert size < (0.85 if quant == "int8" else 0.8) * sum(  # tiny: the vision tower is half
        f.stat().st_size for f in src.glob("*.safetensors")
    )
    stored = artimuse.load(str(dst), device="cpu", dtype="bfloat16", max_new_tokens=6)
    made = artimuse.load(str(src), device="cpu", dtype="bfloat16", max_new_tokens=6, quant=quant)
    assert stored.kernels["quantization"]["prequantized"] is True
    assert torch.equal(stored.engine.score_rows, made.engine.score_rows)
    for image in IMAGES[:2]:
        assert stored.score(image) == made.score(image)
    assert stored.comment(IMAGES[0], ["Overall Gestalt"]) == made.comment(
        IMAGES[0], ["Overall Gestalt"]
    )


def test_a_written_checkpoint_says_where_it_runs(written):
    from artimuse.inference.quant.apply import quantize_model
    from artimuse.loading.checkpoint import load_checkpoint

    quant, _, dst = written
    checkpoint = load_checkpoint(dst, CPU, torch.bfloat16)
    with pytest.raises(CheckpointError, match="load it with --device cpu; on cuda load the "
                       "original checkpoint with --quant int8 or nf4"):
        quantize_model(checkpoint, "none", CUDA, torch.bfloat16, torch.bfloat16)
    other = "int4" if quant == "int8" else "int8"
    with pytest.raises(CheckpointError, match=f"is quantized to {quant}: load it with quant "
                       f"{quant}"):
        artimuse.load(str(dst), device="cpu", quant=other)
    if quant == "int8":  # the same weights; w8a8 quantizes the big inputs as it runs
        model = artimuse.load(str(dst), device="cpu", quant="w8a8", max_new_tokens=4)
        assert model.kernels["quantization"]["quant"] == "w8a8"
        assert model.score(IMAGES[0]).total != artimuse.load(str(dst), device="cpu").score(
            IMAGES[0]).total


def test_quantize_refuses_what_it_cannot_do(written, tmp_path, capsys):
    from artimuse.cli import main

    _, src, dst = written
    assert main(["quantize", str(dst), str(tmp_path / "again"), "--quant", "int8"]) == 2
    assert "is quantized already" in capsys.readouterr().err
    assert main(["quantize", str(src), str(dst), "--quant", "int8"]) == 2
    assert "exists and is not empty" in capsys.readouterr().err


def test_a_foreign_quantization_record_is_refused(tmp_path):
    import json
    import shutil

    folder = shutil.copytree(TINY_A, tmp_path / "foreign")
    config = json.loads((folder / "config.json").read_text())
    config["quantization"] = {"quant_method": "gptq", "bits": 4}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="not an artimuse quantization record"):
        artimuse.load(str(folder), device="cpu")


def test_download_quant_writes_the_quantized_copy(hub, hub_checkpoint, tmp_path, monkeypatch,
                                                  capsys):
    from artimuse.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["download", "--endpoint", hub.url, "--quant", "int4"]) == 0
    out = capsys.readouterr().out
    assert "artimuse score --ckpt checkpoints/ArtiMuse-int4 photo.jpg" in out
    copy = artimuse.load("checkpoints/ArtiMuse-int4", device="cpu", max_new_tokens=4)
    made = artimuse.load(str(hub_checkpoint), device="cpu", max_new_tokens=4, quant="int4")
    assert copy.kernels["quantization"]["prequantized"] is True
    assert copy.score(IMAGES[0]) == made.score(IMAGES[0])
