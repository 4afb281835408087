"""Every word the web app shows, in English and Simplified Chinese, and how a visitor's language
is chosen.

Static texts (tab names, labels, button captions) are marked `ui("key")` and translated in the
browser by gradio's `gr.I18n` from the page's locale; everything the handlers build in Python
(panels, messages, chart titles, exports) is translated here with `text(key, lang, ...)` for
the language the page reports. The model's prompts, its comments and the JSON keys stay in
English, as the checkpoints and the seed format require (behaviour §9).
"""

from __future__ import annotations

import gradio as gr
from gradio.i18n import I18nData

from artimuse.prompts import ASPECTS

EN, ZH = "en", "zh-CN"
LANGUAGES = {EN: "English", ZH: "简体中文"}  # each named in its own language, for the switch

# key -> (English, 简体中文); `{name}` fields are filled in by `text`.
TEXTS: dict[str, tuple[str, str]] = {
    # the page
    "app.header": (
        "# ArtiMuse\nAn aesthetic score, seven aspects and an expert's comments for any picture.",
        "# ArtiMuse\n为任何图片给出美学评分、七个方面的分数和专家点评。",
    ),
    "app.language": ("Language · 语言", "语言 · Language"),
    "tab.assess": ("Assess", "评估"),
    "tab.compare": ("Compare", "对比"),
    "tab.batch": ("Batch", "批量"),
    # the model
    "model.title": ("Model", "模型"),
    "model.checkpoint": ("Checkpoint", "模型权重"),
    "model.checkpoint_info": (
        "a folder under checkpoints/, any folder, or a hub repo id",
        "checkpoints/ 下的文件夹、任意文件夹，或模型库中的仓库名",
    ),
    "model.load": ("Load checkpoint", "加载权重"),
    "model.choose": ("Type or choose a checkpoint first.", "请先输入或选择一个模型权重。"),
    "model.loading": ("Loading the model {ckpt}…", "正在加载模型 {ckpt}…"),
    "model.ready": ("Ready: {ckpt}, {where}", "已就绪：{ckpt}，{where}"),
    "model.on_cpu": ("on the processor (comments are slow)", "在处理器上运行（点评较慢）"),
    "model.on_gpu": ("on the graphics card", "在显卡上运行"),
    "model.on_mps": ("on Apple graphics", "在 Apple 图形处理器上运行"),
    "model.missing": (
        "No checkpoint at {ckpt}: the folder or its files are not there.",
        "{ckpt} 处没有模型权重：文件夹或其中的文件不存在。",
    ),
    "model.download": (
        "Download the weights into that folder with:",
        "用下面的命令把权重下载到该文件夹：",
    ),
    "model.then_load": (
        "then load it again under Model (no restart needed).",
        "然后在“模型”中重新加载（无需重启）。",
    ),
    "model.failed": ("Could not load {ckpt}: {detail}", "无法加载 {ckpt}：{detail}"),
    "model.kept": ("Still using {current}.", "仍在使用 {current}。"),
    "length.label": ("Comment length", "点评长度"),
    "length.info": ("shorter comments are ready sooner", "点评越短，完成越快"),
    "length.short": ("Short", "简短"),
    "length.medium": ("Medium", "中等"),
    "length.full": ("Full", "完整"),
    # Assess
    "assess.picture": ("Your picture", "你的图片"),
    "assess.run": ("Assess", "评估"),
    "assess.working": ("Assessing…", "评估中…"),
    "assess.stop": ("Stop", "停止"),
    "assess.examples": ("Or try one of these", "或者试试这些图片"),
    "assess.invite": (
        "Drop a picture to hear what the model thinks of it.",
        "放入一张图片，听听模型怎么看。",
    ),
    "assess.waiting_model": (
        "Loading the model; your picture is next…",
        "正在加载模型，马上轮到你的图片…",
    ),
    "assess.looking": ("Looking at the picture…", "正在看这张图片…"),
    "progress.queued": ("In line for the model…", "正在排队等待模型…"),
    "progress.scores": (
        "Scores ready in {elapsed}; writing the comments…",
        "评分用时 {elapsed}，正在写点评…",
    ),
    "progress.comments": (
        "Comments: {done} of {total} · {elapsed}",
        "点评：{done} / {total} · {elapsed}",
    ),
    "progress.done": ("Done in {elapsed}.", "完成，用时 {elapsed}。"),
    "progress.cached": (
        "Shown from an earlier run of the same picture.",
        "同一张图片之前评估过，直接显示结果。",
    ),
    "progress.stopped": (
        "Stopped after {elapsed}: {done} of {total} comments finished.",
        "已在 {elapsed} 后停止：完成了 {done} / {total} 条点评。",
    ),
    "seconds": ("{n} s", "{n} 秒"),
    "score.out_of": ("/ 100", "/ 100"),
    "score.sure": (
        "How sure the model is: {words} (±\u00a0{spread})",  # no break after ±
        "模型的把握：{words}（±\u00a0{spread}）",
    ),
    "score.sure_explain": (
        "Its guesses spread about {spread} points either side of the score; a smaller spread "
        "means a surer model.",
        "模型的判断在这个分数上下大约 {spread} 分之间浮动；浮动越小，模型越有把握。",
    ),
    "sure.high": ("quite sure", "很有把握"),
    "sure.medium": ("fairly sure", "比较有把握"),
    "sure.low": ("unsure", "把握不大"),
    "band.outstanding": ("outstanding", "出色"),
    "band.strong": ("strong", "优秀"),
    "band.good": ("good", "良好"),
    "band.fair": ("fair", "一般"),
    "band.weak": ("weak", "较弱"),
    "chart.spread": ("How the model's guesses spread over 0–100", "模型的判断在 0–100 分上的分布"),
    "chart.radar": ("The seven aspects, each out of 100", "七个方面，各自满分 100"),
    "chart.score": ("score", "分数"),
    "chart.hover": ("score {x}: {y}", "{x} 分：{y}"),
    "note.aspects": (
        "**Note:** Only the total score is trained in the released ArtiMuse checkpoints; the "
        "seven aspect scores come from asking the model about each aspect (as the authors' "
        "demo does). Read them as the model's opinion, not as calibrated measurements.",
        "**说明：** 公开的 ArtiMuse 权重只训练了总分；"
        "七个方面的分数是分别询问模型得到的（与作者的演示相同）。"
        "请把它们看作模型的看法，而不是经过校准的测量值。",
    ),
    "comment.none": ("(no comment)", "（没有点评）"),
    "comment.stopped": ("… stopped", "……已停止"),
    "comment.waiting": ("waiting for the model…", "等待模型…"),
    "comments.region": ("The model's comments", "模型的点评"),
    # exports
    "export.json": ("Export JSON", "导出 JSON"),
    "export.markdown": ("Export Markdown", "导出 Markdown"),
    "export.file": ("Download", "下载"),
    "export.nothing": (
        "Assess a picture first: there is nothing to export yet.",
        "请先评估一张图片：现在还没有可导出的结果。",
    ),
    "export.ready": ("Ready to download: {name}", "可以下载了：{name}"),
    "md.title": ("ArtiMuse assessment of {image}", "ArtiMuse 对 {image} 的评估"),
    "md.score": ("Aesthetic score: {total} / 100", "美学评分：{total} / 100"),
    "md.aspect": ("Aspect", "方面"),
    "md.value": ("Score", "分数"),
    "md.checkpoint": ("Checkpoint: {name}", "模型权重：{name}"),
    # bad files, in our words (kinds as `messages.image_error_kind` names them)
    "error.title": ("Cannot assess this file.", "无法评估这个文件。"),
    "error.skipped": ("Skipped, and why:", "跳过的文件及原因："),
    "error.not_image": (
        "{name} is not a picture in a format we can read (PNG, JPEG, WebP, …).",
        "{name} 不是可以读取的图片格式（PNG、JPEG、WebP 等）。",
    ),
    "error.empty": ("{name} is empty (0 bytes).", "{name} 是空文件（0 字节）。"),
    "error.corrupt": (
        "{name} is damaged or cut short, so it cannot be read.",
        "{name} 已损坏或不完整，无法读取。",
    ),
    "error.animated": (
        "{name} is animated ({frames} frames); upload a still picture.",
        "{name} 是动图（{frames} 帧），请上传静态图片。",
    ),
    "error.too_large": (
        "{name} is too large: {pixels} pixels, the limit is {limit}.",
        "{name} 太大：{pixels} 像素，上限是 {limit}。",
    ),
    "error.no_pixels": ("{name} has no pixels.", "{name} 没有任何像素。"),
    "error.gone": (
        "{name} is no longer on the server; upload it again.",
        "服务器上已没有 {name}，请重新上传。",
    ),
    "error.other": ("{detail}", "{detail}"),
    # Compare
    "compare.files": ("2 to 4 pictures", "2 到 4 张图片"),
    "compare.with_comments": (
        "Also write each picture's Comprehensive Evaluation (slower)",
        "同时为每张图片写综合评价（较慢）",
    ),
    "compare.run": ("Compare", "对比"),
    "compare.count": (
        "Choose 2 to 4 pictures to compare (you chose {n}).",
        "请选择 2 到 4 张图片进行对比（你选了 {n} 张）。",
    ),
    "compare.need_two": (
        "Only {n} of your pictures could be read: add another picture to compare.",
        "你的图片中只有 {n} 张可以读取：请再添加一张图片来对比。",
    ),
    "compare.total": ("Total", "总分"),
    "compare.best": ("★ best in this row", "★ 本行最高"),
    # Batch
    "batch.files": ("Pictures", "图片"),
    "batch.with_comments": (
        "Also write the eight comments per picture (much slower)",
        "同时为每张图片写八条点评（慢很多）",
    ),
    "batch.run": ("Score all", "全部评分"),
    "batch.csv": ("Download CSV", "下载 CSV"),
    "batch.json": ("Download JSON", "下载 JSON"),
    "batch.choose": ("Choose some pictures first.", "请先选择一些图片。"),
    "batch.nothing": (
        "Score some pictures first: there is nothing to download yet.",
        "请先给一些图片评分：现在还没有可下载的结果。",
    ),
    "batch.summary": (
        "{done} of {total} files · {scored} scored",
        "{done} / {total} 个文件 · 已评分 {scored}",
    ),
    "batch.skipped": (" · {n} skipped", " · 跳过 {n}"),
    "batch.file": ("File", "文件"),
    "batch.rank": ("#", "名次"),
    "batch.spread": ("±", "±"),
    "batch.scroll": ("Scroll sideways for every aspect →", "左右滑动查看所有方面 →"),
    "batch.table": ("Ranked scores", "评分排名"),
}

# The aspect names as the page shows them (the prompts keep the English ones).
ASPECT_NAMES: dict[str, tuple[str, str]] = dict(
    zip(
        ASPECTS,
        (
            ("Composition & Design", "构图与设计"),
            ("Visual Elements & Structure", "视觉元素与结构"),
            ("Technical Execution", "技术执行"),
            ("Originality & Creativity", "原创性与创意"),
            ("Theme & Communication", "主题与表达"),
            ("Emotion & Viewer Response", "情感与观者反应"),
            ("Overall Gestalt", "整体完形"),
            ("Comprehensive Evaluation", "综合评价"),
        ),
        strict=True,
    )
)
SHORT_ASPECT_NAMES: dict[str, tuple[str, str]] = dict(
    zip(
        ASPECTS,
        (
            ("Composition", "构图"),
            ("Visual", "视觉"),
            ("Technical", "技术"),
            ("Originality", "原创"),
            ("Theme", "主题"),
            ("Emotion", "情感"),
            ("Overall", "整体"),
            ("Comprehensive", "综合"),
        ),
        strict=True,
    )
)


def _index(lang: str | None) -> int:
    return 1 if language(lang) == ZH else 0


def text(key: str, lang: str | None = EN, **fields: object) -> str:
    """The text of `key` in `lang` (English for any language we lack), fields filled in."""
    return TEXTS[key][_index(lang)].format(**fields) if fields else TEXTS[key][_index(lang)]


def aspect_name(aspect: str, lang: str | None = EN, short: bool = False) -> str:
    names = SHORT_ASPECT_NAMES if short else ASPECT_NAMES
    return names[aspect][_index(lang)] if aspect in names else aspect


def band_name(band: str, lang: str | None = EN) -> str:
    return text(f"band.{band}", lang)


def seconds(elapsed: float, lang: str | None = EN) -> str:
    shown = f"{elapsed:.1f}" if elapsed < 10 else f"{elapsed:.0f}"
    return text("seconds", lang, n=shown)


def language(tag: str | None) -> str:
    """A browser language tag (`zh-CN`, `zh-Hans-SG`, `zh`, `en-US`, ...) -> EN or ZH.

    Every Chinese tag gets Simplified Chinese, the one Chinese we have (gradio does the same
    for the static texts, see `gradio_i18n`)."""
    return ZH if (tag or "").strip().lower().startswith("zh") else EN


def from_accept_language(header: str | None) -> str:
    """The first language of an HTTP Accept-Language header that we have, else English."""
    for part in (header or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return ZH
        if tag.startswith("en"):
            return EN
    return EN


def ui(key: str) -> I18nData:
    """A static text for a component, translated by the browser (see `gradio_i18n`)."""
    if key not in TEXTS:
        raise KeyError(key)
    return I18nData(key)


def gradio_i18n() -> gr.I18n:
    """The static texts for `launch(i18n=...)`. Chinese is registered under every Chinese tag a
    browser sends, so a zh-TW or zh-HK browser sees the same Chinese as the panels built in
    Python rather than English labels around Chinese panels."""
    english = {key: pair[0] for key, pair in TEXTS.items()}
    chinese = {key: pair[1] for key, pair in TEXTS.items()}
    return gr.I18n(en=english, **{tag: chinese for tag in ("zh", ZH, "zh-TW", "zh-HK")})
