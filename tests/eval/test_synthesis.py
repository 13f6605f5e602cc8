"""The synthesis evaluation: the off-topic questions are apart from the labelled ones, the metrics count what
they say on a hand-made row, and the answers stay above a floor on both splits."""

from __future__ import annotations

import pytest
from conftest import load_script

from rag.chat.answer import bars_for

synthesis = load_script("eval/synthesis.py")


def test_both_splits_hold_on_and_off_topic_questions_and_the_held_out_one_keeps_the_labelled_questions():
    tune, heldout = synthesis.load_split("tune"), synthesis.load_split("heldout")
    for split, least_off in ((tune, 10), (heldout, 10)):
        assert sum(not item["relevant"] for item in split) >= least_off
    labelled = [item for item in heldout if item["relevant"]]
    with (synthesis.HERE / "heldout.jsonl").open(encoding="utf-8") as fh:
        assert len(labelled) == sum(1 for line in fh if line.strip())


@pytest.mark.slow
def test_quotable_counts_only_questions_with_a_relevant_summarised_hit(retriever):
    """The summary-less record (1963-07-08) is the only relevant hit of this question: not quotable."""
    question = {"question": "The party-to-party talks in Moscow in July 1963",
                "relevant": ["d5b90d33bc82d9dd", "ed14ebb951cfbaac"]}
    rows = synthesis.searched(retriever, [question])
    _, reply, _ = rows[0]
    assert reply.results[0].doc.id == "ed14ebb951cfbaac" and not reply.results[0].doc.summary
    table = synthesis.measure(rows, bars_for(retriever.model)[0])
    assert table["on-topic"] == 1 and table["quotable"] == 0 and table["quotes relevant"] == 0.0


@pytest.mark.slow
@pytest.mark.parametrize(("split", "precision", "quotes_relevant"), [("tune", 0.9, 0.9), ("heldout", 0.8, 0.8)])
def test_synthesis_stays_above_its_floor(retriever, split, precision, quotes_relevant):
    """Regression floors a little under the measured figures (eval/README.md), not the issue's targets, which
    held-out misses."""
    table = synthesis.measure(synthesis.searched(retriever, synthesis.load_split(split)), bars_for(retriever.model)[0])
    assert table["off-topic not answered"] == 1.0, table
    assert table["precision"] >= precision and table["quotes relevant"] >= quotes_relevant, table
    assert table["on-topic answered"] >= 0.95 and table["quotable"] <= table["on-topic"], table
