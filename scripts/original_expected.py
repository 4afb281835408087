"""Run the original ArtiMuse code on a conformance checkpoint and write what it computes.

This runs in the original's own environment, not this package's (see original_env.sh: torch
2.13 CPU, transformers 4.37.2 as the original pins), and imports nothing from `artimuse`:

    /tmp/origenv/bin/python scripts/original_expected.py --original ORIGINAL_REPO/src \
        --checkpoint tests/data/tiny-internlm2 --pixels tests/data/tiny-a/pixels \
        --out tests/data/tiny-internlm2/expected.json
    /tmp/origenv/bin/python scripts/original_expected.py --original ORIGINAL_REPO/src \
        --templates tests/data/original_templates.json

It loads the model with the original's `InternVLChatModel.from_pretrained` (float32, one
thread, eager attention: flash-attn absent) and its tokenizer class (`use_fast=False`), then per
image: the total score through the original's `score()`, the seven aspect scores the way
`score()` computes (its steps with the aspect question), and the eight comments through its
`chat()` (greedy, `max_new_tokens` 12), recording the generated ids as well. The original
imports `timm` for a training-only `DropPath`; it is replaced by the identity (what it is in
eval mode), so that timm and torchvision need not be installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ASPECTS = (
    "Composition & Design", "Visual Elements & Structure", "Technical Execution",
    "Originality & Creativity", "Theme & Communication", "Emotion & Viewer Response",
    "Overall Gestalt", "Comprehensive Evaluation",
)
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
MAX_NEW_TOKENS = 12
# `score()`'s own question (behaviour §6), to record its prompt and check `score_of` against it.
TOTAL_QUESTION = (
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


def aspect_question(aspect: str) -> str:
    return (
        f"Please evaluate {aspect}. Rate the score of the image in 0-100. In the output format, "
        "numbers are replaced by 2 corresponding letters with mapping: 0-aa ... 100-ey. "
        "The answer only outputs 2 corresponding letters."
    )


def comment_question(aspect: str) -> str:
    return f"Please evaluate the aesthetic quality of this image from the aspect of {aspect}."


def import_original(src: Path):
    stubs = Path(tempfile.mkdtemp(prefix="timm-stub-"))
    (stubs / "timm" / "models").mkdir(parents=True)
    (stubs / "timm" / "__init__.py").write_text("")
    (stubs / "timm" / "models" / "__init__.py").write_text("")
    (stubs / "timm" / "models" / "layers.py").write_text(
        "from torch.nn import Identity as DropPath  # the identity in eval mode\n"
    )
    sys.path[:0] = [str(src), str(src / "artimuse"), str(stubs)]
    from artimuse.internvl.conversation import get_conv_template
    from artimuse.internvl.model.internvl_chat.aes_tokens import AESTHETICS_TOKEN_LIST
    from artimuse.internvl.model.internvl_chat.modeling_artimuse import InternVLChatModel
    from internvl.model.internlm2.tokenization_internlm2 import InternLM2Tokenizer

    return InternVLChatModel, InternLM2Tokenizer, get_conv_template, AESTHETICS_TOKEN_LIST


def load_tokenizer(ckpt: Path, internlm2_class):
    from transformers import AutoTokenizer

    settings = json.loads((ckpt / "tokenizer_config.json").read_text(encoding="utf-8"))
    if settings.get("tokenizer_class") == "InternLM2Tokenizer":
        # What `trust_remote_code` would run: the checkpoint's copy of this very class.
        return internlm2_class.from_pretrained(str(ckpt))
    return AutoTokenizer.from_pretrained(str(ckpt), trust_remote_code=False, use_fast=False)


def pixel_values(png: Path) -> torch.Tensor:
    """The resized image (the original's transform up to ToTensor) -> normalized (1, 3, S, S)."""
    array = np.asarray(Image.open(png).convert("RGB"), dtype=np.float32) / 255.0
    array = (array - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]


def build_query(model, get_conv_template, question: str) -> str:
    """`score()`'s / `chat()`'s query construction, step for step."""
    question = "<image>\n" + question
    template = get_conv_template(model.template)
    template.system_message = model.system_message
    template.append_message(template.roles[0], question)
    template.append_message(template.roles[1], None)
    image = "<img>" + "<IMG_CONTEXT>" * model.num_image_token + "</img>"
    return template.get_prompt().replace("<image>", image, 1)


def score_of(model, tokenizer, pixels, query: str, score_ids: list[int]) -> dict:
    """`score()`'s computation for any question: logits of the score ids at the last position."""
    inputs = tokenizer(query, return_tensors="pt")
    out = model.generate_logits(
        pixel_values=pixels, input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]
    )
    logits = out.logits[:, -1, score_ids].float()
    probs = torch.softmax(logits, -1)
    score = probs @ torch.arange(101, dtype=probs.dtype)
    return {"score": float(score), "probs": probs[0].tolist()}


def comment_of(model, tokenizer, pixels, aspect: str, stop_id: int) -> dict:
    captured = []
    generate = model.generate

    def capture(*args, **kwargs):
        captured.append(generate(*args, **kwargs))
        return captured[-1]

    model.generate = capture
    config = dict(max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                  pad_token_id=tokenizer.eos_token_id)
    try:
        response = model.chat("cpu", tokenizer, pixels, comment_question(aspect), config)
    finally:
        del model.generate
    ids = captured[-1][0].tolist()
    # generate() from embeddings starts its output with the LM config's bos id; then the new
    # tokens, finished rows padded (with the tokenizer's eos id).
    start = model.language_model.config.bos_token_id
    if ids[0] != start:
        raise SystemExit(f"generate() output starts with {ids[0]}, not bos {start}")
    new = ids[1:]
    if stop_id in new:
        new = new[: new.index(stop_id) + 1]
    return {"output_prefix_ids": ids[:1], "ids": new, "hit_eos": stop_id in new,
            "response": response}


def write_templates(out: Path) -> None:
    """Every template of the original's conversation.py: one image turn's prompt, with the
    default system message and with a given one, and the stop token its chat code uses."""
    from artimuse.internvl.conversation import conv_templates, get_conv_template

    templates = {}
    for name in conv_templates:
        prompts = {}
        for system in (None, "SYSTEM"):
            template = get_conv_template(name)
            if system is not None:
                template.system_message = system
            template.append_message(template.roles[0], "<image>\n" + comment_question(ASPECTS[0]))
            template.append_message(template.roles[1], None)
            prompts["default" if system is None else system] = template.get_prompt()
        stop = get_conv_template(name).sep.strip()
        templates[name] = {"system_message": get_conv_template(name).system_message,
                           "prompts": prompts, "stop": stop}
    out.write_text(json.dumps(templates, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--original", type=Path, required=True, help="the original's src/")
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--pixels", type=Path, help="folder of *_448.png")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--templates", type=Path, help="write the templates' prompts and stop")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model_cls, internlm2_tokenizer, get_conv_template, score_tokens = import_original(
        args.original.resolve()
    )
    if args.templates:
        write_templates(args.templates)
    if not args.checkpoint:
        return
    model = model_cls.from_pretrained(
        str(args.checkpoint), torch_dtype=torch.float32, use_flash_attn=False
    ).eval()
    tokenizer = load_tokenizer(args.checkpoint, internlm2_tokenizer)
    model.img_context_token_id = tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")
    score_ids = [tokenizer.convert_tokens_to_ids(t) for t in score_tokens]
    stop = get_conv_template(model.template).sep.strip()
    stop_id = tokenizer.convert_tokens_to_ids(stop)
    questions = {"total_score": TOTAL_QUESTION}
    questions |= {f"aspect_score::{a}": aspect_question(a) for a in ASPECTS[:7]}
    questions |= {f"comment::{a}": comment_question(a) for a in ASPECTS}
    prompts = {}
    for key, question in questions.items():
        query = build_query(model, get_conv_template, question)
        prompts[key] = {"query": _short(query, model.num_image_token),
                        "input_ids": tokenizer(query)["input_ids"]}

    def _query(key: str) -> str:
        return build_query(model, get_conv_template, questions[key])

    images = {}
    with torch.no_grad():
        for png in sorted(args.pixels.glob("*_448.png")):
            pixels = pixel_values(png)
            total = score_of(model, tokenizer, pixels, _query("total_score"), score_ids)
            official = model.score("cpu", tokenizer, pixels, {})
            if abs(official - total["score"]) > 1e-5:  # the replica of score() is exact
                raise SystemExit(f"score() gave {official}, its steps {total['score']}")
            aspects = {
                a: score_of(model, tokenizer, pixels, _query(f"aspect_score::{a}"), score_ids)
                ["score"]
                for a in ASPECTS[:7]
            }
            images[png.stem.removesuffix("_448")] = {
                "total_score": total,
                "aspect_scores": aspects,
                "comments": {a: comment_of(model, tokenizer, pixels, a, stop_id) for a in ASPECTS},
            }
    weights = args.checkpoint / "model.safetensors"
    result = {
        "fixture": args.checkpoint.name,
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "environment": {"torch": torch.__version__, "transformers": _version("transformers"),
                        "sentencepiece": _version("sentencepiece"), "threads": 1,
                        "dtype": "float32"},
        "model": {"template": model.template, "system_message": model.system_message,
                  "num_image_token": model.num_image_token, "max_new_tokens": MAX_NEW_TOKENS,
                  "llm": type(model.language_model).__name__},
        "tokenizer": {"class": type(tokenizer).__name__, "score_token_ids": score_ids,
                      "img_context_id": model.img_context_token_id, "stop_token": stop,
                      "stop_id": stop_id, "all_special_ids": sorted(tokenizer.all_special_ids)},
        "prompts": prompts,
        "images": images,
    }
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


def _short(query: str, n: int) -> str:
    return query.replace("<IMG_CONTEXT>" * n, f"<IMG_CONTEXT>*{n}")


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
