"""The public API of `rag`: every name it exports, and an import cheap enough for a command's start-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

import rag

HEAVY = ("numpy", "faiss", "bm25s", "torch", "sentence_transformers", "onnxruntime", "gradio", "dateparser")


def test_import_rag_loads_no_heavy_library():
    code = ("import sys, rag; rag.__all__; dir(rag); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == ""


def test_every_exported_name_is_its_module_object():
    from rag.documents.document import Document
    from rag.errors import QueryError, RagError, StaleIndex
    from rag.search.params import Mode, SortOrder
    from rag.search.results import Hit, Results
    from rag.search.retriever import Retriever
    from rag.settings import Settings

    assert (rag.Retriever, rag.Mode, rag.SortOrder, rag.Results, rag.Hit, rag.Document, rag.Settings) == (
        Retriever, Mode, SortOrder, Results, Hit, Document, Settings)
    assert (rag.RagError, rag.QueryError, rag.StaleIndex) == (RagError, QueryError, StaleIndex)
    assert all(getattr(rag, name) is not None for name in rag.__all__)
    assert set(rag.__all__) <= set(dir(rag))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'Retreiver'"):
        rag.Retreiver  # noqa: B018
