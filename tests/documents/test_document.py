"""The Document type: stable ids, content hashes, what gets embedded."""

from __future__ import annotations

import dataclasses

import pytest

from rag.documents.document import Document, document_id


def make(**changes) -> Document:
    fields = dict(date="1963-09-05", date_text="September 05, 1963", title="Zhou Enlai’s Discussion",
                  collection="Sino-Soviet Split, 1960-1984", summary="Zhou criticises the treaty.")
    fields.update(changes)
    return Document.create(**fields)


def test_id_is_derived_from_collection_date_and_title_only():
    assert make().id == make(summary="Corrected.", date_text="Sept. 5, 1963").id
    assert make().id != make(title="Another title").id
    assert make().id != make(date="1963-09-06").id
    assert make().id != make(collection="Other").id
    assert make().id == document_id("Sino-Soviet Split, 1960-1984", "1963-09-05", "zhou enlai’s  discussion")


def test_content_hash_changes_with_any_visible_field():
    assert make().content_hash == make().content_hash
    assert make().content_hash != make(summary="Corrected.").content_hash


def test_documents_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().title = "x"


def test_embedding_text_is_title_and_summary():
    assert make().embedding_text == "Zhou Enlai’s Discussion. Zhou criticises the treaty."
    assert make(summary=None).embedding_text == "Zhou Enlai’s Discussion"


def test_record_round_trip_keeps_source_only_when_asked():
    doc = make(source="corpus/p.txt", line=12)
    assert "source" not in doc.to_record()
    again = Document.from_record(doc.to_record(with_source=True))
    assert again == doc and again.origin == "corpus/p.txt:12"


def old_content_hash(doc: Document) -> str:
    """The formula stored indexes were built with (before the hash was cached and built without json.dumps)."""
    import hashlib
    import json

    payload = json.dumps([doc.date, doc.date_text, doc.title, doc.summary, doc.collection, doc.url],
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("changes", [
    {},
    {"summary": None},
    {"url": "https://digitalarchive.wilsoncenter.org/document/1"},
    {"title": 'He said "no" \\ twice\u2028and\x01left \u00e9\u0301 \U0001F600', "summary": "tab\there\x7f"},
    {"date_text": "", "collection": "\u4e2d\u82cf"},
])
def test_content_hash_is_the_stored_formula(changes):
    doc = make(**changes)
    assert doc.content_hash == old_content_hash(doc)
    assert doc.content_hash == doc.content_hash  # cached, same value


def test_content_hash_of_values_that_are_not_strings_still_uses_json():
    doc = Document(id="x", date="1963", date_text=1963, title="T", collection="C", summary=None, url=3.5)
    assert doc.content_hash == old_content_hash(doc)


def test_cached_content_hash_stays_out_of_records_equality_and_repr():
    import pickle

    doc = make(source="p.txt", line=3)
    fresh = make(source="p.txt", line=3)
    doc.content_hash  # noqa: B018 - fills the cache
    assert doc == fresh and hash(doc) == hash(fresh) and repr(doc) == repr(fresh)
    assert "_content_hash" not in doc.to_record() and "_content_hash" not in doc.to_record(with_source=True)
    assert Document.from_record(doc.to_record(with_source=True)) == doc
    again = pickle.loads(pickle.dumps(doc))
    assert again == doc and again.content_hash == old_content_hash(doc)


def test_replace_hashes_the_new_content():
    doc = make()
    doc.content_hash  # noqa: B018 - fills the cache
    edited = dataclasses.replace(doc, summary="Corrected.")
    assert edited.content_hash == old_content_hash(edited) != doc.content_hash


@pytest.mark.parametrize(("collection", "date", "title"), [
    ("Sino-Soviet Split, 1960-1984", "1963-09-05", "Zhou Enlai’s  Discussion"),
    ("C", "1963", "  Tab\tand\nnewline  "),
    ("Caf\u00e9", "1964-03", "Cafe\u0301 \u00a0 with a combining accent and a non-breaking space"),
    ("STRASSE", "1964", "Straße \u2028 ǅ"),
])
def test_document_id_is_the_stored_formula(collection, date, title):
    import hashlib
    import unicodedata

    key = "\x1f".join(" ".join(unicodedata.normalize("NFC", part).split()).casefold()
                      for part in (collection, date, title))
    assert document_id(collection, date, title) == hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
