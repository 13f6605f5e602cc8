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
