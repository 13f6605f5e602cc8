"""Retrieval over the Wilson Center Digital Archive: `from rag import Retriever`.

Importing `rag` stays cheap (no numpy, torch, FAISS or bm25s): each name is imported from its module on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.documents.document import Document
    from rag.errors import (
        CorpusError,
        DateError,
        IndexUnavailable,
        ModelError,
        QueryError,
        RagError,
        RebuildError,
        SettingsError,
        StaleIndex,
    )
    from rag.search.params import Mode, SortOrder
    from rag.search.results import Hit, Results
    from rag.search.retriever import Retriever
    from rag.settings import Settings

# Each public name and the module that defines it.
_HOMES = {
    "Retriever": "rag.search.retriever",
    "Mode": "rag.search.params",
    "SortOrder": "rag.search.params",
    "Results": "rag.search.results",
    "Hit": "rag.search.results",
    "Document": "rag.documents.document",
    "Settings": "rag.settings",
    **dict.fromkeys(["RagError", "QueryError", "DateError", "CorpusError", "IndexUnavailable", "StaleIndex",
                     "ModelError", "RebuildError", "SettingsError"], "rag.errors"),
}

__all__ = ["CorpusError", "DateError", "Document", "Hit", "IndexUnavailable", "Mode", "ModelError", "QueryError",
           "RagError", "RebuildError", "Results", "Retriever", "Settings", "SettingsError", "SortOrder",
           "StaleIndex"]


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
