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
