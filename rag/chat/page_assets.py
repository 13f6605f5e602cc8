"""The page's own script and style, as strings `app.py` hands to Gradio (no Gradio here)."""

from rag.chat.timeline import CSS as TIMELINE_CSS

#: A new answer scrolls so that its first line is at the top of the chat, and a click on [n] (in the synthesis or
#: on the timeline) scrolls the chat to document n's entry. Gradio's own autoscroll shows an answer's end.
PAGE_HEAD = """<script>
(() => {
  const scroller = (el) => {
    for (let n = el.parentElement; n && n !== document.body; n = n.parentElement) {
      const y = getComputedStyle(n).overflowY;
      if ((y === "auto" || y === "scroll") && n.scrollHeight > n.clientHeight) return n;
    }
    return null;
  };
  const toTop = (el) => {
    const box = scroller(el);
    if (!box) { el.scrollIntoView({block: "start"}); return; }
    box.scrollTop += el.getBoundingClientRect().top - box.getBoundingClientRect().top;
    const r = box.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) box.scrollIntoView({block: "nearest"});
  };
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#answer"]');
    if (!link) return;
    const target = document.getElementById(link.getAttribute("href").slice(1));
    event.preventDefault();
    event.stopPropagation();
    if (target) toTop(target);
  }, true);
  let seen = 0;
  new MutationObserver(() => {
    const rows = document.querySelectorAll("#chat .message-row.bot-row");
    if (rows.length > seen) requestAnimationFrame(() => toTop(rows[rows.length - 1]));
    seen = rows.length;
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>"""

PAGE_CSS = TIMELINE_CSS + """
@media (max-width: 600px) { #header h2 { font-size: 1.2rem; } }
"""
