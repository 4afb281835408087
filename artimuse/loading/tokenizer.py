"""Tokenizer loading, its load-time checks (behaviour §5, 7), the comment decoding rule (§8)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import transformers

from artimuse.errors import CheckpointError, CheckpointNotFound, read_json
from artimuse.loading.config_checks import check_object
from artimuse.prompts import IM_END, IMG_CONTEXT, REQUIRED_SPECIAL_TOKENS, SCORE_TOKENS


@dataclass(frozen=True)
class TokenIds:
    score: tuple[int, ...]  # SCORE_TOKENS' ids, in score order 0..100
    img_context: int
    im_end: int  # the chat's stop token
    pad: int
    skip_in_comments: frozenset[int]  # eos, pad and additional special tokens (behaviour §8)


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
    cls = getattr(transformers, str(class_name), None) or transformers.AutoTokenizer
    try:
        return cls.from_pretrained(str(ckpt_dir), trust_remote_code=False)
    except Exception as error:  # any library failure here is one user-facing fact
        raise CheckpointError(f"cannot load the tokenizer in {ckpt_dir}: {error}") from error


def token_ids(tokenizer, ckpt_dir: Path) -> TokenIds:
    """Check the tokens the model's prompts and scores rely on; one error names all problems."""
    problems = []
    missing = [t for t in REQUIRED_SPECIAL_TOKENS if _single_id(tokenizer, t) is None]
    if missing:
        problems.append(f"special tokens missing: {', '.join(missing)}")
    score = [_single_id(tokenizer, t) for t in SCORE_TOKENS]
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
    skip = {i for i in (tokenizer.eos_token_id, tokenizer.pad_token_id, *extra) if i is not None}
    return TokenIds(
        score=tuple(score),
        img_context=_single_id(tokenizer, IMG_CONTEXT),
        im_end=_single_id(tokenizer, IM_END),
        pad=pad,
        skip_in_comments=frozenset(skip),
    )


def _single_id(tokenizer, text: str) -> int | None:
    ids = tokenizer.encode(text, add_special_tokens=False)
    return ids[0] if len(ids) == 1 else None


def decode_comment(tokenizer, ids: list[int], token_ids_: TokenIds) -> str:
    """behaviour §8 without the final strip: the tokens before the first `<|im_end|>`, decoded."""
    if token_ids_.im_end in ids:
        ids = ids[: ids.index(token_ids_.im_end)]
    return decode_skipping_special(tokenizer, ids, token_ids_)


def decode_skipping_special(tokenizer, ids: list[int], token_ids_: TokenIds) -> str:
    """Decode skipping only eos, pad and the additional special tokens, as the original's slow
    tokenizer did; other added tokens such as `<box>` stay as text."""
    kept = [i for i in ids if i not in token_ids_.skip_in_comments]
    return tokenizer.decode(kept, skip_special_tokens=False, clean_up_tokenization_spaces=False)
