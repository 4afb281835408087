"""Which module runs a checkpoint's language model, by `llm_config.architectures[0]` (behaviour §1).

Classes transformers has (Qwen2, Llama, Phi-3: their weight names are the original's) are used
as they are; InternLM2, which transformers has only as remote code, runs on Llama's modules with
its weights renamed at load (artimuse.model.internlm2).
"""

from __future__ import annotations

from dataclasses import dataclass

import transformers
from torch import nn

from artimuse.errors import CheckpointError
from artimuse.model import internlm2


@dataclass(frozen=True)
class LanguageModel:
    """How to build a checkpoint's LM and fit the file's tensors to it."""

    cls: type
    config: object  # a transformers config

    def build(self) -> nn.Module:
        return self.cls(self.config)

    def model_weights(self, tensors: dict) -> dict:
        """The file's tensors under the names of the built module."""
        return tensors


@dataclass(frozen=True)
class _InternLM2(LanguageModel):
    def model_weights(self, tensors: dict) -> dict:
        return internlm2.to_llama_weights(tensors, self.config)


def language_model(llm: dict, where: object) -> LanguageModel:
    """`llm_config` (without its attention backend) -> the LM to build; one-line errors."""
    arch = str(llm["architectures"][0])  # a list of names: `check_config`
    if arch == internlm2.ARCHITECTURE:
        return _InternLM2(transformers.LlamaForCausalLM, internlm2.llama_config(llm, where))
    cls = getattr(transformers, arch, None)
    if cls is None or not hasattr(cls, "config_class"):
        raise CheckpointError(
            f"{where}: language model {arch!r} is not a transformers class; supported: any "
            "causal LM in transformers (Qwen2ForCausalLM for ArtiMuse, LlamaForCausalLM, "
            f"Phi3ForCausalLM) and {internlm2.ARCHITECTURE}"
        )
    try:
        return LanguageModel(cls, cls.config_class.from_dict(llm))
    except (TypeError, ValueError) as error:  # transformers' own checks of the values
        raise CheckpointError(f"{where}: llm_config: {error}") from error
