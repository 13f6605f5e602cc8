"""Chat in the browser: headless Chromium (Playwright) types a question and waits for the answer's first line.

    python bench/browser.py [--questions 10] [--quick] [--index DIR]

Against `python app.py` in a subprocess: each question is typed into the chat's box (#question) and submitted
with Enter; timed from the key press to a new answer in #chat whose text starts with "Searched" (the answer's
first line) being visible. Target p50 ≤ 1 s. Floor: the same page's JavaScript calling
`fetch('/api/search?q=…')` on the same questions and timing it with performance.now(): the same search from the
same browser, without Gradio's queue, its event stream and the chat's rendering, i.e. what the chat costs on
top of the search. Uses Debian's chromium (/usr/bin/chromium), never `playwright install`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.served_app import Row, ensure_index, ms, parser, percentile, print_table, questions, served_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ANSWERED = """n => {
    const rows = document.querySelectorAll('#chat .message-row.bot-row');
    return rows.length > n && rows[rows.length - 1].innerText.trim().startsWith('Searched');
}"""
FETCH = """async q => {
    const start = performance.now();
    const response = await fetch('/api/search?' + new URLSearchParams({q: q, k: '10'}));
    await response.json();
    if (!response.ok) throw new Error('HTTP ' + response.status);
    return (performance.now() - start) / 1000;
}"""


def ask(page, question: str) -> float:
    """Seconds from pressing Enter on `question` to its answer's first line being visible."""
    before = page.locator("#chat .message-row.bot-row").count()
    box = page.locator("#question textarea")
    box.fill(question)
    start = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(ANSWERED, arg=before, timeout=60_000, polling=10)
    page.locator("#chat .message-row.bot-row").last.wait_for(state="visible")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    args_parser = parser(__doc__)
    args_parser.add_argument("--questions", type=int, help="questions to ask (default 10; 2 with --quick)")
    args = args_parser.parse_args(argv)
    asked = questions(1 + (args.questions or (2 if args.quick else 10)))
    warm, asked = asked[0], asked[1:]
    sys.stdout.reconfigure(line_buffering=True)

    from playwright.sync_api import sync_playwright

    index = ensure_index(args.index)
    with served_app(index) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(server.url)
            page.locator("#question textarea").wait_for()
            ask(page, warm)  # the first answer opens the event stream and draws the timeline once
            page.evaluate(FETCH, warm)
            chat = [ask(page, q) for q in asked]
            fetch = [page.evaluate(FETCH, q) for q in asked]
        finally:
            browser.close()
    c50, f50 = percentile(chat, 0.5), percentile(fetch, 0.5)
    rows = [Row("chat: Enter → 'Searched …' visible, p50", ms(c50), f"{ms(f50)} (page fetch /api/search)",
                f"{c50 / f50:.1f}x", "≤ 1 s", c50 <= 1.0),
            Row("chat: slowest", ms(max(chat)), ms(max(fetch)))]
    print_table(f"Browser: {len(asked)} eval questions after one warm-up, headless Chromium", rows, notes=(
        "floor: fetch('/api/search') from the same page, timed in the page (no Gradio queue, no rendering).",
        "chat times are taken in this process around Playwright calls (a few ms of protocol; 10 ms polling)."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
