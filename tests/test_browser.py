"""End to end in headless Chromium (Playwright): ask, read the numbered citations, see the timeline,
follow up, and check that hostile text stays text. Screenshots go to test-artifacts/.

Without Chromium or Playwright these tests are skipped loudly; with RAG_REQUIRE_BROWSER=1 (set by .ci/run)
they fail instead, so CI cannot go green without having driven the browser."""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from urllib.parse import urlparse

import conftest
import pytest
from conftest import REQUIRE, chromium_and_playwright

from rag.documents.dates import parse_printed, sort_key

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ENTRY = re.compile(r"^\[(\d+)\] (.+?) — ", re.MULTILINE)
ANSWER_TIMEOUT_MS = 60_000
def browser_test(test):
    """Mark a test as driving the real browser (slow; deselect with -m "not browser")."""
    return pytest.mark.slow(pytest.mark.browser(test))


@pytest.fixture()
def page(browser, chat_server):
    """A fresh page on the chat; records requests leaving this server and any dialog or page error."""
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.outside_requests, page.dialogs, page.errors = [], [], []
    own_host = urlparse(chat_server).netloc

    def on_request(request):
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != own_host:
            page.outside_requests.append(request.url)

    page.on("request", on_request)
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(chat_server)
    page.locator("#question textarea").wait_for()
    yield page
    context.close()


def ask(page, question: str) -> str:
    """Type a question, submit it, and return the text of the new answer."""
    answers = page.locator("#chat .message-row.bot-row")
    before = answers.count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#chat .message-row.bot-row').length > n", arg=before,
        timeout=ANSWER_TIMEOUT_MS)
    return answers.last.inner_text()


@browser_test
def test_question_gives_numbered_citations_in_date_order_and_a_timeline(page):
    answer = ask(page, "Romanian Workers party and the Chinese Communist Party")
    assert answer.startswith("Searched “Romanian Workers party and the Chinese Communist Party”")
    entries = ENTRY.findall(answer)
    assert len(entries) >= 3, answer
    assert [int(n) for n, _ in entries] == list(range(1, len(entries) + 1))
    dates = [parse_printed(text) for _, text in entries]
    assert dates == sorted(dates, key=sort_key)

    # the timeline draws one point per cited document, with month/year ticks that do not repeat
    wait_for_points(page, len(entries))
    ticks = page.locator("#timeline svg.wide .tick-label").all_text_contents()  # the layout shown at 1400 px
    assert ticks and len(ticks) == len(set(ticks)) and all(re.fullmatch(r"(\w{3} )?19\d\d", t) for t in ticks)

    citations = page.locator("#citations textarea").input_value()
    assert citations.splitlines()[0].startswith("[1] ")
    assert len(citations.splitlines()) == len(entries)
    assert page.locator("#download-csv").is_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-answer.png"), full_page=True)
    assert page.outside_requests == [], "the page must work offline"
    assert page.errors == []


#: The circles of the timeline layout on show (the page holds a wide and a narrow one; CSS shows one).
SHOWN_POINTS = "[...document.querySelectorAll('#timeline svg.timeline')].filter(s => s.getClientRects().length)" \
               ".flatMap(s => [...s.querySelectorAll('circle')])"


def wait_for_points(page, n: int) -> None:
    """Until the timeline shows n points (one SVG circle per cited document)."""
    page.wait_for_function(f"n => {SHOWN_POINTS}.length === n", arg=n, timeout=ANSWER_TIMEOUT_MS)


def points_fit_and_read(page) -> dict:
    """Whether every shown point lies inside the window (no sideways scrolling to find one), and the smallest
    point label's height in pixels."""
    return page.evaluate(f"""() => {{
        const shown = {SHOWN_POINTS};
        const inside = shown.every(c => {{ const r = c.getBoundingClientRect();
                                          return r.left >= 0 && r.right <= window.innerWidth; }});
        const labels = shown.map(c => c.parentElement.querySelector('text').getBoundingClientRect().height);
        return {{inside, smallest: Math.min(...labels)}};
    }}""")


def first_line_at_top(page) -> bool:
    """The newest answer's first line is in view, at the top of the chat's scroll area."""
    return page.evaluate("""() => {
        const rows = document.querySelectorAll('#chat .message-row.bot-row');
        const row = rows[rows.length - 1];
        let box = row.parentElement;
        while (box && !(['auto', 'scroll'].includes(getComputedStyle(box).overflowY)
                        && box.scrollHeight > box.clientHeight)) box = box.parentElement;
        const r = row.getBoundingClientRect(), b = box.getBoundingClientRect();
        return r.top >= b.top - 2 && r.top <= b.top + 40 && r.top >= -2 && r.top + 20 <= window.innerHeight;
    }""")


@browser_test
@pytest.mark.parametrize("width", [1400, 390])
def test_each_answer_opens_at_its_first_line_with_a_point_per_citation(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    for question in ("How did Romania try to mediate between Moscow and Beijing?", "what about 1963?",
                     "North Korea's position in the Sino-Soviet split"):
        answer = ask(page, question)
        page.wait_for_timeout(300)  # the scroll runs on the next animation frame
        assert answer.startswith("Searched “"), answer[:80]
        assert first_line_at_top(page), question
        wait_for_points(page, len(ENTRY.findall(answer)))  # the follow-up too
        fit = points_fit_and_read(page)
        assert fit["inside"] and fit["smallest"] >= 9, (question, fit)  # every point in view, labels legible
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"chat-{width}px.png"), full_page=True)
    assert page.errors == []


@browser_test
def test_a_citation_number_scrolls_to_its_document_entry(page):
    ask(page, "How did Romania try to mediate between Moscow and Beijing?")
    ask(page, "Chinese visitors touring Soviet cities and arguing with their hosts")
    link = page.locator('#chat .message-row.bot-row a[href^="#answer"]').last
    target = link.get_attribute("href")[1:]
    assert target.startswith("answer2-")  # the second answer's own entry, not the first answer's
    link.click()
    page.wait_for_timeout(300)
    entry = page.locator(f"[id='{target}']")
    chat_box = page.locator("#chat").bounding_box()
    top = entry.bounding_box()["y"]
    assert chat_box["y"] - 2 <= top <= chat_box["y"] + 60, (top, chat_box)
    assert page.url.endswith("/") and page.errors == []  # handled in the page, no navigation


@browser_test
def test_followup_reuses_the_previous_topic(page):
    ask(page, "Romanian Workers party in 1963")
    answer = ask(page, "what about 1964?")
    lines = answer.splitlines()
    assert "Follow-up understood as: “Romanian Workers party in 1964”" in answer, lines[:3]
    dates = [parse_printed(text) for _, text in ENTRY.findall(answer)]
    assert dates and all(date.startswith("1964") for date in dates)


@browser_test
def test_nothing_matched_is_said_plainly(page):
    answer = ask(page, "xylophone quantum zeppelin")
    assert "No document matched" in answer


@browser_test
def test_hostile_document_and_question_stay_text(page):
    hostile_question = "test ban <img src=x onerror=\"window.__pwned='question'\"> [x](javascript:alert(1))"
    answer = ask(page, hostile_question)
    assert "Hostile <script>window.__pwned = 'title'</script>" in answer  # the title, shown literally
    assert "[click me](javascript:window.__pwned='link')" in answer
    assert "$x^2$" in answer and "**not bold**" in answer
    user_text = page.locator("#chat .message-row.user-row").last.inner_text()
    assert "<img src=x onerror=" in user_text
    injected = page.locator("#chat .message-row :is(script, img, iframe, a[href^='javascript'], b, .katex)")
    assert injected.count() == 0
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == [] and page.errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-hostile.png"), full_page=True)


@pytest.fixture()
def url_page(browser, url_retriever, url_corpus, tmp_path):
    """A fresh page on a chat served over `conftest.URL_RECORDS` (records with and without URLs)."""
    from conftest import free_port

    import app
    from rag.settings import Settings

    settings = Settings(corpus_dir=url_corpus, index_dir=tmp_path / "unused-index", host="127.0.0.1",
                        port=free_port())
    served = app.serve(url_retriever, settings, block=False)
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.dialogs, page.errors = [], []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(served.url)
    page.locator("#question textarea").wait_for()
    yield page
    context.close()
    served.close()


@browser_test
def test_a_cited_title_links_to_its_document_in_a_new_tab(url_page):
    from conftest import URL_RECORDS

    answer = ask(url_page, "nuclear test ban")
    entries = ENTRY.findall(answer)
    assert len(entries) == len(URL_RECORDS), answer
    row = url_page.locator("#chat .message-row.bot-row").last
    links = row.locator("a:not([href^='#'])")  # the [n] links jump within the answer
    found = {links.nth(i).inner_text(): {name: links.nth(i).get_attribute(name) for name in ("href", "target", "rel")}
             for i in range(links.count())}
    web = {r["title"]: r["url"] for r in URL_RECORDS if r.get("url", "").startswith("https://")}
    assert {title: link["href"] for title, link in found.items()} == web  # the right URL, each exactly once
    assert all(link["target"] == "_blank" and "noopener" in link["rel"] for link in found.values()), found
    for title in ("Romanian delegation in Beijing on the test ban", "Hostile address on the test ban"):
        assert title in answer and title not in found  # no URL, or a script: the title is text
    assert "address not a web link: javascript:window.__pwned='url'" in answer
    assert row.locator("a[href^='javascript'], script").count() == 0

    # A click opens the document in a new tab, which cannot reach back to the chat (noopener). Offline, the
    # archive's page is answered here, so nothing leaves the machine.
    url_page.context.route("https://digitalarchive.wilsoncenter.org/**", lambda route: route.fulfill(
        body="<title>document</title>", content_type="text/html"))
    with url_page.context.expect_page() as opened:
        row.get_by_role("link", name="Statement of the Chinese Government on the test ban treaty").click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == "https://digitalarchive.wilsoncenter.org/document/121560?lang=en&view=full"
    assert tab.evaluate("window.opener") is None and url_page.url.startswith("http://127.0.0.1")
    tab.close()

    note = url_page.locator("#citations textarea").input_value().splitlines()
    assert any(line.endswith(f"accessed {_today()}, https://digitalarchive.wilsoncenter.org/document/116543.")
               for line in note), note
    url_page.wait_for_timeout(300)
    assert url_page.evaluate("window.__pwned") is None
    assert url_page.dialogs == [] and url_page.errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    url_page.screenshot(path=str(ARTIFACTS / "chat-links.png"), full_page=True)


def _today() -> str:
    import datetime

    from rag.search.citation import accessed_text

    return accessed_text(datetime.date.today())


# --- the switch CI relies on (no browser needed) -----------------------------------------------------------


@pytest.mark.parametrize("missing", ["chromium", "playwright"])
@pytest.mark.parametrize(("required", "outcome"), [("1", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_missing_browser_skips_or_fails_as_required(monkeypatch, missing, required, outcome):
    monkeypatch.setenv(REQUIRE, required)
    if missing == "chromium":
        monkeypatch.setattr(conftest, "find_chromium", lambda: None)
    else:
        monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # makes the import raise ImportError
    with pytest.raises(outcome, match="did NOT run"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chromium_and_playwright()


@pytest.fixture()
def upload_page(browser, url_corpus, encoder, tmp_path, monkeypatch):
    """A fresh page on a chat served, as `make run` serves it, through `Refreshing` over its own copy of
    `url_corpus` and index, so that "Add pages" can write into them."""
    import shutil

    from conftest import free_port

    import app
    from rag.index import store
    from rag.index.build import rebuild
    from rag.search.refreshing import Refreshing
    from rag.search.retriever import Retriever
    from rag.settings import Settings

    monkeypatch.setattr(store, "CHANGE_CHECK_SECONDS", 0.0)
    corpus = shutil.copytree(url_corpus, tmp_path / "corpus")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", host="127.0.0.1", port=free_port())
    rebuild(settings, encoder=encoder, progress=False)
    served = app.serve(Refreshing(Retriever(store.Index.load(settings.index_dir), encoder, settings)), settings,
                       block=False)
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(served.url)
    page.locator("#question textarea").wait_for()
    yield page, corpus
    context.close()
    served.close()


@browser_test
def test_a_page_added_through_the_page_is_searched_and_linked_at_once(upload_page):
    page, corpus = upload_page
    fixtures = Path(__file__).resolve().parent / "documents" / "readers" / "fixtures"
    title = "Memorandum of Conversation between Yuri Andropov and the Central Committee of the Romanian Worker’s Party"
    header = page.locator("#header")
    assert "Searches 5 document summaries" in header.inner_text()

    page.get_by_text("Add pages", exact=True).click()
    page.locator("#add-files input[type=file]").set_input_files(str(fixtures / "no_entries.html"))
    page.locator("#add-files").get_by_text("no_entries.html").wait_for()
    page.locator("#add-button").click()
    page.locator("#add-report").get_by_text("Nothing was added").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert sorted(p.name for p in corpus.iterdir()) == ["records.jsonl"]

    page.locator("#add-files input[type=file]").set_input_files(str(fixtures / "firefox.html"))
    page.locator("#add-files").get_by_text("firefox.html").wait_for()
    page.locator("#add-button").click()
    page.locator("#add-report").get_by_text("Added.").wait_for(timeout=ANSWER_TIMEOUT_MS)
    report = page.locator("#add-report").inner_text()
    assert "2 new" in report and title in report, report
    assert "Searches 7 document summaries" in header.inner_text()
    assert (corpus / "firefox.html").exists()

    ask(page, "Andropov and the Romanian Workers Party")
    link = page.locator("#chat .message-row.bot-row").last.get_by_role("link", name=title)
    assert link.get_attribute("href") == "https://digitalarchive.wilsoncenter.org/document/116566"
    assert page.errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-add-pages.png"), full_page=True)
