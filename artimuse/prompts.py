"""Every prompt-side fact of ArtiMuse in one place (behaviour §4-7).

The trained weights expect these strings byte for byte: do not reformat them.
"""

from __future__ import annotations

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

# behaviour §5: the InternVL-Chat default, used when config.json has no `system_message` key.
DEFAULT_SYSTEM_MESSAGE = (
    "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的"
    "多模态大语言模型。"
)

IMG_START = "<img>"
IMG_END = "</img>"
IMG_CONTEXT = "<IMG_CONTEXT>"
IM_END = "<|im_end|>"
REQUIRED_SPECIAL_TOKENS = (IMG_START, IMG_END, IMG_CONTEXT, IM_END)

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


def system_message(config: dict) -> str:
    """behaviour §5: `str()` of the config's `system_message` if the key exists (null -> 'None')."""
    if "system_message" in config:
        return str(config["system_message"])
    return DEFAULT_SYSTEM_MESSAGE


def prompt_prefix(system: str, num_image_tokens: int) -> str:
    """The part shared by every prompt of an image: it ends exactly at `</img>`.

    Ending at an added token keeps the tokenization of prefix + suffix identical to that of
    the whole prompt, which is what lets one prefill serve all 16 prompts.
    """
    image = IMG_START + IMG_CONTEXT * num_image_tokens + IMG_END
    return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{image}"


def prompt_suffix(question: str) -> str:
    return f"\n{question}<|im_end|>\n<|im_start|>assistant\n"
