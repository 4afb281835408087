"""What each quantized module becomes, from its name and shape: shared by the loading step
(inference.quant.apply) and the checkpoint writer (inference.quant.shards), so a
pre-quantized checkpoint holds exactly what quantizing while loading would make."""

from __future__ import annotations

import torch
from torch import nn

from artimuse.inference.quant import torch_cpu
from artimuse.inference.quant.modes import DECODER_LINEAR, EMBEDDINGS, LM_HEAD

CPU_MODES = ("int8", "int4")


def kind_for(name: str, mode: str, shape: tuple[int, ...]) -> str | None:
    """`int8`, `int4` or `int8-embedding` for a module quantized by `mode` on the CPU, else None.

    lm_head is int8 in both modes: its 151674 rows are no multiple of the int4 layout's 16, and
    greedy comments take its argmax (the score rows are kept apart, unquantized)."""
    if name == EMBEDDINGS:
        return "int8-embedding"
    if name == LM_HEAD:
        return "int8"
    if not DECODER_LINEAR.match(name):
        return None
    if mode == "int4" and torch_cpu.int4_group(shape[1], shape[0]) is not None:
        return "int4"
    return "int8"  # int8 and w8a8 modes, or a shape the int4 layout cannot take


def quantize_weight(kind: str, weight: torch.Tensor) -> tuple[dict[str, torch.Tensor], int]:
    """-> the portable tensors {"qweight", "scales"} and the int4 group (0 for int8)."""
    if kind == "int4":
        group = torch_cpu.int4_group(weight.shape[1], weight.shape[0])
        qweight, scales = torch_cpu.quantize_int4(weight, group)
        return {"qweight": qweight, "scales": scales}, group
    qweight, scales = torch_cpu.quantize_int8(weight)
    return {"qweight": qweight, "scales": scales}, 0


def build_layer(
    kind: str, parts: dict, bias, group: int, dtype, dense_dtype, int8_activations: bool = False
) -> nn.Module:
    """The module that runs the portable tensors `parts` with torch's CPU kernels
    (`int8_activations`: an int8 layer's inputs in one int8 part, quant mode w8a8)."""
    if kind == "int8-embedding":
        return torch_cpu.Int8Embedding(parts["qweight"], parts["scales"], dtype)
    if kind == "int4":
        return torch_cpu.Int4Linear(parts["qweight"], parts["scales"], bias, group, dtype)
    return torch_cpu.Int8Linear(
        parts["qweight"], parts["scales"], bias, dtype, dense_dtype, int8_activations
    )


def expected_shape(kind: str, out_features: int, in_features: int) -> tuple[int, int]:
    """The `qweight` shape a module of this size stores."""
    return (out_features, in_features // 2) if kind == "int4" else (out_features, in_features)
