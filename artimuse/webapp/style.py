"""The page's look (CSS) and its small script (SCRIPT, run once when the page loads).

The CSS uses gradio's theme variables, so light and dark themes both work; fixed colours are
chosen for at least 4.5:1 contrast on either theme's panels. Down to a 400 px phone nothing is
wider than the screen: tables scroll inside their box, with a hint.

The script does what gradio does not: it switches gradio's own language (the store
behind `gr.I18n`) when the visitor picks one, remembering the choice; and it lets any file
reach the Assess handler, so that a text file dropped on the picture box is explained in the
page's words instead of being refused by the browser with gradio's English message; and it
names the example thumbnails for screen readers.
"""

CSS = """
.am-header { display:flex; align-items:flex-start; justify-content:space-between; gap:1rem;
  flex-wrap:wrap; margin-bottom:.25rem; }
.am-title h1 { font-size:2rem; font-weight:750; margin:0 0 .2rem; letter-spacing:-.02em; }
.am-title p { margin:0; color:var(--body-text-color-subdued); }
.am-header-side { gap:.4rem !important; align-items:flex-end; }
.am-language { width:auto; }
.am-language .wrap { justify-content:flex-end; }
.am-status { font-size:.9rem; padding:.45rem .8rem; border-radius:999px; max-width:100%;
  border:1px solid var(--border-color-primary); background:var(--block-background-fill);
  overflow-wrap:anywhere; }
.am-status .am-dot { display:inline-block; width:.6rem; height:.6rem; border-radius:50%;
  margin-right:.45rem; background:#16a34a; }
.am-status.loading .am-dot { background:#d97706; animation:am-pulse 1s infinite alternate; }
.am-status.failed { border-radius:.75rem; border-color:#dc2626; margin-top:.4rem; }
.am-status pre { margin:.4rem 0; padding:.5rem .7rem; border-radius:.5rem; white-space:pre-wrap;
  overflow-wrap:anywhere; user-select:all;
  background:var(--code-background-fill, rgba(128,128,128,.12)); }
@keyframes am-pulse { from { opacity:.35 } to { opacity:1 } }
.am-score { padding:1rem 1.2rem; border-radius:1rem; border:1px solid var(--border-color-primary);
  background:var(--block-background-fill); }
.am-empty { color:var(--body-text-color-subdued); text-align:center; padding:2.5rem 1rem; }
.am-total { display:flex; align-items:baseline; gap:.4rem; }
.am-number { font-size:4.2rem; font-weight:750; line-height:1; letter-spacing:-.03em; }
.am-outof { font-size:1.2rem; color:var(--body-text-color-subdued); }
.am-band { display:inline-block; margin:.35rem 0 .1rem; padding:.1rem .65rem; border-radius:999px;
  font-weight:600; text-transform:capitalize; font-size:.9rem; }
.band-outstanding { background:rgba(20,163,127,.16); color:#0b6b53; }
.band-strong { background:rgba(34,197,94,.16); color:#166534; }
.band-good { background:rgba(59,130,246,.14); color:#1d4ed8; }
.band-fair { background:rgba(245,158,11,.18); color:#92400e; }
.band-weak { background:rgba(239,68,68,.14); color:#b91c1c; }
.dark .band-outstanding { color:#5eead4; } .dark .band-strong { color:#86efac; }
.dark .band-good { color:#93c5fd; } .dark .band-fair { color:#fcd34d; }
.dark .band-weak { color:#fca5a5; }
.am-spread { color:var(--body-text-color-subdued); font-size:.88rem; margin-top:.2rem; }
.am-spread small { font-size:.8rem; line-height:1.4; display:inline-block; margin-top:.15rem; }
.am-aspects { list-style:none; padding:0; margin:.9rem 0 0; display:grid; gap:.35rem; }
.am-aspects li { display:grid; grid-template-columns:minmax(8rem,1.7fr) minmax(3rem,1.3fr) 2.6rem;
  align-items:center; gap:.6rem; font-size:.9rem; margin:0; }
.am-aspects li b { text-align:right; font-variant-numeric:tabular-nums; }
.am-bar { height:.5rem; border-radius:999px; background:rgba(128,128,128,.18); overflow:hidden; }
.am-bar i { display:block; height:100%; border-radius:999px;
  background:linear-gradient(90deg,#f4a261,#e8743b); }
.am-note { margin-top:.6rem; font-size:.8rem; color:var(--body-text-color-subdued); }
.am-chart-title { margin:.2rem 0 0; font-size:.95rem; font-weight:600; text-align:center; }
.am-error { padding:1rem 1.2rem; border-radius:1rem; border:1px solid #dc2626;
  background:rgba(239,68,68,.08); margin-top:.5rem; }
.am-error ul { margin:.4rem 0 0; padding-left:1.2rem; }
.am-notice { padding:.5rem .8rem; border-radius:.6rem; margin-top:.4rem; font-size:.9rem;
  border:1px solid var(--border-color-primary); background:var(--block-background-fill); }
.am-progress { min-height:1.4rem; font-size:.9rem; color:var(--body-text-color-subdued);
  font-variant-numeric:tabular-nums; }
.am-progress.busy::before { content:""; display:inline-block; width:.7rem; height:.7rem;
  margin-right:.45rem; border-radius:50%; border:2px solid #e8743b; border-right-color:transparent;
  animation:am-spin .8s linear infinite; vertical-align:-.05rem; }
@keyframes am-spin { to { transform:rotate(360deg) } }
button.am-busy { opacity:.85; cursor:progress; flex-direction:row; gap:.5rem; }
button.am-busy::before { content:""; display:inline-block; width:.8rem; height:.8rem;
  flex:none; border-radius:50%; border:2px solid currentColor;
  border-right-color:transparent; animation:am-spin .8s linear infinite; }
.am-comments { display:grid; grid-template-columns:repeat(auto-fill,minmax(min(18rem,100%),1fr));
  gap:.8rem; }
.am-card { border:1px solid var(--border-color-primary); border-radius:.9rem; padding:.8rem 1rem;
  background:var(--block-background-fill); min-width:0; }
.am-card.wide { grid-column:1 / -1; border-color:rgba(232,116,59,.55); }
.am-card header { display:flex; justify-content:space-between; align-items:center; gap:.5rem; }
.am-card h4 { margin:0; font-size:.95rem; font-weight:650; }
.am-stopped { color:var(--body-text-color-subdued); font-style:italic; }
.am-card p { margin:.5rem 0 0; white-space:pre-wrap; overflow-wrap:anywhere; line-height:1.55;
  font-size:.93rem; max-height:14rem; overflow-y:auto; padding-right:.3rem; }
.am-card.wide p { max-height:18rem; }
.am-card.waiting p { color:var(--body-text-color-subdued); font-style:italic; }
.am-card.writing p::after { content:"▍"; color:#e8743b; animation:am-pulse .6s infinite alternate; }
.am-pill { font-variant-numeric:tabular-nums; font-weight:650; font-size:.85rem;
  padding:.1rem .55rem; border-radius:999px; background:rgba(232,116,59,.14); color:#9a3412;
  white-space:nowrap; }
.dark .am-pill { color:#fdba74; }
.am-table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
.am-table th, .am-table td { padding:.4rem .6rem; text-align:center;
  border-bottom:1px solid var(--border-color-primary); }
.am-table tbody th { text-align:left; font-weight:500; }
.am-table img { width:64px; height:64px; object-fit:cover; border-radius:.4rem; display:block;
  margin:0 auto .25rem; }
.am-table thead th span { font-size:.8rem; overflow-wrap:anywhere; }
.am-table td.best { font-weight:700; color:#9a3412; }
.dark .am-table td.best { color:#fdba74; }
.am-table tr.total th, .am-table tr.total td { font-size:1.05rem; }
.am-legend { font-size:.8rem; color:var(--body-text-color-subdued); margin-top:.3rem; }
.am-scroll { overflow-x:auto; max-width:100%; border-radius:.5rem; }
.am-scroll-hint { display:none; font-size:.85rem; color:var(--body-text-color-subdued);
  margin-bottom:.25rem; }
.am-batch { min-width:52rem; }
.am-batch th.name { text-align:left; min-width:8rem; overflow-wrap:anywhere; font-weight:500; }
.am-batch img { width:48px; height:48px; min-width:48px; margin:0; }
.am-batch td.total { white-space:nowrap; }
.am-batch .am-band { margin:0; font-size:.75rem; }
.am-batch-summary { margin:.2rem 0 .5rem; color:var(--body-text-color-subdued); }
.am-skipped { color:var(--body-text-color); font-size:.9rem; }
.am-scroll:focus-visible, .am-card p:focus-visible { outline:2px solid #e8743b;
  outline-offset:2px; }
.am-plot .js-plotly-plot { margin:0 auto; }
.am-plot .modebar-container { display:none !important; }
.dark .am-plot .main-svg text:not(.hoverlayer *) { fill:var(--body-text-color) !important; }
.dark button[role="tab"][aria-selected="true"] { color:#fb923c; }  /* the accent, lighter */
footer { visibility:visible; }
@media (max-width: 900px) { .am-scroll-hint { display:block; } }
@media (max-width: 520px) {
  .am-title h1 { font-size:1.6rem; }
  .am-number { font-size:3.2rem; }
  .am-aspects li { grid-template-columns:minmax(0,1.8fr) minmax(2.5rem,1fr) 2.4rem; gap:.4rem;
    font-size:.85rem; }
  .am-language .wrap { justify-content:flex-start; }
  .am-header-side { align-items:stretch; }
  .am-table th, .am-table td { padding:.3rem .35rem; }
  .am-compare img { width:44px; height:44px; }
}
"""

SCRIPT = """
() => {
  const KEY = "artimuse-language";
  const known = (tag) => (String(tag || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en");
  // The language to start in: the visitor's last choice, else the browser's.
  window.artimuseLanguage = () => known(localStorage.getItem(KEY) || navigator.language);
  window.artimuseRemember = (lang) => { localStorage.setItem(KEY, known(lang)); return lang; };
  // gradio keeps its language in a store of its core module; `changeLocale` is that module's
  // own export (its Settings panel uses it). The module is found among the loaded scripts.
  window.artimuseSetLanguage = async (lang) => {
    document.documentElement.lang = known(lang);
    const core = performance.getEntriesByType("resource").map((entry) => entry.name)
      .find((name) => /\\/assets\\/core-[\\w-]+\\.js$/.test(name));
    if (!core) return lang;
    const module = await import(core);
    if (typeof module.changeLocale === "function") module.changeLocale(known(lang));
    return lang;
  };
  // Any file may reach the Assess handler: a non-image is relabelled so that the picture
  // box uploads it instead of refusing it, and the handler explains what is wrong.
  const asImages = (files) => {
    const transfer = new DataTransfer();
    for (const file of files) {
      const image = file.type.startsWith("image/");
      transfer.items.add(image ? file : new File([file], file.name, { type: "image/x-unknown" }));
    }
    return transfer.files;
  };
  const needsRelabel = (files) => files.length && !files.every((f) => f.type.startsWith("image/"));
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
    if (!input.closest("#assess-image") || !needsRelabel(Array.from(input.files || []))) return;
    input.files = asImages(Array.from(input.files));
  }, true);
  document.addEventListener("drop", (event) => {
    const box = event.target instanceof Element && event.target.closest("#assess-image");
    const files = Array.from((event.dataTransfer && event.dataTransfer.files) || []);
    const input = box && box.querySelector("input[type=file]");
    if (!input || !needsRelabel(files)) return;
    event.preventDefault();
    event.stopPropagation();
    input.files = asImages(files);
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }, true);
  // gradio's example thumbnails are buttons with an empty alt text: name them by their file.
  const nameExamples = () => {
    for (const button of document.querySelectorAll("button.gallery-item:not([aria-label])")) {
      const image = button.querySelector("img");
      if (image) button.setAttribute("aria-label", decodeURIComponent(image.src.split("/").pop()));
    }
  };
  nameExamples();
  new MutationObserver(nameExamples).observe(document.body, { childList: true, subtree: true });
}
"""

# The load event: start in the remembered or the browser's language.
START_LANGUAGE = (
    "async () => { if (!window.artimuseLanguage) return [navigator.language.startsWith('zh') "
    "? 'zh-CN' : 'en']; const l = window.artimuseLanguage(); await window.artimuseSetLanguage(l);"
    " return [l]; }"
)
SWITCH_LANGUAGE = "(l) => window.artimuseSetLanguage(l)"
REMEMBER_LANGUAGE = "(l) => window.artimuseRemember(l)"
