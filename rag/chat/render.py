"""Turn an `Answer` into the chat's Markdown: a first line saying what was searched, the synthesis (or a plain
"nothing answers this") and the cited documents, numbered in date order by the answer (the same citations as
plain text and CSV are export.py's).

Each [n] in the synthesis links to its document entry: `<a href="#ANCHOR-n">` to `<span id="ANCHOR-n">`, where
ANCHOR is unique per answer in the chat so that [3] of the second answer never jumps to the first one's.

Everything taken from the corpus or the user goes through `escape` first, so the Markdown we build
can never carry markup, links, images or scripts from a document or a question. The one link made from corpus
data is a cited title's, to the record's URL: only an http(s) address, attribute-escaped (`linked_title`).
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from rag.documents.sentences import sentences
from rag.search.citation import web_url
from rag.search.params import SortOrder

if TYPE_CHECKING:
    from rag.chat.answer import Answer, Cited
    from rag.search.results import Hit, Results

CLOSEST = 3  # documents named when no sentence answers
METER_STEPS = 5  # relevance indicator width: ●●●○○

# Every ASCII character that starts Markdown syntax (emphasis, links, images, code, headings, tables,
# strike-through, LaTeX) or a GFM autolink (the colon of `https:`); each is backslash-escaped.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+!|~$:])")


def escape(text: str) -> str:
    """Make corpus or user text inert for Markdown + HTML.

    Args:
        text: Any text from a document or a reader.

    Returns:
        The text on one line, with entities for `<>&`, backslashes before Markdown syntax and unpaired
        surrogates written as their escapes.
    """
    # An unpaired surrogate (a damaged paste) is shown as its escape `\udcff`: as it is, no encoder takes it, and
    # the page's answer stream ended with the page waiting forever.
    one_line = " ".join(text.encode("utf-8", "backslashreplace").decode("utf-8").split())
    # Backslashes first, entities second: an entity's `#` must not be backslash-escaped.
    return html.escape(_MARKDOWN_SPECIALS.sub(r"\\\1", one_line), quote=False)


def _listed(cited: list[Cited], order: SortOrder) -> list[Cited]:
    """The cited documents in the order the reader asked for."""
    if order is SortOrder.RELEVANCE:
        return sorted(cited, key=lambda c: c.hit.rank)
    return list(cited)


def _key_sentence(hit: Hit) -> str | None:
    """The sentence that best represents a hit: its highlight, else the first sentence of its summary."""
    if hit.highlight:
        return " ".join(hit.highlight.split())
    if hit.doc.summary:
        return (sentences(hit.doc.summary) or [None])[0]
    return None


def meter(hit: Hit, best: float) -> str:
    """Draw a hit's relevance as a meter.

    Args:
        hit: One hit.
        best: The best score of the same search.

    Returns:
        `●●●○○`: the hit's score as a share of the best, in `METER_STEPS` dots (at least one filled).
    """
    share = hit.score / best if best > 0 else 0.0
    filled = max(1, min(METER_STEPS, round(share * METER_STEPS)))
    return "●" * filled + "○" * (METER_STEPS - filled)


def _searched_line(results: Results, question: str, collection_size: int | None = None) -> str:
    """`Searched “topic” · 1963-01..1963-12 (from “in 1963”) · 3 of 20 documents matched`."""
    topic = results.query.strip() or question.strip()
    parts = [f"Searched “{escape(topic)}”"]
    if results.date_range_text is None:
        parts.append("all dates")
    elif results.date_phrase:
        parts.append(f"{escape(results.date_range_text)} (from “{escape(results.date_phrase)}”)")
    else:
        parts.append(f"{escape(results.date_range_text)} (chosen)")
    noun = "document" if results.total == 1 else "documents"
    of = f" of {collection_size}" if collection_size is not None else ""
    matched = f"{results.total}{of} {noun} matched"
    if results.total > len(results):
        matched += f", showing the best {len(results)}"
    parts.append(matched)
    line = " · ".join(parts)
    if question.strip() != results.question.strip():
        line += f"  \n*Follow-up understood as:* “{escape(results.question)}”"
    return line


def _emphasised_summary(hit: Hit, quoted: str | None = None) -> str:
    """The summary, escaped, with the quoted (else the matching) sentence marked when it is not the whole
    summary; a note when there is no summary."""
    summary = hit.doc.summary
    if not summary:
        return "*(no summary in the archive)*"
    flat = " ".join(summary.split())
    target = quoted or (_key_sentence(hit) if hit.highlight else None)
    if target and target in flat and target != flat:
        before, _, after = flat.partition(target)
        parts = [escape(before), f"<mark>{escape(target)}</mark>", escape(after)]
        return " ".join(part for part in parts if part)
    return escape(flat)


def linked_title(title: str, url: str | None) -> str:
    """A document's title, as a link to its page when its URL is a web address.

    Args:
        title: The title, as the corpus gives it.
        url: The record's URL, or None.

    Returns:
        The escaped title in bold, in `<a href="URL" target="_blank" rel="noopener noreferrer">` (opening in a new
        tab) when `url` is an http(s) URL (`rag.search.citation.web_url`); alone when there is no URL; and when the
        URL is anything else (`javascript:`, a bare path) followed by that URL as escaped text, never a link.
    """
    shown = escape(title)
    link = web_url(url)
    if link is not None:
        return f'**<a href="{html.escape(link, quote=True)}" target="_blank" rel="noopener noreferrer">{shown}</a>**'
    if url and url.strip():
        return f"**{shown}** <small>(address not a web link: {escape(url)})</small>"
    return f"**{shown}**"


def _cited_entry(item: Cited, best: float, anchor: str = "", quoted: str | None = None) -> str:
    """One cited document: number (the target of its [n] links), date as printed, title (a link to the document's
    page when its URL is known), summary with the quoted sentence marked, relevance and why it matched."""
    hit = item.hit
    signals = " + ".join(s.value for s in hit.matched) or "filter only"
    target = f'<span id="{anchor}-{item.number}"></span>' if anchor else ""
    return (
        f"{target}**{item.label}** {escape(hit.doc.date_text)} — {linked_title(hit.doc.title, hit.doc.url)}  \n"
        f"{_emphasised_summary(hit, quoted)}  \n"
        f"<small>relevance {meter(hit, best)} ({signals})</small>"
    )


def _link(number: int, anchor: str) -> str:
    """[n], linked to its entry when the answer has an anchor."""
    return f'<a href="#{anchor}-{number}">[{number}]</a>' if anchor else f"[{number}]"


def _no_match(results: Results, question: str, collection_size: int | None = None) -> str:
    """Say plainly that nothing matched and what to change."""
    advice = ["use fewer or different words (names, places, subjects)"]
    if results.date_range_text is not None:
        advice.insert(0, "widen or clear the date range")
    advice.append("switch the search mode to *hybrid* or *semantic*")
    return (
        f"{_searched_line(results, question, collection_size)}\n\n"
        f"**No document matched.** Try to {'; '.join(advice)}."
    )


def _synthesis_text(answer: Answer, anchor: str = "") -> str:
    """The quoted sentences, each verbatim with its [n]; or, when none reaches the bar, a plain statement naming
    the closest documents."""
    if answer.answered and answer.synthesis:
        return " ".join(f"{escape(q.sentence)} {_link(q.citation_number, anchor)}" for q in answer.synthesis)
    if answer.answered:  # a listing of a period: nothing to quote
        return ""
    names = ", ".join(_link(c.number, anchor) for c in answer.closest(CLOSEST))
    return f"**No summary in the archive answers this directly;** the closest documents are {names}."


def format_answer(answer: Answer, order: SortOrder = SortOrder.DATE, collection_size: int | None = None,
                  anchor: str = "") -> str:
    """Render a whole answer as the chat's Markdown.

    Args:
        answer: The answer as data.
        order: How the cited documents are listed (by date, or most relevant first).
        collection_size: How many documents were searched, for the first line; None leaves it out.
        anchor: The prefix of this answer's entry ids (`ANCHOR-n`), unique in the chat; "" for unlinked [n].

    Returns:
        Markdown built only from escaped text (and our own [n] links and anchors).
    """
    results = answer.results
    if len(results) == 0:
        return _no_match(results, answer.asked, collection_size)
    best = max(hit.score for hit in results)
    quoted = {q.doc_id: q.sentence for q in answer.synthesis}
    heading = "Cited documents, by date" if order is SortOrder.DATE else "Cited documents, most relevant first"
    blocks = [_searched_line(results, answer.asked, collection_size)]
    if results.notes:
        blocks.append("  \n".join(f"*Note:* {escape(note)}" for note in results.notes))
    summary = _synthesis_text(answer, anchor)
    if summary:
        blocks.append(summary)
    blocks.append(f"**{heading}**")
    blocks.extend(_cited_entry(item, best, anchor, quoted.get(item.hit.doc.id))
                  for item in _listed(list(answer.cited), order))
    return "\n\n".join(blocks)

