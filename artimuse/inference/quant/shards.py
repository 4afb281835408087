"""Writing pre-quantized checkpoints (`artimuse quantize`), one safetensors shard at a time.

Each shard is read through safetensors' map and written quantized before the next is opened,
so quantizing never needs more memory than one shard; `quantize_shard` is also what quantizes
the files of a download as they arrive. What each module becomes is inference.quant.scheme's
`kind_for`, the same as quantizing while loading; the format is docs/quantization.md.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from artimuse.errors import CheckpointError
from artimuse.inference.quant.modes import LM_HEAD
from artimuse.inference.quant.scheme import CPU_MODES, kind_for, quantize_weight
from artimuse.loading.checkpoint import read_config
from artimuse.loading.prequantized import FORMAT, FORMAT_VERSION, RECORD_KEY, SCORE_ROWS_KEY
from artimuse.loading.tokenizer import load_tokenizer, token_ids
from artimuse.loading.weights import INDEX_FILE, weight_files


@dataclass
class ShardResult:
    """What `quantize_shard` wrote: module -> kind, int4 groups, key -> its tensors' bytes."""

    modules: dict[str, str] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)


def quantize_shard(src: Path, dst: Path, mode: str, score_ids: list[int]) -> ShardResult:
    """Quantize one safetensors file `src` into `dst` (`mode` int8 or int4). A shard holding
    lm_head also gets its `score_ids` rows, unquantized, as `artimuse.score_rows`."""
    if mode not in CPU_MODES:
        raise CheckpointError(f"checkpoints are quantized to int8 or int4, not {mode!r}")
    result, out = ShardResult(), {}
    with safe_open(str(src), framework="pt", device="cpu") as reader:
        for key in reader.keys():
            tensor = reader.get_tensor(key)
            name = key.removesuffix(".weight")
            kind = kind_for(name, mode, tuple(tensor.shape)) if key != name else None
            if kind is None or tensor.ndim != 2:
                out[key] = tensor
                continue
            if name == LM_HEAD:
                out[SCORE_ROWS_KEY] = tensor[score_ids].clone()
            parts, group = quantize_weight(kind, tensor)
            out[f"{name}.qweight"], out[f"{name}.scales"] = parts["qweight"], parts["scales"]
            result.modules[name] = kind
            if group:
                result.groups[name] = group
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_file(out, str(dst), metadata={"format": "pt"})
    result.keys = list(out)
    return result


def quantize_checkpoint(src: Path, dst: Path, mode: str, progress=print) -> Path:
    """A pre-quantized copy of the checkpoint `src` in `dst` (config, tokenizer, every file)."""
    src, dst = Path(src), Path(dst)
    config = read_config(src)
    if RECORD_KEY in config:
        raise CheckpointError(f"{src} is quantized already ({config[RECORD_KEY].get('mode')})")
    if config["llm_config"].get("tie_word_embeddings"):
        raise CheckpointError(
            f"{src}: lm_head is tied to the embeddings; such checkpoints are quantized while "
            "loading (--quant) only"
        )
    if dst.exists() and any(dst.iterdir()):
        raise CheckpointError(f"{dst} exists and is not empty: choose a new folder")
    score_ids = list(token_ids(load_tokenizer(src), src).score)
    files = weight_files(src)
    dst.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():  # tokenizer, generation config, README: as they are
        if item.is_file() and not item.name.endswith(".safetensors") and item.name not in (
            INDEX_FILE, "config.json",
        ):
            shutil.copy2(item, dst / item.name)
    record = start_record(mode, score_ids)
    weight_map = {}
    for number, file in enumerate(files, 1):
        progress(f"quantizing {file.name} ({number} of {len(files)})")
        shard = quantize_shard(file, dst / file.name, mode, score_ids)
        add_to_record(record, shard)
        weight_map |= dict.fromkeys(shard.keys, file.name)
    finish(dst, config, record, weight_map if len(files) > 1 else None)
    return dst


def start_record(mode: str, score_ids: list[int]) -> dict:
    return {"format": FORMAT, "version": FORMAT_VERSION, "mode": mode, "modules": {},
            "groups": {}, "score_token_ids": score_ids, "torch": torch.__version__}


def add_to_record(record: dict, shard: ShardResult) -> None:
    record["modules"] |= shard.modules
    record["groups"] |= shard.groups


def finish(dst: Path, config: dict, record: dict, weight_map: dict | None) -> None:
    """Write config.json with the record (and the index of a sharded checkpoint) last: a
    folder cut short has no config.json, so it never loads half-written."""
    if weight_map is not None:
        index = {"metadata": {}, "weight_map": dict(sorted(weight_map.items()))}
        (dst / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    config = {**config, RECORD_KEY: record}
    (dst / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
