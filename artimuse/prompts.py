"""Every prompt-side fact of ArtiMuse in one place (behaviour §4-7).

The trained weights expect these strings byte for byte: do not reformat them.
"""

from __future__ import annotations

from artimuse.templates import (  # the image tokens are named from here too
    DEFAULT_TEMPLATE,
    IMG_CONTEXT,
    IMG_END,
    IMG_START,
    INTERNVL2_5_SYSTEM,
    ChatTemplate,
)

# behaviour §4: eight aspects in this order; the radar chart uses the first seven.
ASPECTS: tuple[str, ...] = (
    "Composition & Design",
    "Visual Elements & Structure",
    "Technical Execution",
    "Originality & Creativity",
    "Theme & Communication",
    "Emotion & Viewer Response",
    "Overall Gestalt",
    "Comprehensive Evaluation",
)
RADAR_ASPECTS: tuple[str, ...] = ASPECTS[:7]
COMPREHENSIVE: str = ASPECTS[7]

# behaviour §5: the chat templates live in artimuse.templates; these are the released
# checkpoints' (`internvl2_5`) facts, kept here for the callers that name them.
DEFAULT_SYSTEM_MESSAGE = INTERNVL2_5_SYSTEM
IM_END = "<|im_end|>"
REQUIRED_SPECIAL_TOKENS = (IMG_START, IMG_END, IMG_CONTEXT)  # and the template's stop token

# behaviour §6: exact question strings (leading newline, 8-space indents, trailing spaces).
TOTAL_SCORE_QUESTION = (
    "\n        Rate the aesthetics score of the image in 0-100. \n"
    "        In the output format, numbers are replaced by 2 corresponding letters, \n"
    "        and the mapping relationship is: \n"
    "        score 0 to 25: 0-aa, 1-ab, 2-ac, 3-ad, ... , 25-az,\n"
    "        score 26 to 50: 26-ca, 27-cb, 28-cc, 29-cd, ..., 50-cy,\n"
    "        score 51 to 75: 51-da, 52-db, 53-dc, 54-dd, ..., 75-dy,\n"
    "        score 76 to 100: 76-ea, 77-eb, 78-ec, 79-ed, ..., 100-ey.\n"
    "\n"
    "        The answer only outputs 2 corresponding letters.\n"
    "        "
)


def aspect_score_question(aspect: str) -> str:
    return (
        f"Please evaluate {aspect}. Rate the score of the image in 0-100. In the output format, "
        "numbers are replaced by 2 corresponding letters with mapping: 0-aa ... 100-ey. "
        "The answer only outputs 2 corresponding letters."
    )


def comment_question(aspect: str) -> str:
    return f"Please evaluate the aesthetic quality of this image from the aspect of {aspect}."


# The 8 score questions by key, in the row order of a score batch: the total, then the radar.
SCORE_QUESTIONS: dict[str, str] = {
    "total": TOTAL_SCORE_QUESTION,
    **{aspect: aspect_score_question(aspect) for aspect in RADAR_ASPECTS},
}
SCORE_KEYS: tuple[str, ...] = tuple(SCORE_QUESTIONS)


def _score_tokens() -> tuple[str, ...]:
    """behaviour §7: `aa`..`az` (0-25), `ca`..`cy` (26-50), `da`..`dy` (51-75), `ea`..`ey`."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    blocks = (("a", 26), ("c", 25), ("d", 25), ("e", 25))  # there is no `b` block
    return tuple(first + second for first, count in blocks for second in letters[:count])


SCORE_TOKENS: tuple[str, ...] = _score_tokens()
assert len(SCORE_TOKENS) == 101  # a fact about this module, not user input


def prompt_prefix(
    system: str, num_image_tokens: int, template: ChatTemplate = DEFAULT_TEMPLATE
) -> str:
    """The part shared by every prompt of an image: it ends exactly at `</img>`.

    Ending at an added token keeps the tokenization of prefix + suffix identical to that of
    the whole prompt, which is what lets one prefill serve all 16 prompts.
    """
    return template.prefix(system, num_image_tokens)


def prompt_suffix(question: str, template: ChatTemplate = DEFAULT_TEMPLATE) -> str:
    return template.suffix(question)
