"""Citations ready to paste into a footnote."""

from __future__ import annotations

from rag.documents.document import Document
from rag.search.citation import cite


def _doc(**changes) -> Document:
    fields = dict(date="1963-04-03", date_text="April 03, 1963", collection="Sino-Soviet Split, 1960-1984",
                  title="Memorandum of Conversation between Yuri Andropov and the Central Committee")
    fields.update(changes)
    return Document.create(**fields)


def test_title_in_quotes_printed_date_collection_and_archive():
    assert cite(_doc()) == ('"Memorandum of Conversation between Yuri Andropov and the Central Committee," '
                            "April 03, 1963, Sino-Soviet Split, 1960-1984, Wilson Center Digital Archive.")


def test_url_follows_when_known():
    url = "https://digitalarchive.wilsoncenter.org/document/116543"
    assert cite(_doc(url=url)).endswith(f"Wilson Center Digital Archive. {url}")


def test_double_quotes_inside_a_title_become_single():
    citation = cite(_doc(title='Cable, "On Anti-Revisionist Propaganda"'))
    assert citation.startswith('"Cable, \'On Anti-Revisionist Propaganda\'," ')


def test_a_title_ending_in_a_question_mark_keeps_it_without_a_comma():
    assert cite(_doc(title="Who Leads the Movement?")).startswith('"Who Leads the Movement?" April 03, 1963')


def test_month_only_dates_are_cited_as_printed():
    assert '," March, 1964, ' in cite(_doc(date="1964-03", date_text="March, 1964"))
