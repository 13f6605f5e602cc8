"""Retrieval over the Wilson Center Digital Archive: `from rag import Retriever`.

Importing `rag` stays cheap (no torch, FAISS or bm25s): `Retriever` is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.search.retriever import Mode, Retriever, SortOrder

__all__ = ["Mode", "Retriever", "SortOrder"]


def __getattr__(name: str):
    if name in __all__:
        from rag.search import retriever

        return getattr(retriever, name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
