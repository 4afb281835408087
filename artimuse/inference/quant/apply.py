"""The quantization step of `api.load`: replace a loaded model's layers by quantized ones.

From a plain checkpoint each layer is quantized straight from the mapped file, one at a time,
and the file pages it read are dropped at once: the full-precision weights are never all in
memory. From a pre-quantized checkpoint the stored tensors are wrapped as they are.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from artimuse.errors import CheckpointError
from artimuse.inference.quant.bnb import bnb_linear
from artimuse.inference.quant.modes import (
    DECODER_LINEAR,
    check_quant_support,
    quantized_names,
    runnable_modes,
)
from artimuse.inference.quant.scheme import build_layer, expected_shape, kind_for, quantize_weight
from artimuse.loading.checkpoint import Checkpoint
from artimuse.loading.weights import mapped_weight_files, release_file_pages

log = logging.getLogger(__name__)
GB = 1e9


def quantize_model(
    checkpoint: Checkpoint, quant: str, device: torch.device, dtype, dense_dtype
) -> dict:
    """Quantize `checkpoint.model` in place -> what runs: {"quant", "kernel", "layers", "gb"}.

    `dense_dtype`: the dtype this CPU multiplies big inputs fastest in (inference.cpu_kernels).
    """
    if checkpoint.prequantized is not None:
        return _build_prequantized(checkpoint, quant, device, dtype, dense_dtype)
    kernel = check_quant_support(quant, device)
    if kernel is None:
        return {"quant": "none"}
    model, mapped = checkpoint.model, mapped_weight_files()
    stored = released = 0
    names = quantized_names(model, device)
    for name in names:
        dense = model.get_submodule(name)
        if device.type == "cuda":
            layer = bnb_linear(dense, quant, device, dtype)
            released += release_file_pages(dense.weight, mapped)  # its full-precision bytes
        else:
            layer, freed = _cpu_layer(name, dense, quant, dtype, dense_dtype, mapped)
            released += freed
        _replace(model, name, layer)
        stored += sum(t.nbytes for t in layer.state_dict().values())
    log.info("quantized %d layers to %s with %s: %.2f GB (%.2f GB of mapped file released)",
             len(names), quant, kernel, stored / GB, released / GB)
    return {"quant": quant, "kernel": kernel, "layers": len(names), "gb": round(stored / GB, 3)}


def _cpu_layer(name: str, dense: nn.Module, quant: str, dtype, dense_dtype, mapped):
    """-> the quantized layer for `dense` and the bytes of file pages released. Its
    full-precision pages go before oneDNN packs the int8 weights, and the unpacked int8 ones
    when this returns: the three copies are never all in memory (an 8B lm_head: 2.2 GB)."""
    kind = kind_for(name, quant, tuple(dense.weight.shape))
    parts, group = quantize_weight(kind, dense.weight)
    bias = _bias(dense, dtype)
    released = release_file_pages(dense.weight, mapped)
    layer = build_layer(kind, parts, bias, group, dtype, dense_dtype, int8_activations(quant, name))
    return layer, released


def _build_prequantized(checkpoint: Checkpoint, quant, device, dtype, dense_dtype) -> dict:
    pre, path = checkpoint.prequantized, checkpoint.path
    if quant not in ("none", pre.mode) and (quant, pre.mode) != ("w8a8", "int8"):
        raise CheckpointError(
            f"{path} is quantized to {pre.mode}: load it with quant {pre.mode} (or none"
            + (", or w8a8" if pre.mode == "int8" else "")
            + f"), or quantize the original checkpoint to {quant}"
        )
    if device.type != "cpu":
        raise CheckpointError(
            f"{path} holds {pre.mode} weights for torch's CPU kernels: load it with --device cpu;"
            f" on {device.type} load the original checkpoint with --quant "
            + " or ".join(m for m in runnable_modes(device) if m != "none")
        )
    model, mapped = checkpoint.model, mapped_weight_files()
    for name, kind in pre.modules.items():
        dense = _module(model, name, path)
        parts = pre.tensors[name]
        shape = expected_shape(kind, *_size(dense))
        if tuple(parts["qweight"].shape) != shape:
            raise CheckpointError(
                f"{path}: {name}.qweight is {tuple(parts['qweight'].shape)}, the model built "
                f"from its config.json needs {shape}"
            )
        layer = build_layer(kind, parts, _bias(dense, dtype), pre.groups.get(name, 0), dtype,
                            dense_dtype, int8_activations(quant, name))
        _replace(model, name, layer)
        if getattr(layer, "onednn", False):  # the weight was copied into oneDNN's layout
            release_file_pages(parts["qweight"], mapped)
    mode = quant if quant != "none" else pre.mode
    kernel = check_quant_support(mode, device)
    log.info("%s: %d layers stored in %s, run with %s", path, len(pre.modules), pre.mode, kernel)
    return {"quant": mode, "kernel": kernel, "layers": len(pre.modules), "prequantized": True}


def int8_activations(quant: str, name: str) -> bool:
    """w8a8 sends the decoder layers' inputs in int8 too (lm_head keeps int8's 16-bit ones)."""
    return quant == "w8a8" and bool(DECODER_LINEAR.match(name))


def _module(model: nn.Module, name: str, path) -> nn.Module:
    try:
        module = model.get_submodule(name)
    except AttributeError:
        module = None
    if not isinstance(module, (nn.Linear, nn.Embedding)):
        raise CheckpointError(f"{path}: the quantized module {name} is not in the model")
    return module


def _size(module: nn.Module) -> tuple[int, int]:
    if isinstance(module, nn.Embedding):
        return module.num_embeddings, module.embedding_dim
    return module.out_features, module.in_features


def _bias(dense: nn.Module, dtype):
    bias = getattr(dense, "bias", None)
    return None if bias is None else bias.detach().to(dtype)


def _replace(model: nn.Module, name: str, layer: nn.Module) -> None:
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent), attr, layer.eval().requires_grad_(False))
