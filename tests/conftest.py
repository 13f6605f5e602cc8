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
