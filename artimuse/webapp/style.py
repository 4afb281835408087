"""The page's few looks of its own; everything else is gradio's theme (`app.theme`), so light
and dark themes both work. Down to a 400 px phone nothing is wider than the screen: gradio's
tables scroll inside their box."""

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
