"""Shared fixtures: the bundled corpus and helpers to write small corpora."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED_PAGE = ROOT / "corpus" / "000_e07505288b6fd7bd.txt"


@pytest.fixture(scope="session")
def seed_page() -> Path:
    """The listing page saved from the archive, bundled in corpus/."""
    return SEED_PAGE


@pytest.fixture
def write_page(tmp_path):
    """Write text to a file in a fresh folder and return its path."""

    def write(text: str, name: str = "page.txt") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


# --------------------------------------------------------------- the real model and an index built in memory


@pytest.fixture(scope="session")
def bundled_corpus():
    """The 20 documents of the bundled page."""
    from rag.corpus import load_corpus

    return load_corpus(ROOT / "corpus")


@pytest.fixture(scope="session")
def encoder():
    """The real default embedding model, loaded once per test session."""
    from rag.encoder import Encoder
    from rag.settings import Settings

    return Encoder(Settings().model)


@pytest.fixture(scope="session")
def bundled_index(bundled_corpus, encoder):
    """The bundled corpus embedded by the real model into an in-memory FAISS index."""
    from rag.index import Index

    docs = bundled_corpus.documents
    vectors = encoder.encode([doc.embedding_text for doc in docs])
    manifest = {"model": encoder.name, "dimension": int(vectors.shape[1]),
                "content_hashes": {doc.id: doc.content_hash for doc in docs}}
    return Index(list(docs), vectors, manifest)


@pytest.fixture(scope="session")
def retriever(bundled_index, encoder):
    """One Retriever over the bundled index, shared like the chat UI shares it."""
    from rag.retriever import Retriever

    return Retriever(bundled_index, encoder)


def write_index_folder(index, path: Path) -> Path:
    """Write an in-memory index in the documented on-disk layout (manifest, documents, vectors, FAISS)."""
    import json

    import faiss
    import numpy as np

    from rag.index import DOCUMENTS, FAISS_INDEX, MANIFEST, VECTORS

    path.mkdir(parents=True, exist_ok=True)
    (path / MANIFEST).write_text(json.dumps(index.manifest), encoding="utf-8")
    with (path / DOCUMENTS).open("w", encoding="utf-8") as fh:
        for doc in index.documents:
            fh.write(json.dumps(doc.to_record(with_source=True), ensure_ascii=False) + "\n")
    np.save(path / VECTORS, index.vectors)
    faiss.write_index(index.faiss_index, str(path / FAISS_INDEX))
    return path


@pytest.fixture(scope="session")
def index_folder(bundled_index, tmp_path_factory) -> Path:
    """The bundled index written to disk, as `Retriever.load` reads it."""
    return write_index_folder(bundled_index, tmp_path_factory.mktemp("index"))
