"""Checks the browser tests run inside the page (JavaScript expressions for `page.evaluate`)."""

# The widest thing on the page, in CSS pixels.
PAGE_WIDTH = "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"

# Every visible control without a name a screen reader would announce (simplified from the
# accessible-name rules: aria-label(ledby), a <label>, the text, a title).
ACCESSIBLE_NAMES = """
() => {
  const visible = (el) => el.offsetParent !== null && getComputedStyle(el).visibility !== "hidden";
  const named = (el) => {
    if ((el.getAttribute("aria-label") || "").trim()) return true;
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    if (ids.some((id) => (document.getElementById(id)?.innerText || "").trim())) return true;
    if (el.labels && [...el.labels].some((l) => l.innerText.trim())) return true;
    if ((el.closest("label")?.innerText || "").trim()) return true;
    return Boolean((el.innerText || el.value || el.title || el.alt || "").trim());
  };
  const controls = document.querySelectorAll(
    "button, input:not([type=hidden]), select, textarea, [role=button], [role=tab], " +
    "[role=radio], [role=checkbox], [role=slider], [tabindex='0']"
  );
  return [...controls].filter((el) => visible(el) && !named(el))
    .map((el) => el.outerHTML.slice(0, 160));
}
"""

# Text of our panels whose contrast with what is behind it is under WCAG AA (4.5:1, or 3:1
# from 18.66 px bold / 24 px). Translucent backgrounds are composited up the tree.
LOW_CONTRAST = """
() => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g) || [0, 0, 0, 0];
    return [+m[0], +m[1], +m[2], m.length > 3 ? +m[3] : 1]; };
  const over = (top, bottom) => { const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1); };
  const behind = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const bg = parse(getComputedStyle(node).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const luminance = (c) => { const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const selectors = "#assess-score *, #assess-comments *, #assess-aspects *, .am-note *, " +
    "#assess-progress *, #model-status *, .am-title p, button[role=tab], #assess-run, " +
    "#export-json, #batch-table td, #compare-table td";
  const bad = [];
  for (const el of document.querySelectorAll(selectors)) {
    const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!el.offsetParent || !ownText) continue;
    const style = getComputedStyle(el);
    const text = parse(style.color);
    const back = behind(el);
    const size = parseFloat(style.fontSize), bold = +style.fontWeight >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const value = ratio(over(text, back), back);
    const what = `${el.className || el.tagName} "${el.innerText.slice(0, 30)}"`;
    if (value < needed) bad.push(`${what} ${value.toFixed(2)}`);
  }
  return bad;
}
"""

# The visible labels of the page's components (gradio's block labels and the titles above
# inputs, and accordion headings), in page order: two controls must never share one.
VISIBLE_LABELS = """
() => [...document.querySelectorAll(
    "[data-testid=block-info], [data-testid=block-label], button.label-wrap > span:first-child"
  )].filter((el) => el.offsetParent !== null).map((el) => el.innerText.trim()).filter(Boolean)
"""
