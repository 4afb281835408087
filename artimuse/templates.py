"""The chat templates of InternVL-Chat checkpoints, named by `config.json`'s `template` (§5).

Each is one user turn with the image placeholder before the question; the strings, system
messages and stop tokens are the original `conversation.py`'s, byte for byte. Every prompt is
cut in two at `</img>`: the prefix (system turn + image) is shared by all 16 prompts of an image.
"""

from __future__ import annotations

from dataclasses import dataclass

from artimuse.errors import CheckpointError

IMG_START = "<img>"
IMG_END = "</img>"
IMG_CONTEXT = "<IMG_CONTEXT>"
IMAGE_PLACEHOLDER = "<image>"

# The system message InternVL 2.5 (and so ArtiMuse) was trained with.
INTERNVL2_5_SYSTEM = (
    "你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的"
    "多模态大语言模型。"
)
# The older one kept by the InternLM2 / Phi-3 / Hermes-2 templates "to avoid changes in
# benchmark performance" (the original's note).
INTERNVL2_SYSTEM = (
    "你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, "
    "是一个有用无害的人工智能助手。"
)


@dataclass(frozen=True)
class ChatTemplate:
    """A single-turn prompt: `system_part(system) + user + "<image>\\n" + question + end_user
    + assistant`. `stop` is the token that ends the answer: the original's `sep.strip()`."""

    name: str
    system_message: str  # used when config.json has no `system_message` key
    system_part: str  # with `{system}`
    user: str
    end_user: str
    assistant: str
    stop: str

    def prefix(self, system: str, num_image_tokens: int) -> str:
        """The part shared by every prompt of an image: it ends exactly at `</img>`."""
        image = IMG_START + IMG_CONTEXT * num_image_tokens + IMG_END
        return self.system_part.format(system=system) + self.user + image

    def suffix(self, question: str) -> str:
        return f"\n{question}{self.end_user}{self.assistant}"

    def prompt(self, system: str, question: str) -> str:
        """The whole prompt with `<image>` not yet expanded (as the original builds it)."""
        prefix = self.system_part.format(system=system) + self.user + IMAGE_PLACEHOLDER
        return prefix + self.suffix(question)


def _chatml(name: str, system_message: str, sep: str) -> ChatTemplate:
    """The original's MPT style with ChatML roles: system, then `sep` after every turn."""
    return ChatTemplate(
        name, system_message, "<|im_start|>system\n{system}" + sep, "<|im_start|>user\n", sep,
        "<|im_start|>assistant\n", sep.strip(),
    )


TEMPLATES: dict[str, ChatTemplate] = {
    t.name: t
    for t in (
        _chatml("internvl2_5", INTERNVL2_5_SYSTEM, "<|im_end|>\n"),
        # Hermes-2 and internlm2-chat differ only in training (a `<s>` the latter prepends);
        # Hermes-2's `stop_str` is not used by the chat code, which stops at `sep.strip()`.
        _chatml("internlm2-chat", INTERNVL2_SYSTEM, "<|im_end|>"),
        _chatml("Hermes-2", INTERNVL2_SYSTEM, "<|im_end|>"),
        ChatTemplate(
            "phi3-chat", INTERNVL2_SYSTEM, "<|system|>\n{system}<|end|>", "<|user|>\n",
            "<|end|>", "<|assistant|>\n", "<|end|>",
        ),
        # InternVL-Chat-V1-1 (INTERNVL_ZH style): the bare system message and a space after
        # each turn; it stops at `</s>`, the `sep` its turns are not joined with.
        ChatTemplate("internvl_zh", "", "{system} ", "<human>: ", " ", "<bot>:", "</s>"),
    )
}
DEFAULT_TEMPLATE = TEMPLATES["internvl2_5"]


def chat_template(config: dict, where: object) -> ChatTemplate:
    """The template `config.json` names; one line naming the known ones when it is unknown.

    A missing or null `template` means `internvl2_5`, the released checkpoints' (the original
    would fail on it: behaviour §11).
    """
    name = config.get("template")
    if name is None:
        return DEFAULT_TEMPLATE
    if isinstance(name, str) and name in TEMPLATES:
        return TEMPLATES[name]
    raise CheckpointError(
        f"{where}: unknown chat template {name!r}; known: {', '.join(TEMPLATES)}"
    )


def system_message(config: dict, template: ChatTemplate) -> str:
    """`str()` of the config's `system_message` if the key exists (null -> 'None'), else the
    template's own."""
    if "system_message" in config:
        return str(config["system_message"])
    return template.system_message
