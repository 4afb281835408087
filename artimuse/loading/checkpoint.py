"""Find, check and load an original-layout ArtiMuse checkpoint (behaviour §1).

The model is built on the `meta` device and the safetensors tensors are assigned into it in their
final dtype and device: no random initialisation, no float32 copy of a bf16 checkpoint.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import transformers

from artimuse.errors import CheckpointError, CheckpointNotFound, read_json
from artimuse.loading.config_checks import check_config, check_object
from artimuse.loading.hub import download_hint, human_bytes
from artimuse.loading.hub_resolve import resolve
from artimuse.loading.prequantized import PreQuantized, read_record, split_quantized
from artimuse.loading.tokenizer import TokenIds, load_tokenizer, token_ids
from artimuse.loading.weights import load_strict, read_tensors, weight_files
from artimuse.model.internvl import ArtiMuseModel, ModelConfig
from artimuse.model.vision import VisionConfig
from artimuse.prompts import system_message

log = logging.getLogger(__name__)


@dataclass
class Checkpoint:
    path: Path
    model: ArtiMuseModel
    tokenizer: object
    ids: TokenIds
    system: str  # the system message (behaviour §5)
    score_rows: torch.Tensor  # (101, H): lm_head's rows of the score tokens (behaviour §7)
    prequantized: PreQuantized | None = None  # a quantized checkpoint's layers, still to build
    # What the loading steps after reading (api.load) did: kernels and quantization, with why.
    kernels: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


def download_command(name: str = "ArtiMuse") -> str:
    """The command that fetches the checkpoint a folder named `name` was meant to hold."""
    return download_hint(name)


def resolve_checkpoint(ckpt: str | Path) -> Path:
    """The folder `ckpt` names (`hub_resolve.resolve`): a local folder, or a hub id or released
    name found locally or downloaded once (progress logged). A path is never taken for an id."""
    return resolve(ckpt, progress=_log_progress())


def _log_progress():
    """Log a download's progress every 10 percent (library code logs, only the CLI draws bars)."""
    last = [-10.0, ""]

    def observe(progress) -> None:
        if progress.percent - last[0] >= 10 or progress.state != last[1]:
            last[:] = [progress.percent, progress.state]
            log.info("%s: %s %.0f%% of %s", progress.repo, progress.state, progress.percent,
                     human_bytes(progress.total_bytes))

    return observe


def read_config(ckpt_dir: Path) -> dict:
    config_file = ckpt_dir / "config.json"
    if not config_file.is_file():
        raise CheckpointNotFound(
            f"{config_file} is missing: not a checkpoint directory. Download the weights with: "
            f"{download_command(ckpt_dir.name)}"
        )
    config = check_object(read_json(config_file, CheckpointError, "a config"), config_file)
    for key in ("llm_config", "vision_config"):
        if not isinstance(config.get(key), dict):
            raise CheckpointError(
                f"{config_file} has no `{key}`: not an InternVL-Chat (ArtiMuse) checkpoint"
            )
    check_config(config, config_file)
    return config


def model_config(config: dict) -> ModelConfig:
    vision = VisionConfig.from_dict(config["vision_config"])
    return ModelConfig(
        vision=vision,
        image_size=config.get("force_image_size") or vision.image_size,
        downsample_ratio=config.get("downsample_ratio", 0.5),
        select_layer=config.get("select_layer", -1),
        ps_version=config.get("ps_version", "v2"),
    )


def attention_backend(requested: str | None, device: torch.device) -> str:
    """flash-attn on CUDA when installed, else SDPA (a training config may name flash)."""
    has_flash = importlib.util.find_spec("flash_attn") is not None
    if device.type == "cuda" and has_flash:
        return "flash_attention_2"
    if requested == "flash_attention_2":
        log.info("config asks for flash_attention_2, which is not usable here: using sdpa")
    return "sdpa"


def language_model_config(config: dict, device: torch.device, path: Path):
    llm = dict(config["llm_config"])
    arch = llm["architectures"][0]  # a list of names: `check_config`
    cls = getattr(transformers, str(arch), None)
    if cls is None or not hasattr(cls, "config_class"):
        raise CheckpointError(
            f"{path / 'config.json'}: language model {arch!r} is not a transformers class; "
            "supported: any causal LM in transformers (Qwen2ForCausalLM for ArtiMuse)"
        )
    requested = llm.pop("attn_implementation", None) or llm.pop("_attn_implementation", None)
    requested = requested or config.get("attn_implementation")
    try:
        lm_config = cls.config_class.from_dict(llm)
    except (TypeError, ValueError) as error:  # transformers' own checks of the values
        raise CheckpointError(f"{path / 'config.json'}: llm_config: {error}") from error
    lm_config._attn_implementation = attention_backend(requested, device)
    return cls, lm_config


def build_model(config: dict, device: torch.device, path: Path) -> ArtiMuseModel:
    """The full module tree on `meta`: no memory, no random initialisation."""
    cls, lm_config = language_model_config(config, device, path)
    with torch.device("meta"):
        return ArtiMuseModel(model_config(config), cls(lm_config))


def load_checkpoint(
    ckpt: str | Path,
    device: torch.device,
    dtype: torch.dtype,
    stay_mapped: Callable[[str], bool] | None = None,
) -> Checkpoint:
    """Resolve, check and read a checkpoint; every failure names the file at fault.

    Reading is all it does. The tensors whose keys `stay_mapped` accepts are left mapped from
    the file on the CPU as stored (a later step quantizes them layer by layer); the layers of
    a pre-quantized checkpoint are left on `meta`, their tensors in `Checkpoint.prequantized`.
    """
    path = resolve_checkpoint(ckpt)
    config = read_config(path)
    record = read_record(config, path / "config.json")
    files = weight_files(path)
    tokenizer = load_tokenizer(path)
    ids = token_ids(tokenizer, path)
    model = build_model(config, device, path)
    tensors = read_tensors(files, dtype, device, stay_mapped or (lambda key: False))
    prequantized = split_quantized(tensors, record, path) if record else None
    absent = prequantized.dense_keys if prequantized else set()
    load_strict(model, tensors, path, device, absent)
    model.eval().requires_grad_(False)
    score_rows = _score_rows(model, ids, prequantized, path).to(device, dtype)
    log.info("read %s onto %s as %s%s", path, device, dtype,
             f" ({prequantized.mode}-quantized)" if prequantized else "")
    return Checkpoint(path, model, tokenizer, ids, system_message(config), score_rows, prequantized)


def _score_rows(model, ids: TokenIds, prequantized: PreQuantized | None, path: Path):
    """lm_head's rows of the 101 score tokens, as stored: exact even where lm_head is quantized
    later (behaviour §7; a quantized checkpoint keeps them unquantized)."""
    if prequantized is None or "language_model.lm_head" not in prequantized.modules:
        return model.language_model.get_output_embeddings().weight[list(ids.score)].clone()
    if prequantized.score_rows is None or prequantized.score_token_ids != list(ids.score):
        raise CheckpointError(
            f"{path}: the quantized checkpoint's score rows do not match its tokenizer's "
            "score tokens: quantize the original checkpoint again"
        )
    return prequantized.score_rows
