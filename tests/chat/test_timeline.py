"""The timeline SVG: a point per cited document labelled [n] with a tooltip, ticks that never repeat."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rag.chat.answer import Answer, number_by_date
from rag.chat.timeline import MAX_TICKS, NARROW_MAX_TICKS, NARROW_WIDTH, ticks, timeline_html, timeline_svg
from rag.documents.corpus import load_corpus
from rag.search.results import Hit, Results, Signal
from rag.settings import Settings


@pytest.fixture(scope="module")
def docs():
    return {d.date: d for d in load_corpus(Settings().corpus_dir).documents}


def answer_over(docs, dated_scores) -> Answer:
    hits = tuple(Hit(docs[date], score, rank, (Signal.SEMANTIC,), citation="c")
                 for rank, (date, score) in enumerate(dated_scores, start=1))
    results = Results(hits, question="q", query="q", total=len(hits))
    return Answer("q", results, tuple(number_by_date(results)), (), answered=False)


def test_every_cited_document_is_a_labelled_linked_point_with_a_tooltip(docs):
    answer = answer_over(docs, [("1964-03", 0.8), ("1963-04-03", 0.4), ("1963-09-05", 0.6)])
    svg = timeline_svg(answer, "answer2")
    assert svg.count("<circle") == 3
    for n in (1, 2, 3):
        assert f'href="#answer2-{n}"' in svg and f">[{n}]</text>" in svg
    first = docs["1963-04-03"]
    assert f"<title>[1] {first.date_text} — " in svg


def test_a_single_document_still_shows_its_point(docs):
    svg = timeline_svg(answer_over(docs, [("1963-09-05", 0.6)]))
    assert svg.count("<circle") == 1 and len(re.findall(r'class="tick-label"', svg)) >= 2


def test_hostile_titles_are_escaped(docs):
    answer = answer_over(docs, [("1963-09-05", 0.6)])
    hit = answer.cited[0].hit
    evil = type(hit.doc).create(date="1963-06-01", date_text="June 1963", title="<script>x</script>",
                                collection=hit.doc.collection, summary="S.")
    results = Results((Hit(evil, 1.0, 1, (), citation="c"),), question="q", query="q", total=1)
    svg = timeline_svg(Answer("q", results, tuple(number_by_date(results)), (), answered=False))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


@pytest.mark.parametrize(("first", "last"), [("1963-12-02", "1964-01-20"), ("1963-04-03", "1964-03-01"),
                                            ("1950-01-01", "1990-06-01"), ("1963-05-01", "1963-05-01")])
def test_ticks_are_month_starts_unique_and_few(first, last):
    found = ticks(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    labels = [label for _, label in found]
    assert len(labels) == len(set(labels)) and 2 <= len(labels) <= MAX_TICKS + 1
    assert all(day.day == 1 for day, _ in found)
    assert found[0][0] <= dt.date.fromisoformat(first) and found[-1][0] > dt.date.fromisoformat(last)


def test_the_phone_layout_has_the_same_points_on_a_narrower_canvas_with_fewer_ticks(docs):
    answer = answer_over(docs, [("1964-03", 0.8), ("1963-04-03", 0.4), ("1963-09-05", 0.6), ("1963-12-07", 0.5)])
    wide, narrow = timeline_svg(answer, "a"), timeline_svg(answer, "a", narrow=True)
    assert 'class="timeline narrow"' in narrow and f'viewBox="0 0 {NARROW_WIDTH} ' in narrow
    assert re.findall(r">\[\d+\]</text>", narrow) == re.findall(r">\[\d+\]</text>", wide)
    assert len(re.findall('class="tick-label"', narrow)) <= NARROW_MAX_TICKS + 1 < len(
        re.findall('class="tick-label"', wide))
    assert timeline_html(answer, "a").count("<svg") == 2  # CSS shows the one that fits


def test_no_answer_says_nothing_is_cited_yet():
    assert "No documents cited yet" in timeline_html(None)
