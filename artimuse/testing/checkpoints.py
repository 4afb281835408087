"""Random-weight checkpoints in the original InternVL-Chat / ArtiMuse layout (behaviour §1, 2).

`make_checkpoint(dir, spec)` writes `config.json`, the weights (one file or shards with an
index) and a Qwen2-style tokenizer, exactly as the released checkpoints lay them out, so the
loader, the CLI, the web app and the benchmarks can run end to end without downloading a model.
Weights are drawn shard by shard straight into the target dtype (the 8B preset never needs more
memory than one ~4 GB shard) from per-chunk seeds, so they depend only on the spec and the key,
not on the sharding or the thread count.

    python -m artimuse.testing.checkpoints OUT_DIR --preset 1b
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import math
import os
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file

from artimuse.testing.checkpoint_config import (
    ABSENT,
    internlm2_shapes,
    llm_config,
    model_config,
    stop_token_id,
    tokenizer_fingerprint,
    write_tokenizer,
)
from artimuse.testing.spec import DTYPES, PRESETS, CheckpointSpec

__all__ = ["PRESETS", "CheckpointSpec", "ensure_checkpoint", "make_checkpoint", "weight_shapes"]
log = logging.getLogger(__name__)

SPEC_FILE = "artimuse_spec.json"
_GENERATOR_VERSION = 1  # bump when the same spec would produce different files
_CHUNK = 1 << 22  # elements per random chunk: the unit of seeding and of parallel work
# Logits of the score tokens get std ~ _LM_HEAD_GAIN (the final RMSNorm output has unit scale):
# wide enough that different images give visibly different score distributions.
_LM_HEAD_GAIN = 3.0


def weight_shapes(spec: CheckpointSpec) -> dict[str, tuple[int, ...]]:
    """Every key of the checkpoint with its shape, vision tower first, then `mlp1`, then the LM."""
    c, grid = spec.vision_hidden, spec.image_size // spec.patch_size
    shapes: dict[str, tuple[int, ...]] = {
        "vision_model.embeddings.class_embedding": (1, 1, c),
        "vision_model.embeddings.patch_embedding.weight": (c, 3, spec.patch_size, spec.patch_size),
        "vision_model.embeddings.patch_embedding.bias": (c,),
        "vision_model.embeddings.position_embedding": (1, 1 + grid * grid, c),
    }
    m = spec.vision_mlp
    layer = {
        "attn.qkv.weight": (3 * c, c),
        "attn.qkv.bias": (3 * c,),
        "attn.q_norm.weight": (c,),  # RMSNorm over all heads together
        "attn.k_norm.weight": (c,),
        "attn.proj.weight": (c, c),
        "attn.proj.bias": (c,),
        "mlp.fc1.weight": (m, c),
        "mlp.fc1.bias": (m,),
        "mlp.fc2.weight": (c, m),
        "mlp.fc2.bias": (c,),
        "norm1.weight": (c,),
        "norm1.bias": (c,),
        "norm2.weight": (c,),
        "norm2.bias": (c,),
        "ls1": (c,),
        "ls2": (c,),
    }
    absent = set() if spec.qkv_bias else {"attn.qkv.bias"}
    if not spec.qk_normalization:
        absent |= {"attn.q_norm.weight", "attn.k_norm.weight"}
    if spec.norm_type == "rms_norm":
        absent |= {"norm1.bias", "norm2.bias"}
    for i in range(spec.vision_layers):
        prefix = f"vision_model.encoder.layers.{i}."
        shapes |= {prefix + k: shape for k, shape in layer.items() if k not in absent}
    d = spec.llm_hidden
    shapes |= {"mlp1.0.weight": (4 * c,), "mlp1.0.bias": (4 * c,)}  # LayerNorm(4C)
    shapes |= {"mlp1.1.weight": (d, 4 * c), "mlp1.1.bias": (d,)}
    shapes |= {"mlp1.3.weight": (d, d), "mlp1.3.bias": (d,)}
    return shapes | {f"language_model.{k}": v for k, v in _lm_shapes(spec).items()}


def _lm_shapes(spec: CheckpointSpec) -> dict[str, tuple[int, ...]]:
    """The LM's state dict shapes, from transformers itself (a meta-device instance)."""
    if spec.llm_arch == "InternLM2ForCausalLM":  # remote code only: its names written out
        return internlm2_shapes(spec)
    fields = llm_config(spec)
    for key in ("attn_implementation", "_attn_implementation"):  # flash-attn may be missing
        fields.pop(key, None)
    config = transformers.AutoConfig.for_model(fields.pop("model_type"), **fields)
    with torch.device("meta"):
        model = getattr(transformers, spec.llm_arch)(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _init_stats(name: str, shape: tuple[int, ...]) -> tuple[float, float]:
    """(mean, std) of a parameter: unit-scale activations at any width, nothing near bf16 limits."""
    leaf = name.rsplit(".", 1)[-1]
    if "norm" in name or name.startswith("mlp1.0."):  # LayerNorm / RMSNorm parameters
        return (1.0, 0.1) if leaf == "weight" else (0.0, 0.05)
    if leaf in ("ls1", "ls2"):  # layer scale
        return 0.5, 0.1
    if leaf == "bias":
        return 0.0, 0.05
    if leaf in ("class_embedding", "position_embedding"):
        return 0.0, 0.2
    if name.endswith(("embed_tokens.weight", "tok_embeddings.weight")):  # as image features
        return 0.0, 1.0
    gain = _LM_HEAD_GAIN if name.endswith(("lm_head.weight", ".output.weight")) else 1.0
    return 0.0, gain / math.sqrt(math.prod(shape[1:]))


def _random_tensors(
    names: list[str], shapes: dict, spec: CheckpointSpec
) -> dict[str, torch.Tensor]:
    """Draw the named tensors in spec.dtype, chunk by chunk on all cores (seeded per chunk)."""
    tensors = {n: torch.empty(shapes[n], dtype=DTYPES[spec.dtype]) for n in names}
    jobs = []
    for name, tensor in tensors.items():
        mean, std = _init_stats(name, shapes[name])
        flat = tensor.view(-1)
        for start in range(0, flat.numel(), _CHUNK):
            seed = zlib.crc32(f"{spec.seed}:{name}:{start}".encode())
            jobs.append((flat[start : start + _CHUNK], mean, std, seed))

    def fill(job: tuple[torch.Tensor, float, float, int]) -> None:
        chunk, mean, std, seed = job
        chunk.normal_(mean, std, generator=torch.Generator().manual_seed(seed))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(fill, jobs))  # normal_ releases the GIL; each chunk has its own generator
    return tensors


def _partition(sizes: list[int], n: int) -> list[list[int]]:
    """Split indices 0..len-1 into n contiguous non-empty groups of about equal total size."""
    if n > len(sizes):
        raise ValueError(f"cannot split {len(sizes)} tensors into {n} shards")
    target, groups, done = sum(sizes) / n, [[]], 0
    for i, size in enumerate(sizes):
        need_new = len(sizes) - i == n - len(groups) + 1 and len(groups) < n
        past = done + size / 2 > target * len(groups) and len(groups) < n
        if groups[-1] and (past or need_new):
            groups.append([])
        groups[-1].append(i)
        done += size
    return groups


def _scale_stop_row(tensors: dict[str, torch.Tensor], spec: CheckpointSpec) -> None:
    if spec.stop_gain == 1.0:
        return
    for key in ("language_model.lm_head.weight", "language_model.output.weight"):
        if key in tensors:
            tensors[key][stop_token_id(spec)] *= spec.stop_gain


def _write_weights(path: Path, spec: CheckpointSpec) -> None:
    """Write model.safetensors or the shards + index, one shard in memory at a time."""
    shapes = weight_shapes(spec)
    names = list(shapes)
    sizes = [math.prod(shapes[n]) * DTYPES[spec.dtype].itemsize for n in names]
    weight_map = {}
    for k, group in enumerate(_partition(sizes, spec.shards), start=1):
        file = f"model-{k:05d}-of-{spec.shards:05d}.safetensors"
        file = "model.safetensors" if spec.shards == 1 else file
        shard = _random_tensors([names[i] for i in group], shapes, spec)
        _scale_stop_row(shard, spec)
        save_file(shard, str(path / file), metadata={"format": "pt"})
        (path / file).chmod(0o644)  # safetensors creates 0600; match the other files
        weight_map |= dict.fromkeys(shard, file)
        log.info("wrote %s (%.2f GB)", file, sum(sizes[i] for i in group) / 1e9)
        del shard
    if spec.shards > 1:
        index = {
            "metadata": {"total_size": sum(sizes)},
            "weight_map": dict(sorted(weight_map.items())),
        }
        _dump(path / "model.safetensors.index.json", index)


def _spec_record(spec: CheckpointSpec) -> dict:
    record = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    if spec.system_message is ABSENT:
        del record["system_message"]
    # The vocabulary derives from artimuse.prompts: a changed prompt must invalidate cached
    # checkpoints.
    vocab = hashlib.sha256(tokenizer_fingerprint(spec)).hexdigest()[:16]
    record |= {"generator_version": _GENERATOR_VERSION, "tokenizer_files": vocab}
    return json.loads(json.dumps(record))


def make_checkpoint(path: str | os.PathLike, spec: CheckpointSpec = CheckpointSpec()) -> Path:
    """Write a random checkpoint for `spec` into `path` (created if needed) and return it.

    Files of an earlier checkpoint in `path` that this spec would not overwrite (old shards, a
    `tokenizer.json`) are removed; `artimuse_spec.json` is written last, marking completion.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    stale = [path / SPEC_FILE, path / "tokenizer.json", path / "model.safetensors.index.json",
             path / "tokenizer.model", path / "vocab.json", path / "merges.txt"]
    for file in [*stale, *path.glob("model*.safetensors")]:
        file.unlink(missing_ok=True)
    write_tokenizer(path, spec)
    _dump(path / "config.json", model_config(spec))
    _write_weights(path, spec)
    _dump(path / SPEC_FILE, _spec_record(spec))
    return path


def ensure_checkpoint(path: str | os.PathLike, spec: CheckpointSpec = CheckpointSpec()) -> Path:
    """Return `path` if it holds a complete checkpoint made from `spec`, else (re)make it."""
    path = Path(path)
    stamp = path / SPEC_FILE
    if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) == _spec_record(spec):
        log.info("reusing checkpoint %s", path)
        return path
    return make_checkpoint(path, spec)


def _dump(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m artimuse.testing.checkpoints",
        description="Write a random-weight ArtiMuse checkpoint.",
    )
    parser.add_argument("out_dir", type=Path, help="the folder to write (made if missing)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny",
                        help="the shapes: tiny (default, for tests), 1b (the InternVL3-1B "
                        "shape), 8b (the released checkpoints' shape), and one tiny preset per "
                        "language-model family")
    parser.add_argument("--dtype", choices=sorted(DTYPES), help="default: the preset's")
    parser.add_argument("--shards", type=int, help="default: the preset's")
    parser.add_argument("--seed", type=int, default=0, help="of the random weights (default 0)")
    parser.add_argument("--dry-run", action="store_true", help="print the sizes, write nothing")
    args = parser.parse_args(argv)
    spec = dataclasses.replace(PRESETS[args.preset], seed=args.seed)
    if args.dtype:
        spec = dataclasses.replace(spec, dtype=args.dtype)
    if args.shards:
        spec = dataclasses.replace(spec, shards=args.shards)
    shapes = weight_shapes(spec)
    params = [math.prod(shape) for shape in shapes.values()]
    itemsize = DTYPES[spec.dtype].itemsize
    shard_mb = [sum(params[i] for i in g) * itemsize / 1e6 for g in _partition(params, spec.shards)]
    print(
        f"{args.preset}: {len(shapes)} tensors, {sum(params) / 1e6:,.1f} M parameters, "
        f"{sum(params) * itemsize / 1e6:,.1f} MB in {spec.dtype}; shards (MB): "
        + ", ".join(f"{mb:,.1f}" for mb in shard_mb)
    )
    if args.dry_run:
        return
    start = time.perf_counter()
    make_checkpoint(args.out_dir, spec)
    print(f"wrote {args.out_dir} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
