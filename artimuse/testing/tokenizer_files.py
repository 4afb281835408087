"""A small Qwen2-style byte-level BPE tokenizer, written in the released checkpoints' file layout.

The merges come from a tiny deterministic BPE run over the ArtiMuse prompts and some aesthetic
vocabulary, so prompts split into realistic multi-character tokens; every score token is made a
single token; the added tokens (ids, order, `special` flags) are those of the InternVL-Chat
Qwen2.5 checkpoints, appended after the base vocabulary as in the real tokenizer.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections import Counter
from pathlib import Path

from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

from artimuse.prompts import (
    ASPECTS,
    DEFAULT_SYSTEM_MESSAGE,
    IM_END,
    SCORE_TOKENS,
    TOTAL_SCORE_QUESTION,
    aspect_score_question,
    comment_question,
)

# Qwen2's pre-tokenizer split pattern (tokenizer.json of every Qwen2 / Qwen2.5 checkpoint).
QWEN2_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
PAD_TOKEN = "<|endoftext|>"

# (content, special) in id order after the base vocabulary, as in the InternVL-Chat Qwen2.5
# tokenizers: Qwen2's own 22 added tokens, then the 9 InternVL tokens.
_QWEN2_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
_QWEN2_PLAIN = [
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
]
_INTERNVL = [
    "<img>",
    "</img>",
    "<IMG_CONTEXT>",
    "<quad>",
    "</quad>",
    "<ref>",
    "</ref>",
    "<box>",
    "</box>",
]
ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    *((t, True) for t in _QWEN2_SPECIAL),
    *((t, False) for t in _QWEN2_PLAIN),
    *((t, True) for t in _INTERNVL),
)
# Qwen2 lists every special added token except the pad/eot token as "additional".
ADDITIONAL_SPECIAL_TOKENS: tuple[str, ...] = tuple(_QWEN2_SPECIAL[1:])

_EXTRA_CORPUS = """
The composition of this image is balanced, with a clear focal point and a pleasing use of
negative space. The colors are harmonious and the lighting is soft, which creates a calm and
peaceful mood. The subject is sharp and well exposed; the background is slightly blurred.
However, the image lacks originality and the perspective feels ordinary. Overall, the photo
shows good technical execution, strong visual elements and an emotional response for the viewer.
"""
_NUM_TRAINED_MERGES = 600
_MAX_TOKEN_CHARS = 12  # byte-level characters: at most 4 CJK characters per token, as in Qwen2


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (the base alphabet, in Qwen2's order)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    chars, extra = list(printable), 0
    mapping = {b: chr(b) for b in printable}
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            chars.append(b)
            extra += 1
    return {b: mapping[b] for b in chars}


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def _corpus() -> str:
    questions = [TOTAL_SCORE_QUESTION, *(aspect_score_question(a) for a in ASPECTS)]
    questions += [comment_question(a) for a in ASPECTS]
    turns = [f"user\n{question}\nassistant\n" for question in questions]  # template words
    return "\n".join([f"system\n{DEFAULT_SYSTEM_MESSAGE}", *turns, _EXTRA_CORPUS])


@functools.lru_cache(maxsize=1)
def base_vocab_and_merges() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Base vocabulary in id order and the ranked merges (deterministic; ~0.2 s, cached)."""
    pieces = Counter(p for p, _ in _pre_tokenizer().pre_tokenize_str(_corpus()))
    words = {tuple(piece): count for piece, count in pieces.items()}
    vocab = list(bytes_to_unicode().values())
    merges: list[tuple[str, str]] = []
    while len(merges) < _NUM_TRAINED_MERGES:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in words.items():
            for pair in itertools.pairwise(word):
                if len(pair[0]) + len(pair[1]) <= _MAX_TOKEN_CHARS:
                    pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))  # most frequent, ties alphabetical
        merges.append(best)
        vocab.append(best[0] + best[1])
        words = {_merge(word, best): count for word, count in words.items()}
    known = set(vocab)
    for token in SCORE_TOKENS:  # behaviour §7: each score token must be one token
        if token not in known:
            merges.append((token[0], token[1]))
            vocab.append(token)
    return tuple(vocab), tuple(merges)


def _merge(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    out: list[str] = []
    i = 0
    while i < len(word):
        if word[i : i + 2] == pair:
            out.append(pair[0] + pair[1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


def tokenizer_length() -> int:
    """Number of ids: base vocabulary + added tokens (the default LM vocab_size)."""
    return len(base_vocab_and_merges()[0]) + len(ADDED_TOKENS)


def added_token_ids() -> dict[str, int]:
    base = len(base_vocab_and_merges()[0])
    return {content: base + i for i, (content, _) in enumerate(ADDED_TOKENS)}


def write_tokenizer(path: Path, tokenizer_json: bool = True, model_max_length: int = 12288) -> None:
    """Write vocab.json, merges.txt, tokenizer_config.json, added_tokens.json,
    special_tokens_map.json and, if `tokenizer_json`, tokenizer.json into `path`."""
    vocab, merges = base_vocab_and_merges()
    ids = added_token_ids()
    _dump(path / "vocab.json", {token: i for i, token in enumerate(vocab)})
    lines = ["#version: 0.2", *(f"{a} {b}" for a, b in merges)]
    (path / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _dump(path / "added_tokens.json", dict(sorted(ids.items())))
    special_map = {
        "additional_special_tokens": list(ADDITIONAL_SPECIAL_TOKENS),
        "eos_token": _token_dict(IM_END),
        "pad_token": _token_dict(PAD_TOKEN),
    }
    _dump(path / "special_tokens_map.json", special_map)
    _dump(path / "tokenizer_config.json", _tokenizer_config(ids, model_max_length))
    if tokenizer_json:
        _fast_tokenizer(vocab, merges, ids).save(str(path / "tokenizer.json"))


def _tokenizer_config(ids: dict[str, int], model_max_length: int) -> dict:
    special = dict(ADDED_TOKENS)
    decoder = {
        str(i): {**_token_dict(content), "special": special[content]} for content, i in ids.items()
    }
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": list(ADDITIONAL_SPECIAL_TOKENS),
        "bos_token": None,
        "clean_up_tokenization_spaces": False,
        "eos_token": IM_END,
        "errors": "replace",
        "model_max_length": model_max_length,
        "pad_token": PAD_TOKEN,
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def _fast_tokenizer(vocab: tuple[str, ...], merges: tuple, ids: dict[str, int]) -> Tokenizer:
    bpe = models.BPE(
        vocab={token: i for i, token in enumerate(vocab)},
        merges=list(merges),
        unk_token=None,
        continuing_subword_prefix="",
        end_of_word_suffix="",
        fuse_unk=False,
        byte_fallback=False,
    )
    tok = Tokenizer(bpe)
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = _pre_tokenizer()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    special = dict(ADDED_TOKENS)
    for content, i in sorted(ids.items(), key=lambda item: item[1]):
        added = AddedToken(content, normalized=False, special=special[content])
        if special[content]:
            tok.add_special_tokens([added])
        else:
            tok.add_tokens([added])
        if tok.token_to_id(content) != i:
            raise RuntimeError(
                f"added token {content!r} got id {tok.token_to_id(content)}, not {i}"
            )
    return tok


def _token_dict(content: str) -> dict:
    return {
        "content": content,
        "lstrip": False,
        "normalized": False,
        "rstrip": False,
        "single_word": False,
    }


def _dump(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
