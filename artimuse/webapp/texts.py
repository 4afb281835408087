"""Every word the web app shows, in English and Simplified Chinese: the one catalogue.

`i18n` chooses the language and fills the fields in; the model's prompts, its comments and the
JSON keys stay in English, as the checkpoints and the seed format require (behaviour §9).
"""

from __future__ import annotations

from artimuse.prompts import ASPECTS

EN, ZH = "en", "zh-CN"

# key -> (English, 简体中文); `{name}` fields are filled in by `text`.
# fmt: off
TEXTS: dict[str, tuple[str, str]] = {
    # the page
    "app.header": (
        "# ArtiMuse\nAn aesthetic score, seven aspects and an expert's comments for any picture.",
        "# ArtiMuse\n为任何图片给出美学评分、七个方面的分数和专家点评。"),
    "tab.assess": ("Assess", "评估"),
    "tab.compare": ("Compare", "对比"),
    "tab.batch": ("Batch", "批量"),
    # the model
    "model.title": ("Model", "模型"),
    "model.checkpoint": ("Checkpoint in use", "当前模型权重"),
    "model.checkpoint_info": ("a folder under checkpoints/, any folder, or a hub repo id",
        "checkpoints/ 下的文件夹、任意文件夹，或模型库中的仓库名"),
    "model.load": ("Load checkpoint", "加载权重"),
    "model.choose": ("Type or choose a checkpoint first.", "请先输入或选择一个模型权重。"),
    "model.loading": ("Loading the model {ckpt}…", "正在加载模型 {ckpt}…"),
    "model.ready": ("Ready: {ckpt}, {where}", "已就绪：{ckpt}，{where}"),
    "model.on_cpu": ("on the CPU (comments are slow)", "在 CPU 上运行（点评较慢）"),
    "model.on_gpu": ("on the graphics card", "在显卡上运行"),
    "model.on_mps": ("on Apple graphics", "在 Apple 图形处理器上运行"),
    "model.missing": ("No checkpoint at {ckpt}: the folder or its files are not there.",
        "{ckpt} 处没有模型权重：文件夹或其中的文件不存在。"),
    "model.download": ("Download the weights into that folder with:",
        "用下面的命令把权重下载到该文件夹："),
    "model.failed": ("Could not load {ckpt}: {detail}", "无法加载 {ckpt}：{detail}"),
    "model.kept": ("Still using {current}.", "仍在使用 {current}。"),
    "model.unavailable": ("The model {ckpt} is not available right now; please come back later.",
        "模型 {ckpt} 目前不可用，请稍后再来。"),
    "model.switching": ("Switching the checkpoint…", "正在切换模型权重…"),
    "operator.refused": ("Only the server's operator may do this.",
        "只有服务器的管理员可以这样做。"),
    "operator.password": ("Operator password", "管理员密码"),
    "operator.sign_in": ("Sign in", "登录"),
    "operator.wrong": ("Wrong password (or too many tries: wait a minute).",
        "密码错误（或尝试次数太多：请等一分钟）。"),
    "operator.signed_in": ("Signed in: the Model panel is below.", "已登录：模型面板在下方。"),
    "jobs.full": ("The server is busy (queue full): please try again in a minute.",
        "服务器正忙（队列已满）：请一分钟后再试。"),
    "jobs.yours": ("You already have {n} jobs waiting or running: let them finish first.",
        "你已经有 {n} 个任务在等待或运行：请先等它们完成。"),
    "length.invalid": ("That comment length is not on offer: choose one of the lengths shown.",
        "没有这个点评长度：请选择页面上列出的长度。"),
    "length.invalid_api": ("comment_length must be one of {offered} (tokens)",
        "comment_length 必须是 {offered} 之一（词元数）"),
    "api.no_image": ("no image was sent", "没有收到图片"),
    "api.aspects": ("aspects must be a list of aspect names: {known}",
        "aspects 必须是方面名称的列表：{known}"),
    "api.unavailable": ("the model is not available right now", "模型目前不可用"),
    "api.time_limit": ("the job ran past the server's time limit (ARTIMUSE_JOB_TIME_LIMIT)",
        "任务超过了服务器的时间上限（ARTIMUSE_JOB_TIME_LIMIT）"),
    "length.label": ("Comment length (tokens)", "点评长度（词元）"),
    "length.info": ("shorter comments are ready sooner", "点评越短，完成越快"),
    # Assess
    "assess.picture": ("Your picture", "你的图片"),
    "assess.run": ("Assess", "评估"),
    "assess.aspects": ("The seven aspects", "七个方面"),
    "assess.stop": ("Stop", "停止"),
    "assess.examples": ("Or try one of these", "或者试试这些图片"),
    "assess.invite": ("Drop a picture to hear what the model thinks of it.",
        "放入一张图片，听听模型怎么看。"),
    "assess.looking": ("Looking at the picture…", "正在看这张图片…"),
    "assess.no_picture": (
        "Add a picture first: drop one in the box above, paste it, or choose an example.",
        "请先添加图片：拖入上方的框、粘贴，或选择一个示例。"),
    "assess.shown": ("This picture's assessment is shown below.", "这张图片的评估结果显示在下方。"),
    "progress.queued": ("In line for the model: {n} ahead…", "正在排队等待模型：前面还有 {n} 个…"),
    "progress.scores": ("Scores ready in {elapsed}; writing the comments…",
        "评分用时 {elapsed}，正在写点评…"),
    "progress.comments": ("Comments: {done} of {total} · {elapsed}",
        "点评：{done} / {total} · {elapsed}"),
    "progress.done": ("Done in {elapsed}.", "完成，用时 {elapsed}。"),
    "progress.cached": ("Shown from an earlier run of the same picture.",
        "同一张图片之前评估过，直接显示结果。"),
    "progress.time_limit": (
        "Stopped at the time limit after {elapsed}: {done} of {total} comments finished.",
        "已达到时间上限，在 {elapsed} 后停止：完成了 {done} / {total} 条点评。"),
    "progress.time_limit_batch": (
        "Stopped at the time limit: the rest of the files were not scored.",
        "已达到时间上限：其余文件没有评分。"),
    "progress.stopped": ("Stopped after {elapsed}: {done} of {total} comments finished.",
        "已在 {elapsed} 后停止：完成了 {done} / {total} 条点评。"),
    "seconds": ("{n} s", "{n} 秒"),
    "score.out_of": ("/ 100", "/ 100"),
    "score.sure": ("How sure the model is: {words} (±\xa0{spread})",
        "模型的把握：{words}（±\xa0{spread}）"),
    "score.sure_explain": (
        "Its guesses spread about {spread} points either side of the score; a smaller spread "
        "means a surer model.",
        "模型的判断在这个分数上下大约 {spread} 分之间浮动；浮动越小，模型越有把握。"),
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
        "seven aspect scores come from asking the model about each aspect (as the authors' demo "
        "does). Read them as the model's opinion, not as calibrated measurements.",
        "**说明：** 公开的 ArtiMuse 权重只训练了总分；七个方面的分数是分别询问模型得到的（与作者"
        "的演示相同）。请把它们看作模型的看法，而不是经过校准的测量值。"),
    "comment.none": ("(no comment)", "（没有点评）"),
    "comment.stopped": ("… stopped", "……已停止"),
    "comment.waiting": ("waiting for the model…", "等待模型…"),
    # exports
    "export.json": ("Export JSON", "导出 JSON"),
    "export.markdown": ("Export Markdown", "导出 Markdown"),
    "md.title": ("ArtiMuse assessment of {image}", "ArtiMuse 对 {image} 的评估"),
    "md.score": ("Aesthetic score: {total} / 100", "美学评分：{total} / 100"),
    "md.aspect": ("Aspect", "方面"),
    "md.value": ("Score", "分数"),
    "md.checkpoint": ("Checkpoint: {name}", "模型权重：{name}"),
    # bad files, in our words (kinds as `messages.image_error_kind` names them)
    "error.skipped": ("Skipped, and why:", "跳过的文件及原因："),
    "error.not_image": ("{name} is not a picture in a format we can read (PNG, JPEG, WebP, …).",
        "{name} 不是可以读取的图片格式（PNG、JPEG、WebP 等）。"),
    "error.empty": ("{name} is empty (0 bytes).", "{name} 是空文件（0 字节）。"),
    "error.corrupt": ("{name} is damaged or cut short, so it cannot be read.",
        "{name} 已损坏或不完整，无法读取。"),
    "error.animated": ("{name} is animated ({frames} frames); upload a still picture.",
        "{name} 是动图（{frames} 帧），请上传静态图片。"),
    "error.too_large": ("{name} is too large: {pixels} pixels, the limit is {limit}.",
        "{name} 太大：{pixels} 像素，上限是 {limit}。"),
    "error.too_large_file": ("{name} is too large a file for this server.",
        "{name} 文件太大，超出了这台服务器的上限。"),
    "error.mode": ("{name} has pixels of a kind we cannot read ({mode}).",
        "{name} 的像素格式无法读取（{mode}）。"),
    "error.too_long": (
        "{name} is too long and thin: its longest side may be at most {side} pixels.",
        "{name} 太细长：最长边最多 {side} 像素。"),
    "note.exif_ignored": (
        "The photo's orientation tag (EXIF) could not be read, so it was assessed as stored: it "
        "may be lying on its side.",
        "无法读取这张照片的方向信息（EXIF），因此按原样评估：图片可能是横躺的。"),
    "error.no_pixels": ("{name} has no pixels.", "{name} 没有任何像素。"),
    "error.gone": ("{name} is no longer on the server; upload it again.",
        "服务器上已没有 {name}，请重新上传。"),
    "error.other": ("{name} cannot be read as a picture.", "{name} 无法作为图片读取。"),
    # the download panel (a server without weights)
    "download.start": ("Download", "下载"),
    "download.choice": ("Checkpoint to download", "要下载的模型权重"),
    "download.choice_info": (
        "ArtiMuse is the general model; the others are tuned on one dataset each",
        "ArtiMuse 是通用模型；其他几个各自在一个数据集上微调"),
    "download.option": ("{name} · {size} GB · tuned on {tuned_on}",
        "{name} · {size} GB · 微调数据：{tuned_on}"),
    "download.cancel": ("Cancel", "取消"),
    "download.intro": (
        "This server has no ArtiMuse weights yet. Download them from the model hub (once; the "
        "model loads as soon as they are here, no restart).",
        "这台服务器还没有 ArtiMuse 权重。请从模型库下载（只需一次；下载完成后模型立即加载，无需重"
        "启）。"),
    "download.busy": ("A download is already running: its progress is shown here.",
        "已经有一个下载在进行中：进度显示在这里。"),
    "download.downloading": ("Downloading {name} into {target}", "正在下载 {name} 到 {target}"),
    "download.checking": ("Asking the hub for {name}…", "正在向模型库查询 {name}…"),
    "download.verifying": ("Checking the downloaded files…", "正在检查下载的文件…"),
    "download.done": ("Downloaded {name}; loading the model…", "{name} 已下载，正在加载模型…"),
    "download.failed": ("Download failed", "下载失败"),
    "download.cancelled": ("Download cancelled", "下载已取消"),
    "download.of": ("{done} of {total}", "已下载 {done}，共 {total}"),
    "download.left": ("{time} left", "还剩 {time}"),
    "download.stalled": ("waiting for the hub…", "等待模型库响应…"),
    "minutes": ("{n} min", "{n} 分钟"),
    "hours": ("{n} h", "{n} 小时"),
    # Compare
    "compare.files": ("2 to 4 pictures", "2 到 4 张图片"),
    "compare.with_comments": ("Also write each picture's Comprehensive Evaluation (slower)",
        "同时为每张图片写综合评价（较慢）"),
    "compare.run": ("Compare", "对比"),
    "compare.count": ("Choose 2 to 4 pictures to compare (you chose {n}).",
        "请选择 2 到 4 张图片进行对比（你选了 {n} 张）。"),
    "compare.need_two": ("Only {n} of your pictures could be read: add another picture to compare.",
        "你的图片中只有 {n} 张可以读取：请再添加一张图片来对比。"),
    "compare.total": ("Total", "总分"),
    "compare.pictures": ("The pictures", "图片"),
    "compare.table": ("Scores (★ best in its row)", "分数（★ 本行最高）"),
    # Batch
    "batch.files": ("Pictures", "图片"),
    "batch.with_comments": ("Also write the eight comments per picture (much slower)",
        "同时为每张图片写八条点评（慢很多）"),
    "batch.run": ("Score all", "全部评分"),
    "batch.csv": ("Download CSV", "下载 CSV"),
    "batch.json": ("Download JSON", "下载 JSON"),
    "batch.choose": ("Choose some pictures first.", "请先选择一些图片。"),
    "batch.too_many": ("Too many files: at most {n} in one batch.", "文件太多：一批最多 {n} 个。"),
    "batch.summary": ("{done} of {total} files · {scored} scored",
        "{done} / {total} 个文件 · 已评分 {scored}"),
    "batch.file": ("File", "文件"),
    "batch.rank": ("#", "名次"),
    "batch.spread": ("±", "±"),
    "batch.band": ("Band", "等级"),
    "batch.table": ("Ranked scores", "评分排名"),
}

# The aspects as the page shows them (the prompts keep the English): full and short names.
_NAMES = (
    ("Composition & Design", "构图与设计", "Composition", "构图"),
    ("Visual Elements & Structure", "视觉元素与结构", "Visual", "视觉"),
    ("Technical Execution", "技术执行", "Technical", "技术"),
    ("Originality & Creativity", "原创性与创意", "Originality", "原创"),
    ("Theme & Communication", "主题与表达", "Theme", "主题"),
    ("Emotion & Viewer Response", "情感与观者反应", "Emotion", "情感"),
    ("Overall Gestalt", "整体完形", "Overall", "整体"),
    ("Comprehensive Evaluation", "综合评价", "Comprehensive", "综合"),
)
ASPECT_NAMES = {a: names[:2] for a, names in zip(ASPECTS, _NAMES, strict=True)}
SHORT_ASPECT_NAMES = {a: names[2:] for a, names in zip(ASPECTS, _NAMES, strict=True)}
# What each released checkpoint was tuned on (`loading.hub.KNOWN_CHECKPOINTS`), as shown.
TUNED_ON = {
    "ArtiMuse": ("ArtiMuse-10K (the general model)", "ArtiMuse-10K（通用模型）"),
    "ArtiMuse_AVA": ("AVA (photo-contest votes)", "AVA（摄影比赛投票）"),
    "ArtiMuse_FLICKR-AES": ("FLICKR-AES (crowd-rated Flickr photos)",
                            "FLICKR-AES（众包评分的 Flickr 照片）"),
    "ArtiMuse_PARA": ("PARA (personalised aesthetics)", "PARA（个性化美学）"),
    "ArtiMuse_TAD66K": ("TAD66K (theme-aware aesthetics)", "TAD66K（主题相关的美学）"),
}
# fmt: on
