"""Chat.reply and Chat.search with a recording retriever: the controls are checked once and passed on."""

from __future__ import annotations

import pytest

from rag.chat.render import escape
from rag.chat.session import Chat, Collection
from rag.search.params import Mode, SortOrder
from rag.search.results import Results
from rag.settings import Settings


class Recorder:
    """Answers every search with no hits and remembers the arguments."""

    def __init__(self):
        self.calls = []

    def search(self, question, **options):
        self.calls.append((question, options))
        return Results((), question, question)


def test_blank_dates_are_open_and_choices_are_normalised():
    recorder = Recorder()
    Chat(recorder, None, Settings()).search("Romania", 5, " ", "1964-03 ", sort="Date", mode=" KEYWORD")
    assert recorder.calls == [("Romania", {"k": 5, "date_from": None, "date_to": "1964-03", "sort": "date",
                                           "mode": "keyword", "collections": None})]


def test_reply_uses_the_settings_default_k_and_lists_by_date():
    recorder = Recorder()
    reply = Chat(recorder, None, Settings(chat_k=7)).reply("Romania", None)
    assert recorder.calls[0][1]["k"] == 7 and recorder.calls[0][1]["sort"] == SortOrder.DATE.value
    assert recorder.calls[0][1]["mode"] == Mode.HYBRID.value
    assert "No document matched" in reply.answer


@pytest.mark.parametrize(("options", "message"), [
    ({"order": "newest"}, "sort must be one of relevance, date; got 'newest'"),
    ({"mode": "fuzzy"}, "mode must be one of hybrid, semantic, keyword; got 'fuzzy'"),
    ({"date_from": "1964", "date_to": "1963"}, "the range starts (1964) after it ends (1963)"),
])
def test_bad_controls_are_one_message_and_search_nothing(options, message):
    recorder = Recorder()
    reply = Chat(recorder, None, Settings()).reply("Romania", None, **options)
    assert reply.answer.startswith("**Could not search:**") and escape(message) in reply.answer
    assert reply.results is None and recorder.calls == []


def test_reply_passes_the_collections_on_only_when_some_are_ticked():
    recorder = Recorder()
    Chat(recorder, None, Settings()).reply("Romania", None, collections=["Cuban Missile Crisis"])
    Chat(recorder, None, Settings()).reply("Romania", None, collections=[])
    assert recorder.calls[0][1]["collections"] == ["Cuban Missile Crisis"] and "collections" not in recorder.calls[1][1]


def test_the_header_shows_documents_of_no_named_collection_as_unknown_collection():
    collection = Collection(names=("Sino-Soviet Split, 1960-1984", ""), size=3, first="1963", last="1970",
                            spans=(("Sino-Soviet Split, 1960-1984", 2, "1963", "1964"), ("", 1, "1970", "1970")))
    assert "*unknown collection* (1 document, 1970 to 1970)" in collection.header()
