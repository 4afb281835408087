"""Tokenizer loading, its load-time checks (behaviour §5, 7), the comment decoding rule (§8)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import transformers

from artimuse.errors import CheckpointError, CheckpointNotFound, read_json
from artimuse.loading.config_checks import check_object
from artimuse.loading.slow_tokenizers import SLOW_TOKENIZERS
from artimuse.prompts import IMG_CONTEXT, REQUIRED_SPECIAL_TOKENS, SCORE_TOKENS
from artimuse.templates import DEFAULT_TEMPLATE, ChatTemplate


@dataclass(frozen=True)
class TokenIds:
    score: tuple[int, ...]  # SCORE_TOKENS' ids, in score order 0..100
    img_context: int
    im_end: int  # the chat template's stop token (`<|im_end|>` for the released checkpoints)
    pad: int
    skip_in_comments: frozenset[int]  # the tokenizer's special ids (behaviour §8)


def load_tokenizer(ckpt_dir: Path):
    """The checkpoint's own tokenizer class, never remote code."""
    config_file = ckpt_dir / "tokenizer_config.json"
    if not config_file.is_file():
        raise CheckpointNotFound(f"tokenizer files missing: no {config_file}")
    raw = read_json(config_file, CheckpointError, "a tokenizer config")
    settings = check_object(raw, config_file)
    class_name = settings.get("tokenizer_class")
    # Naming the class keeps transformers from reading the InternVL config.json (and its
    # `auto_map`), which it cannot parse and which would ask to trust remote code.
    cls = SLOW_TOKENIZERS.get(str(class_name))  # the original's slow classes
    cls = cls or getattr(transformers, str(class_name), None) or transformers.AutoTokenizer
    try:
        return cls.from_pretrained(str(ckpt_dir), trust_remote_code=False)
    except Exception as error:  # any library failure here is one user-facing fact
        raise CheckpointError(f"cannot load the tokenizer in {ckpt_dir}: {error}") from error


def token_ids(tokenizer, ckpt_dir: Path, template: ChatTemplate = DEFAULT_TEMPLATE) -> TokenIds:
    """Check the tokens the model's prompts and scores rely on; one error names all problems."""
    problems = []
    required = (*REQUIRED_SPECIAL_TOKENS, template.stop)
    missing = [t for t in required if _single_id(tokenizer, t) is None]
    if missing:
        problems.append(f"special tokens missing: {', '.join(missing)}")
    # As the original: the vocabulary's ids of these pieces (for a sentencepiece vocabulary
    # `aa`, not the `▁aa` that encoding the text "aa" would give).
    score = [_piece_id(tokenizer, t) for t in SCORE_TOKENS]
    not_single = [t for t, i in zip(SCORE_TOKENS, score) if i is None]
    if not_single:
        problems.append(f"score tokens that are not single tokens: {', '.join(not_single)}")
    elif len(set(score)) != len(score):
        problems.append("the 101 score tokens do not map to 101 distinct ids")
    if problems:
        raise CheckpointError(
            f"the tokenizer in {ckpt_dir} does not fit ArtiMuse: {'; '.join(problems)}"
        )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    extra = tokenizer.convert_tokens_to_ids(list(tokenizer.extra_special_tokens))
    named = (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id)
    skip = {i for i in (*named, tokenizer.pad_token_id, *extra) if i is not None}
    return TokenIds(
        score=tuple(score),
        img_context=_single_id(tokenizer, IMG_CONTEXT),
        im_end=_single_id(tokenizer, template.stop),
        pad=pad,
        skip_in_comments=frozenset(skip),
    )


def _single_id(tokenizer, text: str) -> int | None:
    ids = tokenizer.encode(text, add_special_tokens=False)
    return ids[0] if len(ids) == 1 else None


def _piece_id(tokenizer, piece: str) -> int | None:
    token_id = tokenizer.convert_tokens_to_ids(piece)
    if token_id is None or tokenizer.convert_ids_to_tokens(token_id) != piece:
        return None  # not in the vocabulary (looked up as the unknown token)
    return token_id


def decode_comment(tokenizer, ids: list[int], token_ids_: TokenIds) -> str:
    """behaviour §8 without the final strip: the tokens before the first stop token, decoded."""
    if token_ids_.im_end in ids:
        ids = ids[: ids.index(token_ids_.im_end)]
    return decode_skipping_special(tokenizer, ids, token_ids_)


def decode_skipping_special(tokenizer, ids: list[int], token_ids_: TokenIds) -> str:
    """Decode skipping only the special tokens (bos, eos, unk, pad, the additional ones), as the
    original's slow tokenizer did; other added tokens such as `<box>` stay as text."""
    kept = [i for i in ids if i not in token_ids_.skip_in_comments]
    return tokenizer.decode(kept, skip_special_tokens=False, clean_up_tokenization_spaces=False)
