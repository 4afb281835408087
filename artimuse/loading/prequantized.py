"""Reading a pre-quantized checkpoint (`artimuse quantize`; the format: docs/quantization.md).

Its config.json carries a `quantization` record naming the scheme and every quantized module;
each such module's weight is stored as `<module>.qweight` and `<module>.scales` instead of
`<module>.weight`. Loading only reads: the tensors are handed on as they are, and the
quantization step (inference.quant.apply) builds the layers that run them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from artimuse.errors import CheckpointError

RECORD_KEY = "quantization"  # in config.json
FORMAT = "artimuse-torch-quant"
FORMAT_VERSION = 1
SCORE_ROWS_KEY = "artimuse.score_rows"  # the 101 lm_head rows of the scores, unquantized
PARTS = ("qweight", "scales")
KINDS = ("int8", "int4", "int8-embedding")


@dataclass
class PreQuantized:
    """A quantized checkpoint's scheme and its quantized tensors, by module name."""

    mode: str  # int8 or int4
    modules: dict[str, str]  # module name -> kind (KINDS)
    groups: dict[str, int]  # int4 modules -> group size
    tensors: dict[str, dict[str, torch.Tensor]]  # module name -> {"qweight": .., "scales": ..}
    score_token_ids: list[int]
    score_rows: torch.Tensor | None = None

    @property
    def dense_keys(self) -> set[str]:
        """The `.weight` keys the file does not hold (their modules are built quantized)."""
        return {f"{name}.weight" for name in self.modules}


def read_record(config: dict, config_file: Path) -> dict | None:
    """The checked `quantization` record of config.json, or None for a plain checkpoint."""
    record = config.get(RECORD_KEY)
    if record is None:
        return None
    where = f"{config_file}: `{RECORD_KEY}`"
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(
            f"{where} is not an artimuse quantization record (format {FORMAT!r}); "
            "checkpoints quantized by other tools are not supported"
        )
    if record.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{where}: version {record.get('version')!r}, "
                              f"this artimuse reads version {FORMAT_VERSION}")
    modules = record.get("modules")
    if record.get("mode") not in ("int8", "int4") or not isinstance(modules, dict) or any(
        kind not in KINDS for kind in modules.values()
    ):
        raise CheckpointError(f"{where}: needs `mode` int8 or int4 and `modules` of kinds {KINDS}")
    return record


def split_quantized(tensors: dict, record: dict, path: Path) -> PreQuantized:
    """Take the quantized tensors (and the score rows) out of `tensors`, which keeps the rest."""
    quantized: dict[str, dict[str, torch.Tensor]] = {}
    for name in record["modules"]:
        try:
            quantized[name] = {part: tensors.pop(f"{name}.{part}") for part in PARTS}
        except KeyError as missing:
            raise CheckpointError(
                f"{path}: the quantized module {name} has no tensor {missing.args[0]}"
            ) from None
    return PreQuantized(
        mode=record["mode"],
        modules=dict(record["modules"]),
        groups={k: int(v) for k, v in record.get("groups", {}).items()},
        tensors=quantized,
        score_token_ids=list(record.get("score_token_ids", [])),
        score_rows=tensors.pop(SCORE_ROWS_KEY, None),
    )
