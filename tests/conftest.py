"""Shared fixtures: the bundled corpus and helpers to write small corpora; the real model and an index
built once from the bundled corpus (both session-scoped: loading the model costs seconds)."""

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


@pytest.fixture(scope="session")
def encoder():
    """The real default model (bundled all-MiniLM-L6-v2), loaded once per test session."""
    from rag.encoder import Encoder

    return Encoder()


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, encoder) -> Path:
    """The path of an index built once from the bundled corpus with the real model; read-only for tests
    (copy it before changing anything). Load it with `rag.index.Index.load(built_index)`."""
    from embeddings.rebuild import rebuild
    from rag.settings import Settings

    out = tmp_path_factory.mktemp("built") / "index"
    rebuild(Settings(corpus_dir=ROOT / "corpus", index_dir=out), encoder=encoder, progress=False)
    return out
# --------------------------------------------------------------- the real model and an index built in memory


@pytest.fixture(scope="session")
def bundled_corpus():
    """The 20 documents of the bundled page."""
    from rag.corpus import load_corpus

    return load_corpus(ROOT / "corpus")


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


@pytest.fixture(scope="session")
def index_folder(built_index) -> Path:
    """The bundled index as the rebuild script writes it, as `Retriever.load` reads it."""
    return built_index
