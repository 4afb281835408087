"""The chat templates against the original's conversation.py (tests/data/original_templates.json,
written from it by scripts/original_expected.py --templates)."""

from __future__ import annotations

import json
import re

import pytest

from artimuse.errors import CheckpointError
from artimuse.loading.tokenizer import decode_comment
from artimuse.prompts import ASPECTS, comment_question
from artimuse.templates import DEFAULT_TEMPLATE, TEMPLATES, chat_template, system_message
from tests.helpers import DATA

ORIGINAL = json.loads((DATA / "original_templates.json").read_text(encoding="utf-8"))


def test_every_template_of_the_original_is_known():
    assert set(TEMPLATES) == set(ORIGINAL)


@pytest.mark.parametrize("name", sorted(ORIGINAL))
def test_prompt_system_message_and_stop_are_the_originals(name):
    template, want = TEMPLATES[name], ORIGINAL[name]
    assert template.system_message == want["system_message"]
    assert template.stop == want["stop"]
    question = comment_question(ASPECTS[0])
    assert template.prompt(template.system_message, question) == want["prompts"]["default"]
    assert template.prompt("SYSTEM", question) == want["prompts"]["SYSTEM"]


@pytest.mark.parametrize("name", sorted(ORIGINAL))
def test_prefix_and_suffix_make_the_prompt_with_the_image(name):
    template = TEMPLATES[name]
    image = "<img>" + "<IMG_CONTEXT>" * 3 + "</img>"
    whole = template.prefix("S", 3) + template.suffix("Q")
    assert whole == template.prompt("S", "Q").replace("<image>", image)
    assert template.prefix("S", 3).endswith("</img>")


def test_the_template_comes_from_the_config():
    assert chat_template({"template": "phi3-chat"}, "config.json") is TEMPLATES["phi3-chat"]
    assert chat_template({}, "config.json") is DEFAULT_TEMPLATE  # leniency: behaviour §11


@pytest.mark.parametrize("name", ["chatml", "", 3, ["internvl2_5"]])
def test_an_unknown_template_is_one_line_naming_the_known_ones(name):
    with pytest.raises(CheckpointError) as error:
        chat_template({"template": name}, "ckpt/config.json")
    message = str(error.value)
    assert "\n" not in message and message.startswith("ckpt/config.json: unknown chat template")
    assert all(known in message for known in TEMPLATES)


def test_system_message_falls_back_to_the_templates_own():
    phi3 = TEMPLATES["phi3-chat"]
    assert system_message({}, phi3) == phi3.system_message != DEFAULT_TEMPLATE.system_message
    assert system_message({"system_message": None}, phi3) == "None"  # str(), as the original
    assert system_message({"system_message": "x"}, phi3) == "x"


def test_a_checkpoint_with_an_unknown_template_is_refused(tmp_path):
    import artimuse
    from artimuse.testing.checkpoints import CheckpointSpec, make_checkpoint

    path = make_checkpoint(tmp_path / "ckpt", CheckpointSpec(template="vicuna_v1.1"))
    with pytest.raises(CheckpointError, match=r"unknown chat template 'vicuna_v1.1'; known: "):
        artimuse.load(str(path), device="cpu", dtype="float32")


def test_a_comment_ends_at_the_templates_stop_token():
    """Phi-3's chat stops at `<|end|>`: the text is what comes before it."""
    import artimuse

    model = artimuse.load(str(DATA / "tiny-phi3"), device="cpu", dtype="float32")
    tokenizer, ids = model.engine.tokenizer, model.engine.ids
    assert ids.im_end == tokenizer.convert_tokens_to_ids("<|end|>")
    words = tokenizer.encode("soft light", add_special_tokens=False)
    after = tokenizer.encode(" and more", add_special_tokens=False)
    assert decode_comment(tokenizer, [*words, ids.im_end, *after], ids).strip() == "soft light"


def test_the_behaviour_document_shows_every_template_as_the_code_builds_it():
    text = (DATA.parent.parent / "docs" / "behaviour.md").read_text(encoding="utf-8")
    shown = dict(re.findall(r"^#### `([^`]+)`[^\n]*\n\n```text\n(.*?)\n```$", text, re.M | re.S))
    assert set(shown) == set(TEMPLATES) - {"Hermes-2"}  # Hermes-2: "the same text as ..."
    for name, block in shown.items():
        template = TEMPLATES[name]
        assert block.replace("\\n", "\n") == template.prompt("{system}", "{question}"), name
    assert TEMPLATES["Hermes-2"].prompt("S", "Q") == TEMPLATES["internlm2-chat"].prompt("S", "Q")
