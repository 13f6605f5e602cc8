"""Turn an `Answer` into the chat's Markdown: a first line saying what was searched, the synthesis (or a plain
"nothing answers this"), the cited documents numbered in date order, and the same citations as plain text and CSV.

Each [n] in the synthesis links to its document entry: `<a href="#ANCHOR-n">` to `<span id="ANCHOR-n">`, where
ANCHOR is unique per answer in the chat so that [3] of the second answer never jumps to the first one's.

Everything taken from the corpus or the user goes through `escape` first, so the Markdown we build
can never carry markup, links, images or scripts from a document or a question.
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.documents.dates import sort_key
from rag.documents.sentences import sentences
from rag.search.params import SortOrder

if TYPE_CHECKING:
    from rag.chat.answer import Answer
    from rag.search.results import Hit, Results

CLOSEST = 3  # documents named when no sentence answers
METER_STEPS = 5  # relevance indicator width: ●●●○○

# Every ASCII character that starts Markdown syntax (emphasis, links, images, code, headings, tables,
# strike-through, LaTeX) or a GFM autolink (the colon of `https:`); each is backslash-escaped.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+!|~$:])")


def escape(text: str) -> str:
    """Corpus or user text made inert for Markdown + HTML: one line, entities for `<>&`,
    backslashes before Markdown syntax."""
    one_line = " ".join(text.split())
    # Backslashes first, entities second: an entity's `#` must not be backslash-escaped.
    return html.escape(_MARKDOWN_SPECIALS.sub(r"\\\1", one_line), quote=False)


@dataclass(frozen=True)
class Cited:
    """A hit with its citation number (numbers follow dates: [1] is the earliest)."""

    number: int
    hit: Hit

    @property
    def label(self) -> str:
        return f"[{self.number}]"


def number_by_date(results: Results) -> list[Cited]:
    """The hits numbered [1], [2], ... in chronological order (ties keep relevance order)."""
    by_date = sorted(results, key=lambda hit: (sort_key(hit.doc.date), hit.rank))
    return [Cited(number, hit) for number, hit in enumerate(by_date, start=1)]


def listed(cited: list[Cited], order: SortOrder) -> list[Cited]:
    """The cited documents in the order the reader asked for."""
    if order is SortOrder.RELEVANCE:
        return sorted(cited, key=lambda c: c.hit.rank)
    return list(cited)


def key_sentence(hit: Hit) -> str | None:
    """The sentence that best represents a hit: its highlight, else the first sentence of its summary."""
    if hit.highlight:
        return " ".join(hit.highlight.split())
    if hit.doc.summary:
        return (sentences(hit.doc.summary) or [None])[0]
    return None


def meter(hit: Hit, best: float) -> str:
    """●●●○○: the score relative to the best hit of the same search."""
    share = hit.score / best if best > 0 else 0.0
    filled = max(1, min(METER_STEPS, round(share * METER_STEPS)))
    return "●" * filled + "○" * (METER_STEPS - filled)


def searched_line(results: Results, question: str, collection_size: int | None = None) -> str:
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


def emphasised_summary(hit: Hit, quoted: str | None = None) -> str:
    """The summary, escaped, with the quoted (else the matching) sentence marked when it is not the whole
    summary; a note when there is no summary."""
    summary = hit.doc.summary
    if not summary:
        return "*(no summary in the archive)*"
    flat = " ".join(summary.split())
    target = quoted or (key_sentence(hit) if hit.highlight else None)
    if target and target in flat and target != flat:
        before, _, after = flat.partition(target)
        parts = [escape(before), f"<mark>{escape(target)}</mark>", escape(after)]
        return " ".join(part for part in parts if part)
    return escape(flat)


def cited_entry(item: Cited, best: float, anchor: str = "", quoted: str | None = None) -> str:
    """One cited document: number (the target of its [n] links), date as printed, title, summary with the quoted
    sentence marked, relevance and why it matched."""
    hit = item.hit
    signals = " + ".join(s.value for s in hit.matched) or "filter only"
    target = f'<span id="{anchor}-{item.number}"></span>' if anchor else ""
    return (
        f"{target}**{item.label}** {escape(hit.doc.date_text)} — **{escape(hit.doc.title)}**  \n"
        f"{emphasised_summary(hit, quoted)}  \n"
        f"<small>relevance {meter(hit, best)} ({signals})</small>"
    )


def link(number: int, anchor: str) -> str:
    """[n], linked to its entry when the answer has an anchor."""
    return f'<a href="#{anchor}-{number}">[{number}]</a>' if anchor else f"[{number}]"


def no_match(results: Results, question: str, collection_size: int | None = None) -> str:
    """Say plainly that nothing matched and what to change."""
    advice = ["use fewer or different words (names, places, subjects)"]
    if results.date_range_text is not None:
        advice.insert(0, "widen or clear the date range")
    advice.append("switch the search mode to *hybrid* or *semantic*")
    return (
        f"{searched_line(results, question, collection_size)}\n\n"
        f"**No document matched.** Try to {'; '.join(advice)}."
    )


def synthesis_text(answer: Answer, anchor: str = "") -> str:
    """The quoted sentences, each verbatim with its [n]; or, when none reaches the bar, a plain statement naming
    the closest documents."""
    if answer.answered and answer.synthesis:
        return " ".join(f"{escape(q.sentence)} {link(q.citation_number, anchor)}" for q in answer.synthesis)
    if answer.answered:  # a listing of a period: nothing to quote
        return ""
    names = ", ".join(link(c.number, anchor) for c in answer.closest(CLOSEST))
    return f"**No summary in the archive answers this directly;** the closest documents are {names}."


def format_answer(answer: Answer, order: SortOrder = SortOrder.DATE, collection_size: int | None = None,
                  anchor: str = "") -> str:
    """The whole answer as Markdown built only from escaped text (and our own [n] links and anchors)."""
    results = answer.results
    if len(results) == 0:
        return no_match(results, answer.asked, collection_size)
    best = max(hit.score for hit in results)
    quoted = {q.doc_id: q.sentence for q in answer.synthesis}
    heading = "Cited documents, by date" if order is SortOrder.DATE else "Cited documents, most relevant first"
    blocks = [searched_line(results, answer.asked, collection_size)]
    if results.notes:
        blocks.append("  \n".join(f"*Note:* {escape(note)}" for note in results.notes))
    summary = synthesis_text(answer, anchor)
    if summary:
        blocks.append(summary)
    blocks.append(f"**{heading}**")
    blocks.extend(cited_entry(item, best, anchor, quoted.get(item.hit.doc.id))
                  for item in listed(list(answer.cited), order))
    return "\n\n".join(blocks)


# --- export -----------------------------------------------------------------------------------------

CSV_COLUMNS = ("number", "date", "date_text", "title", "collection", "url", "citation", "score", "matched")


def citations_text(results: Results) -> str:
    """Plain-text list of the citations, numbered in date order, one per line."""
    return "".join(f"{item.label} {item.hit.citation}\n" for item in number_by_date(results))


def citations_csv(results: Results) -> str:
    """The cited documents as CSV (header row first), numbered in date order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in number_by_date(results):
        doc = item.hit.doc
        writer.writerow([item.number, doc.date, doc.date_text, _cell(doc.title), _cell(doc.collection),
                         _cell(doc.url or ""), _cell(item.hit.citation), round(item.hit.score, 6),
                         "+".join(s.value for s in item.hit.matched)])
    return buffer.getvalue()


def _cell(text: str) -> str:
    """Stop a spreadsheet from reading corpus text as a formula (`=HYPERLINK(...)`)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
