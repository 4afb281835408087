"""Turning a growing list of token ids into text deltas that are always valid text."""

from __future__ import annotations

from artimuse.loading.tokenizer import TokenIds, decode_comment

REPLACEMENT = "\ufffd"


class CommentText:
    """One comment being generated.

    A byte-level token can end in the middle of a UTF-8 character; the decode then ends in
    U+FFFD until the next token completes it. Deltas hold back such a tail, and trailing
    whitespace (the final text is stripped), so the deltas always add up to the final text.
    """

    def __init__(self, tokenizer, ids: TokenIds):
        self.tokenizer, self.ids = tokenizer, ids
        self.tokens: list[int] = []
        self.sent = ""
        self.done = False

    def add(self, token: int) -> str:
        """Append one new token; return the text that is now safe to show."""
        self.tokens.append(token)
        self.done = token == self.ids.im_end
        if self.done:
            return self.finish()
        text = self._text().strip()
        safe = text.rstrip(REPLACEMENT)
        return self._advance(safe)

    def finish(self) -> str:
        """The rest of the text once generation stopped (also at `max_new_tokens`)."""
        self.done = True
        return self._advance(self.final)

    @property
    def final(self) -> str:
        return self._text().strip()

    def _text(self) -> str:
        return decode_comment(self.tokenizer, self.tokens, self.ids)

    def _advance(self, safe: str) -> str:
        if not safe.startswith(self.sent):  # cannot happen for byte-level BPE; stay consistent
            return ""
        delta, self.sent = safe[len(self.sent) :], safe
        return delta
