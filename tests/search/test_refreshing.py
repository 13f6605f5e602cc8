"""A served index folder follows a rebuild: `Refreshing` over a real index sees the version a rebuild swaps in."""

from __future__ import annotations

import json

from rag.index import store
from rag.index.build import rebuild
from rag.search.refreshing import Refreshing
from rag.search.retriever import Retriever
from rag.settings import Settings

RECORDS = [
    {"date": "1963-07-14", "title": "Open Letter of the CPSU Central Committee", "collection": "Sino-Soviet Split",
     "summary": "The Soviet party answers the Chinese letter on the general line of the movement."},
    {"date": "1964-03-02", "title": "Romanian Delegation in Beijing", "collection": "Sino-Soviet Split",
     "summary": "Romanian leaders try to mediate between the Chinese and Soviet parties."},
]
ADDED = {"date": "1969-03-02", "title": "Clash on Zhenbao Island", "collection": "Sino-Soviet Split",
         "summary": "Chinese and Soviet border guards fight on the frozen Ussuri river at Zhenbao island."}


def _write(folder, records):
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_a_served_folder_index_serves_the_next_rebuild_without_restart(tmp_path, encoder, monkeypatch):
    monkeypatch.setattr(store, "CHANGE_CHECK_SECONDS", 0.0)
    corpus, out = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    _write(corpus, RECORDS)
    settings = Settings(corpus_dir=corpus, index_dir=out)
    rebuild(settings, encoder=encoder, progress=False)
    served = Refreshing(Retriever(store.Index.load(out), encoder, settings))
    before = served.search("border clash on the Ussuri river", mode="keyword")
    assert "Clash on Zhenbao Island" not in [hit.doc.title for hit in before]
    first = served.current

    _write(corpus, [*RECORDS, ADDED])
    rebuild(settings, encoder=encoder, progress=False)
    after = served.search("border clash on the Ussuri river", mode="keyword")

    assert [hit.doc.title for hit in after][0] == "Clash on Zhenbao Island"
    assert served.current is not first and len(served.current.index) == 3
    assert served.sentence_scores(before) is not None  # the old results keep their own retriever's rows


def test_an_index_in_memory_or_unchanged_never_reports_a_change(built_index, monkeypatch):
    monkeypatch.setattr(store, "CHANGE_CHECK_SECONDS", 0.0)
    index = store.Index.load(built_index)
    assert not index.changed()
    in_memory = store.Index.build(index.documents[:2], index.vectors[:2])
    assert not in_memory.changed()
