"""The sentencepiece tokenizers of InternLM2, Phi-3 and Llama checkpoints, as the original ran them.

The original loads every tokenizer with `use_fast=False`: the python ("slow") classes of
transformers 4.37 (`LlamaTokenizer`, which Phi-3 checkpoints name too) and InternLM2's own
remote-code class. transformers 5 converts sentencepiece files to `tokenizers` models, whose
splitting around added tokens and whose decoding differ from those classes in small ways (the
`▁` after an added token, the space the slow decoders put around added tokens), and it cannot
run InternLM2's class without executing checkpoint code. So these classes rebuild the slow
behaviour on transformers 5's own sentencepiece backend: its added-token splitting is the slow
one; what is written here is each class's `_tokenize`, `convert_tokens_to_string` and the 4.37
`_decode`, whose joining of added tokens no library offers any more.
"""

from __future__ import annotations

from transformers.tokenization_utils_sentencepiece import SentencePieceBackend

SPIECE_UNDERLINE = "▁"


class _SlowSentencePiece(SentencePieceBackend):
    """What the slow sentencepiece classes share: a `<s>` before the text, the 4.37 decoding."""

    def __init__(self, *args, add_bos_token=True, add_eos_token=False, **kwargs):
        self.add_bos_token, self.add_eos_token = add_bos_token, add_eos_token
        kwargs.setdefault("clean_up_tokenization_spaces", False)
        super().__init__(*args, **kwargs)

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        bos = [self.bos_token_id] if self.add_bos_token else []
        eos = [self.eos_token_id] if self.add_eos_token else []
        ids = bos + token_ids_0 + eos
        return ids if token_ids_1 is None else ids + bos + token_ids_1 + eos

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return len(self.build_inputs_with_special_tokens([], [] if pair else None))

    def _decode(
        self,
        token_ids,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        spaces_between_special_tokens: bool = True,
        **kwargs,
    ) -> str:
        """transformers 4.37's slow decoding: the text between added tokens through
        `convert_tokens_to_string`, the pieces joined with single spaces."""
        ids = [token_ids] if isinstance(token_ids, int) else token_ids
        tokens = self.convert_ids_to_tokens(ids, skip_special_tokens=skip_special_tokens)
        special = set(self.all_special_tokens)
        kept_apart = set(self._added_tokens_encoder) - special | {
            token for token in self.extra_special_tokens
            if self.convert_tokens_to_ids(token) >= self.vocab_size
        }
        pieces, run = [], []
        for token in tokens:
            if token not in kept_apart:
                run.append(token)
                continue
            if run:
                text = self.convert_tokens_to_string(run)
                if text:
                    pieces.append(text)
                run = []
            pieces.append(token)
        if run:
            pieces.append(self.convert_tokens_to_string(run))
        text = (" " if spaces_between_special_tokens else "").join(pieces)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return self.clean_up_tokenization(text) if clean_up_tokenization_spaces else text


class InternLM2Tokenizer(_SlowSentencePiece):
    """InternLM2's tokenizer: plain `sp.encode` of the text between added tokens."""

    def __init__(self, *args, **kwargs):
        kwargs["legacy"] = True  # the model file as it is, dummy prefix included
        kwargs.setdefault("pad_token", "</s>")
        super().__init__(*args, **kwargs)

    def _tokenize(self, text, **kwargs):
        return self.sp_model.encode(text, out_type=str)

    def convert_tokens_to_string(self, tokens):
        """The original class's: a space before each run of special tokens, the rest through
        sentencepiece, always cleaned up. Its closing "prefix space" rule adds a space and drops
        the first character; it tests a token string against a set of ids, so for any tokens it
        adds the very space it drops, and is left out."""
        out, run, prev_special = "", [], False
        special = set(self.all_special_tokens)
        for token in tokens:
            if token in special:
                out += ("" if prev_special else " ") + self.sp_model.decode(run) + token
                run, prev_special = [], True
            else:
                run.append(token)
                prev_special = False
        return self.clean_up_tokenization(out + self.sp_model.decode(run))


class LlamaTokenizer(_SlowSentencePiece):
    """transformers 4.37's slow `LlamaTokenizer` (Llama and Phi-3 checkpoints), `legacy` as
    their config says (absent: legacy, as 4.37 assumed)."""

    def __init__(self, *args, legacy=None, **kwargs):
        kwargs["legacy"] = True if legacy is None else legacy
        super().__init__(*args, **kwargs)

    def tokenize(self, text, **kwargs):
        """Non-legacy: a `▁` before the text, dropped when an added token comes first."""
        if self.legacy or not text:
            return super().tokenize(text, **kwargs)
        text = text.replace(SPIECE_UNDERLINE, " ")
        tokens = super().tokenize(SPIECE_UNDERLINE + text, **kwargs)
        special = set(self.all_special_tokens)
        if len(tokens) > 1 and tokens[0] == SPIECE_UNDERLINE and tokens[1] in special:
            tokens = tokens[1:]
        return tokens

    def convert_tokens_to_string(self, tokens):
        if tokens and tokens[0].startswith(SPIECE_UNDERLINE):
            tokens = [tokens[0][1:], *tokens[1:]]
        out, run, prev_special = "", [], False
        special = set(self.all_special_tokens)
        for i, token in enumerate(tokens):
            if token in special:
                if not prev_special and i != 0 and self.legacy:
                    out += " "
                out += self.sp_model.decode(run) + token
                run, prev_special = [], True
            else:
                run.append(token)
                prev_special = False
        return out + self.sp_model.decode(run)


# By `tokenizer_class`; a "...Fast" name too, since the original asks for `use_fast=False`.
SLOW_TOKENIZERS = {
    name: cls
    for cls in (InternLM2Tokenizer, LlamaTokenizer)
    for name in (cls.__name__, cls.__name__ + "Fast")
}
