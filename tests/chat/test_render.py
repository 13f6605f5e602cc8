"""Answer formatting on hand-made hits over real corpus documents: order, numbering, synthesis, escaping."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from rag.chat.answer import Answer, Quote, number_by_date
from rag.chat.render import escape, meter
from rag.chat.render import format_answer as format_answer_data
from rag.documents.corpus import load_corpus
from rag.documents.dates import parse_printed, sort_key
from rag.documents.document import Document
from rag.documents.sentences import sentences
from rag.search.params import SortOrder
from rag.search.results import Hit, Results, Signal
from rag.settings import Settings

HOSTILE_TEXT = ("<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) "
                "![pixel](http://example.com/p.png) **bold** `code` $x^2$ https://example.com")


@pytest.fixture(scope="module")
def documents() -> dict[str, Document]:
    """The bundled corpus keyed by ISO date (unique in it)."""
    return {doc.date: doc for doc in load_corpus(Settings().corpus_dir).documents}


def hit(doc: Document, score: float, rank: int, highlight: str | None = None) -> Hit:
    return Hit(doc=doc, score=score, rank=rank, matched=(Signal.SEMANTIC, Signal.KEYWORD),
               citation=f"{doc.title}, {doc.date_text}", highlight=highlight)


@pytest.fixture()
def results(documents) -> Results:
    """Three hits in relevance order whose dates are out of order."""
    late, early, middle = documents["1964-03"], documents["1963-04-03"], documents["1963-09-05"]
    return Results(
        hits=(hit(middle, 0.9, 1, sentences(middle.summary)[1]), hit(late, 0.6, 2), hit(early, 0.3, 3)),
        question="test ban in 1963", query="test ban", date_from="1963", date_to="1964",
        date_phrase=None, total=7,
    )


def answer_of(results: Results, question: str, quote_ranks: tuple[int, ...] = (1,)) -> Answer:
    """An Answer over hand-made results quoting the highlight (else first sentence) of the hits ranked
    `quote_ranks`; none quoted: not answered."""
    cited = tuple(number_by_date(results))
    quotes = tuple(sorted((Quote(c.hit.highlight or sentences(c.hit.doc.summary)[0], c.number, c.hit.doc.id, 1.0)
                           for c in cited if c.hit.rank in quote_ranks and c.hit.doc.summary),
                          key=lambda q: q.citation_number))
    return Answer(question, results, cited, quotes, answered=bool(quotes))


def format_answer(results: Results, question: str, order: SortOrder = SortOrder.DATE,
                  collection_size: int | None = None, quote_ranks: tuple[int, ...] = (1,), anchor: str = "") -> str:
    return format_answer_data(answer_of(results, question, quote_ranks), order, collection_size, anchor)


def entry_lines(answer: str) -> list[tuple[int, str]]:
    """(number, printed date) of each cited entry in the order shown."""
    return [(int(n), d) for n, d in re.findall(r"^\*\*\[(\d+)\]\*\* (.+?) — ", answer, flags=re.MULTILINE)]


def test_citations_are_numbered_and_listed_by_date(results):
    entries = entry_lines(format_answer(results, "test ban in 1963"))
    assert [n for n, _ in entries] == [1, 2, 3]
    dates = [parse_printed(d) for _, d in entries]
    assert dates == sorted(dates, key=sort_key)
    assert dates == ["1963-04-03", "1963-09-05", "1964-03"]


def test_relevance_order_keeps_date_numbers(results):
    entries = entry_lines(format_answer(results, "test ban", SortOrder.RELEVANCE))
    assert [n for n, _ in entries] == [2, 3, 1]  # best hit (Sept 1963) is [2], the least relevant [1]


def test_first_line_says_topic_range_and_count(results):
    first = format_answer(results, "test ban in 1963", collection_size=20).splitlines()[0]
    assert first == "Searched “test ban” · 1963..1964 (chosen) · 7 of 20 documents matched, showing the best 3"


def test_first_line_names_the_date_phrase(documents):
    res = Results((hit(documents["1963-09-05"], 1.0, 1),), question="Zhou in 1963", query="Zhou",
                  date_from="1963-01", date_to="1963-12", date_phrase="in 1963", total=1)
    assert format_answer(res, "Zhou in 1963").splitlines()[0] == (
        "Searched “Zhou” · 1963-01..1963-12 (from “in 1963”) · 1 document matched")


def test_followup_shows_the_question_searched(results):
    answer = format_answer(results, "what about 1963?")
    assert "Follow-up understood as:* “test ban in 1963”" in answer.splitlines()[1]


def test_synthesis_quotes_its_sentences_verbatim_with_their_numbers(results):
    synthesis_line = format_answer(results, "q", quote_ranks=(1, 3)).split("\n\n")[1]
    early, middle = results[2], results[0]
    assert synthesis_line == f"{escape(sentences(early.doc.summary)[0])} [1] {escape(middle.highlight)} [2]"


def test_numbers_link_to_their_entries_when_anchored(results):
    answer = format_answer(results, "q", anchor="answer4")
    assert '<a href="#answer4-2">[2]</a>' in answer.split("\n\n")[1]
    assert '<span id="answer4-2"></span>**[2]**' in answer


def test_nothing_answers_says_so_and_names_the_closest(results):
    answer = format_answer(results, "q", quote_ranks=())
    assert answer.split("\n\n")[1] == ("**No summary in the archive answers this directly;** the closest "
                                        "documents are [1], [2], [3].")


def test_document_without_summary_is_noted(documents):
    no_summary = documents["1963-07-08"]
    assert no_summary.summary is None
    res = Results((hit(no_summary, 1.0, 1),), question="q", query="q", total=1)
    assert answer_of(res, "q").synthesis == ()
    assert "no summary in the archive" in format_answer(res, "q")


def test_matching_sentence_is_marked(results):
    answer = format_answer(results, "q")
    assert f"<mark>{escape(results[0].highlight)}</mark>" in answer


def test_meter_is_relative_to_best_hit(results):
    assert meter(results[0], 0.9) == "●●●●●"
    assert meter(results[2], 0.9) == "●●○○○"


def test_nothing_matched_says_so_and_suggests(results):
    empty = Results((), question="xyzzy in 1990", query="xyzzy", date_from="1990", date_to="1990",
                    date_phrase="in 1990", total=0)
    answer = format_answer(empty, "xyzzy in 1990")
    assert "No document matched" in answer
    assert "widen or clear the date range" in answer
    no_dates = Results((), question="xyzzy", query="xyzzy")
    assert "widen" not in format_answer(no_dates, "xyzzy")


def hostile_results(documents) -> Results:
    base = documents["1963-09-05"]
    doc = Document.create(date="1963-06-01", date_text=f"June 1963 {HOSTILE_TEXT}", title=f"T {HOSTILE_TEXT}",
                          collection=base.collection, summary=f"First. {HOSTILE_TEXT}. Last.")
    evil = Hit(doc=doc, score=1.0, rank=1, matched=(Signal.KEYWORD,), citation=HOSTILE_TEXT,
               highlight=f"{HOSTILE_TEXT}.")
    return Results((evil,), question=HOSTILE_TEXT, query=HOSTILE_TEXT, total=1, notes=(HOSTILE_TEXT,))


def test_hostile_text_renders_as_text(documents):
    answer = format_answer(hostile_results(documents), "what about " + HOSTILE_TEXT)
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(answer)  # browser test: real renderer
    tags = set(re.findall(r"<([a-z]+)", rendered))
    assert tags <= {"p", "strong", "em", "mark", "small", "br"}, tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert "[click](javascript:alert(3))" in rendered
    assert "**bold**" in rendered and "`code`" in rendered and "$x^2$" in rendered


def test_escape_is_one_line_and_keeps_entities_whole():
    assert escape("it's\n#1 & <b>") == "it's \\#1 &amp; &lt;b&gt;"


def test_order_errors_list_valid_values():
    assert SortOrder(" Relevance ") is SortOrder.RELEVANCE
    with pytest.raises(ValueError, match="sort must be one of relevance, date"):
        SortOrder("newest")


def _rendered_with_url(documents, url: str | None, title: str = "Cable on the test ban") -> str:
    base = documents["1963-09-05"]
    doc = Document.create(date=base.date, date_text=base.date_text, title=title, collection=base.collection,
                          summary=base.summary, url=url)
    answer = format_answer(Results((hit(doc, 1.0, 1),), question="test ban", query="test ban", total=1), "test ban")
    return MarkdownIt("commonmark").render(answer)


def test_a_cited_title_links_to_its_page_in_a_new_tab(documents):
    url = "https://digitalarchive.wilsoncenter.org/document/116543?lang=en&x=a_b*c"
    rendered = _rendered_with_url(documents, url)
    links = re.findall(r"<a [^>]*>", rendered)
    assert links == ['<a href="https://digitalarchive.wilsoncenter.org/document/116543?lang=en&amp;x=a_b*c" '
                     'target="_blank" rel="noopener noreferrer">']
    assert re.search(r"<strong><a [^>]*>Cable on the test ban</a></strong>", rendered)


def test_an_unknown_url_leaves_the_title_as_it_was(documents):
    rendered = _rendered_with_url(documents, None)
    assert "<a " not in rendered and "<strong>Cable on the test ban</strong>" in rendered


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                                 "/document/116543", 'https://x.org/" onmouseover="alert(1)'])
def test_a_url_that_is_no_web_address_is_shown_as_text_never_a_link(documents, url):
    rendered = _rendered_with_url(documents, url)
    assert "<a " not in rendered and "<script" not in rendered and "onmouseover=\"" not in rendered
    assert "address not a web link" in rendered


def test_a_url_cannot_break_out_of_its_attribute(documents):
    """Quotes and angle brackets in a URL that is otherwise a web address are entities inside href."""
    rendered = _rendered_with_url(documents, 'https://x.org/"onmouseover="alert(1)"><b>x</b>',
                                  title=f"T {HOSTILE_TEXT}")
    tags = set(re.findall(r"<([a-z]+)", rendered))
    assert tags <= {"p", "strong", "em", "mark", "small", "br", "a"}, tags
    assert re.findall(r"<a [^>]*>", rendered) == [
        '<a href="https://x.org/&quot;onmouseover=&quot;alert(1)&quot;&gt;&lt;b&gt;x&lt;/b&gt;" target="_blank" '
        'rel="noopener noreferrer">']
