"""The evaluation set: hybrid search beats keyword and semantic alone on the bundled corpus."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def _evaluate_module():
    spec = importlib.util.spec_from_file_location("evaluate", ROOT / "eval" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_set_is_big_enough_and_labelled_with_real_ids(bundled_corpus):
    questions = _evaluate_module().load_questions(ROOT / "eval" / "tune.jsonl")
    ids = {doc.id for doc in bundled_corpus.documents}
    assert len(questions) >= 40
    assert all(item["relevant"] and set(item["relevant"]) <= ids for item in questions)
    from rag.search.question import understand

    dated = [q for q in questions if understand(q["question"]).phrase]
    assert len(dated) >= len(questions) / 5


def test_hybrid_beats_both_signals_alone(retriever):
    module = _evaluate_module()
    table = module.evaluate(retriever, module.load_questions(ROOT / "eval" / "tune.jsonl"))
    for metric in ("recall@5", "mrr@10"):
        assert table["hybrid"][metric] > table["semantic"][metric], (metric, table)
        assert table["hybrid"][metric] > table["keyword"][metric], (metric, table)
