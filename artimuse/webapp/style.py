"""The page's look: gradio's Soft theme a step darker where it falls under 4.5:1 contrast, and a
few rules of its own, so light and dark themes both work. Down to a 400 px phone nothing is
wider than the screen: gradio's tables scroll inside their box."""

import gradio as gr

CSS = """
.am-header { align-items:flex-start; gap:1rem; }
.am-title h1 { font-size:2rem; font-weight:750; margin:0 0 .2rem; letter-spacing:-.02em; }
#model-status { text-align:right; overflow-wrap:anywhere; }
#assess-score h2 { font-size:2.6rem; margin:.2rem 0; font-variant-numeric:tabular-nums; }
#assess-progress, .am-note { color:var(--body-text-color-subdued); font-size:.9rem; }
#assess-comments h3 { margin-top:1rem; font-size:1rem; }
#assess-comments p { white-space:pre-wrap; overflow-wrap:anywhere; }
.dark button[role="tab"][aria-selected="true"] { color:#fb923c; }  /* the accent, lighter */
.am-plot .modebar-container { display:none !important; }
.dark .am-plot .main-svg text:not(.hoverlayer *) { fill:var(--body-text-color) !important; }
@media (max-width: 520px) {
  .am-title h1 { font-size:1.6rem; }
  #model-status { text-align:left; }
  #assess-score h2 { font-size:2rem; }
}
"""
# System fonts only (a public server must not depend on a font CDN); the last three: Chinese.
FONTS = ("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "PingFang SC",
         "Microsoft YaHei", "Noto Sans CJK SC", "sans-serif")  # fmt: skip
# Soft's subdued grey and orange-500 fall under 4.5:1 contrast: one step darker each.
DARKER = dict(
    body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_400",
    color_accent="*primary_700", color_accent_soft="*primary_100",
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_dark="*primary_700",
    button_primary_background_fill_hover_dark="*primary_800",
    checkbox_label_background_fill_selected="*primary_700",
    checkbox_label_background_fill_selected_dark="*primary_700",
    block_label_text_color="*primary_800",  # on Soft's light orange label: 4.5:1
    block_title_text_color="*primary_800", block_label_text_color_dark="*primary_100",
    block_title_text_color_dark="*primary_100", block_label_background_fill_dark="*primary_800",
    button_secondary_background_fill_dark="*primary_800",
    button_secondary_background_fill_hover_dark="*primary_700",
)  # fmt: skip


def theme() -> gr.themes.Base:
    mono = ("ui-monospace", "SFMono-Regular", "monospace")
    soft = gr.themes.Soft(primary_hue="orange", neutral_hue="stone", font=FONTS, font_mono=mono)
    return soft.set(**DARKER)
