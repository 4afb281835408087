"""Small sentencepiece tokenizers in the layout of InternLM2, Phi-3 and Llama checkpoints.

A byte-fallback BPE model trained on the ArtiMuse prompts, the chat templates' words and some
aesthetic vocabulary (as the real ones: `▁` word starts, `<unk>` `<s>` `</s>` as ids 0-2, digits
split), plus the 101 score pieces `aa`..`ey` appended where training did not make them; then the
family's added tokens after the vocabulary, written as `tokenizer.model`, `tokenizer_config.json`
and `special_tokens_map.json`. Both the original (transformers 4.37's slow classes) and this
package load them.
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2

from artimuse.prompts import (
    ASPECTS,
    SCORE_TOKENS,
    TOTAL_SCORE_QUESTION,
    aspect_score_question,
    comment_question,
)
from artimuse.templates import TEMPLATES

_VOCAB_SIZE = 900
_EXTRA_CORPUS = """
The composition of this image is balanced, with a clear focal point and a pleasing use of
negative space. The colors are harmonious and the lighting is soft, which creates a calm and
peaceful mood. The subject is sharp and well exposed; the background is slightly blurred.
However, the image lacks originality and the perspective feels ordinary. Overall, the photo
shows good technical execution, strong visual elements and an emotional response for the viewer.
"""
_INTERNVL = ("<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>",
             "<box>", "</box>")


@dataclass(frozen=True)
class SentencePieceLayout:
    """One family's tokenizer files: its class, added tokens (content, special) and settings."""

    tokenizer_class: str
    added: tuple[tuple[str, bool], ...]
    eos: str = "</s>"
    pad: str = "</s>"
    legacy: bool | None = None  # LlamaTokenizer only
    rstrip: frozenset[str] = frozenset()  # added tokens that take the spaces after them

    @property
    def additional_special(self) -> list[str]:
        return [t for t, special in self.added if special]


_CHATML = (("<|im_start|>", True), ("<|im_end|>", True), ("<|action_start|>", True),
           ("<|action_end|>", True), ("<|interpreter|>", True), ("<|plugin|>", True))
# <img>, </img>, <IMG_CONTEXT> special; the grounding tokens plain added tokens (kept in text).
_VISION = tuple((t, t in ("<img>", "</img>", "<IMG_CONTEXT>")) for t in _INTERNVL)
_PHI3 = ("<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
         "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>",
         "<|placeholder6|>", "<|user|>")
LAYOUTS: dict[str, SentencePieceLayout] = {
    "internlm2": SentencePieceLayout("InternLM2Tokenizer", _CHATML + _VISION),
    # Phi-3-mini's: its chat tokens take the spaces after them (`rstrip`), eos <|endoftext|>.
    "phi3": SentencePieceLayout(
        "LlamaTokenizer", tuple((t, True) for t in _PHI3) + _VISION, eos="<|endoftext|>",
        pad="<|endoftext|>", legacy=False, rstrip=frozenset(_PHI3[1:]),
    ),
    "llama": SentencePieceLayout("LlamaTokenizer", _CHATML[:2] + _VISION, legacy=True),
}


def _corpus() -> list[str]:
    questions = [TOTAL_SCORE_QUESTION, *(aspect_score_question(a) for a in ASPECTS)]
    questions += [comment_question(a) for a in ASPECTS]
    lines = [line for q in questions for line in q.split("\n")]
    for template in TEMPLATES.values():
        lines += [template.system_message, "system", "user", "assistant", "human", "bot"]
    return [line for line in lines + _EXTRA_CORPUS.split("\n") if line.strip()]


@functools.lru_cache(maxsize=1)
def model_bytes() -> bytes:
    """The trained model (deterministic: one thread, fixed corpus), score pieces appended."""
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_corpus()), model_writer=out, vocab_size=_VOCAB_SIZE,
        model_type="bpe", byte_fallback=True, character_coverage=1.0, split_digits=True,
        normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, num_threads=1,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, hard_vocab_limit=False,
        minloglevel=2,
    )
    proto = sentencepiece_model_pb2.ModelProto.FromString(out.getvalue())
    known = {piece.piece for piece in proto.pieces}
    lowest = min(piece.score for piece in proto.pieces)
    for token in SCORE_TOKENS:  # behaviour §7: each score token is one piece
        if token not in known:
            lowest -= 1.0
            proto.pieces.add(piece=token, score=lowest)
    return proto.SerializeToString()


def base_size() -> int:
    proto = sentencepiece_model_pb2.ModelProto.FromString(model_bytes())
    return len(proto.pieces)


def tokenizer_length(layout: SentencePieceLayout) -> int:
    return base_size() + len(layout.added)


def added_token_ids(layout: SentencePieceLayout) -> dict[str, int]:
    return {token: base_size() + i for i, (token, _) in enumerate(layout.added)}


def write_tokenizer(path: Path, layout: SentencePieceLayout) -> None:
    (path / "tokenizer.model").write_bytes(model_bytes())
    decoder = {
        "0": _token_dict("<unk>", True), "1": _token_dict("<s>", True),
        "2": _token_dict("</s>", True),
    }
    special = dict(layout.added)
    for token, i in added_token_ids(layout).items():
        decoder[str(i)] = _token_dict(token, special[token], token in layout.rstrip)
    config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": layout.additional_special,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "eos_token": layout.eos,
        "model_max_length": 8192,
        "pad_token": layout.pad,
        "sp_model_kwargs": {},
        "tokenizer_class": layout.tokenizer_class,
        "unk_token": "<unk>",
    }
    if layout.legacy is not None:
        config["legacy"] = layout.legacy
    _dump(path / "tokenizer_config.json", config)
    special_map = {
        "additional_special_tokens": layout.additional_special,
        "bos_token": "<s>", "eos_token": layout.eos, "pad_token": layout.pad,
        "unk_token": "<unk>",
    }
    _dump(path / "special_tokens_map.json", special_map)


def _token_dict(content: str, special: bool, rstrip: bool = False) -> dict:
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": rstrip,
            "single_word": False, "special": special}


def _dump(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
